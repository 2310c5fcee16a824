// Written by hand to match migrations/ (no diesel CLI at build time).
// A test (`schema_matches_database`) checks every table and column against
// the migrated database.

diesel::table! {
    divisions (code) {
        code -> Text,
        name -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        province_code -> Text,
        is_workplace -> Bool,
    }
}

diesel::table! {
    occupations (code) {
        code -> Text,
        name -> Text,
        level -> Int2,
        parent_code -> Nullable<Text>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        kind -> Text,
        county_code -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        org_id -> Uuid,
        key_hash -> Bytea,
        prefix -> Text,
        issued_to -> Text,
        expires_on -> Nullable<Date>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    resettlement_sites (id) {
        id -> Uuid,
        county_code -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    households (id) {
        id -> Uuid,
        code -> Text,
        county_code -> Text,
        site_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workers (id) {
        id -> Uuid,
        id_number_enc -> Nullable<Bytea>,
        id_number_hash -> Nullable<Bytea>,
        id_number_masked -> Nullable<Text>,
        name -> Nullable<Text>,
        phone_enc -> Nullable<Bytea>,
        phone_hash -> Nullable<Bytea>,
        phone_masked -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        gender -> Nullable<Text>,
        household_id -> Uuid,
        site_id -> Nullable<Uuid>,
        county_code -> Text,
        categories -> Array<Text>,
        skills -> Array<Text>,
        education -> Nullable<Text>,
        graduation_year -> Nullable<Int4>,
        willing_cross_province -> Bool,
        accepts_offers -> Bool,
        min_wage -> Nullable<Int4>,
        preferred_county_codes -> Array<Text>,
        erased_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        seeking_while_employed -> Bool,
    }
}

diesel::table! {
    training_records (id) {
        id -> Uuid,
        worker_id -> Uuid,
        course -> Text,
        kind -> Text,
        occupation_code -> Nullable<Text>,
        skills -> Array<Text>,
        hours -> Int4,
        certificate -> Nullable<Text>,
        completed_on -> Date,
        provider -> Text,
        created_at -> Timestamptz,
        provider_org_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    employment_facts (id) {
        id -> Int8,
        worker_id -> Uuid,
        status -> Text,
        effective_on -> Date,
        source -> Text,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        org_id -> Uuid,
        title -> Text,
        description -> Text,
        occupation_code -> Nullable<Text>,
        skills -> Array<Text>,
        work_county_code -> Text,
        wage_min -> Int4,
        wage_max -> Int4,
        openings -> Int4,
        contract_months -> Nullable<Int4>,
        start_date -> Nullable<Date>,
        expires_on -> Nullable<Date>,
        requirements -> Jsonb,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        txid -> Int8,
        topic -> Text,
        aggregate_id -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_cursors (consumer) {
        consumer -> Text,
        last_txid -> Int8,
        last_id -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_org_id -> Nullable<Uuid>,
        actor_key_id -> Nullable<Uuid>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        detail -> Jsonb,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    placements (id) {
        id -> Uuid,
        worker_id -> Uuid,
        job_id -> Nullable<Uuid>,
        employer_org_id -> Uuid,
        broker_org_id -> Nullable<Uuid>,
        registered_by_org_id -> Uuid,
        start_date -> Date,
        contract_months -> Int4,
        work_county_code -> Text,
        organised_by -> Text,
        review_state -> Text,
        separated_on -> Nullable<Date>,
        separation_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    placement_reports (id) {
        id -> Int8,
        placement_id -> Uuid,
        month -> Date,
        source -> Text,
        employed -> Bool,
        social_insurance_paid -> Nullable<Bool>,
        wage -> Nullable<Int4>,
        note -> Nullable<Text>,
        recorded_by_org_id -> Nullable<Uuid>,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    placement_separations (id) {
        id -> Int8,
        placement_id -> Uuid,
        separated_on -> Date,
        reason -> Text,
        source -> Text,
        recorded_by_org_id -> Nullable<Uuid>,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    policy_rules (id, version) {
        id -> Text,
        version -> Int4,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        county_code -> Nullable<Text>,
        body -> Jsonb,
        created_by_org_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    subsidy_events (id) {
        id -> Uuid,
        rule_id -> Text,
        rule_version -> Int4,
        subject_key -> Text,
        payee_kind -> Text,
        payee_id -> Uuid,
        amount -> Int4,
        worker_id -> Uuid,
        placement_id -> Nullable<Uuid>,
        training_id -> Nullable<Uuid>,
        county_code -> Text,
        deciding_date -> Date,
        as_of -> Date,
        status -> Text,
        trace -> Jsonb,
        reviewed_by_org_id -> Nullable<Uuid>,
        reviewed_at -> Nullable<Timestamptz>,
        review_note -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    subsidy_blocked_claims (id) {
        id -> Int8,
        rule_id -> Text,
        claim_key -> Text,
        reason_code -> Text,
        payee_kind -> Text,
        payee_id -> Uuid,
        worker_id -> Uuid,
        placement_id -> Nullable<Uuid>,
        county_code -> Text,
        as_of -> Date,
        detail -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        secret_enc -> Bytea,
        created_by_org_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Uuid,
        event_id -> Uuid,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    offers (id) {
        id -> Uuid,
        job_id -> Uuid,
        worker_id -> Uuid,
        status -> Text,
        score -> Float4,
        reasons -> Jsonb,
        decline_reason -> Nullable<Text>,
        planned_by_org_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        responded_at -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    pairings (guangdong_code, guizhou_code) {
        guangdong_code -> Text,
        guizhou_code -> Text,
        level -> Text,
    }
}

diesel::table! {
    coop_teams (org_id) {
        org_id -> Uuid,
        guangdong_city_code -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    coop_team_extra_pairs (org_id, guizhou_code) {
        org_id -> Uuid,
        guizhou_code -> Text,
    }
}

diesel::table! {
    demand_lists (id) {
        id -> Uuid,
        team_org_id -> Uuid,
        year -> Int4,
        state -> Text,
        version -> Int4,
        submitted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    demand_items (list_id, ref_) {
        list_id -> Uuid,
        #[sql_name = "ref"]
        ref_ -> Text,
        kind -> Text,
        data -> Jsonb,
        job_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    demand_list_versions (list_id, version) {
        list_id -> Uuid,
        version -> Int4,
        state -> Text,
        action -> Text,
        items -> Jsonb,
        reason -> Nullable<Text>,
        changed_by_org_id -> Nullable<Uuid>,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    bot_chats (channel, chat_id) {
        channel -> Text,
        chat_id -> Text,
        worker_id -> Uuid,
        bound_by -> Text,
        bound_at -> Timestamptz,
        stopped_at -> Nullable<Timestamptz>,
        unreachable_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    bot_binding_codes (code_hash) {
        code_hash -> Bytea,
        worker_id -> Uuid,
        created_by_org_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    bot_queue (id) {
        id -> Int8,
        worker_id -> Uuid,
        kind -> Text,
        offer_id -> Nullable<Uuid>,
        placement_id -> Nullable<Uuid>,
        period -> Nullable<Date>,
        state -> Text,
        attempts -> Int4,
        not_before -> Timestamptz,
        maybe_sent -> Bool,
        channel -> Nullable<Text>,
        chat_id -> Nullable<Text>,
        message_id -> Nullable<Int8>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    monitoring_rounds (period, scope_code) {
        period -> Date,
        scope_code -> Text,
        opened_by_org_id -> Nullable<Uuid>,
        opened_at -> Timestamptz,
    }
}

diesel::table! {
    monitoring_responses (id) {
        id -> Int8,
        period -> Date,
        worker_id -> Uuid,
        employment_status -> Text,
        work_place -> Nullable<Text>,
        work_province_code -> Nullable<Text>,
        industry -> Nullable<Text>,
        monthly_income -> Nullable<Int4>,
        source -> Text,
        recorded_by_org_id -> Nullable<Uuid>,
        recorded_at -> Timestamptz,
        income_band -> Nullable<Text>,
    }
}

diesel::table! {
    monitoring_erased_totals (period, county_code) {
        period -> Date,
        county_code -> Text,
        site_id -> Nullable<Uuid>,
        status -> Nullable<Text>,
        is_labour -> Bool,
        is_employed -> Bool,
        r_status -> Nullable<Text>,
        work_place -> Nullable<Text>,
        work_province_code -> Nullable<Text>,
        industry -> Nullable<Text>,
        monthly_income -> Nullable<Int4>,
        p_county -> Nullable<Text>,
        p_wage -> Nullable<Int4>,
        p_employed -> Nullable<Bool>,
        prev_place -> Nullable<Text>,
        income_band -> Nullable<Text>,
        n -> Int4,
    }
}

diesel::table! {
    monitoring_erased_households (period, household_id) {
        period -> Date,
        household_id -> Uuid,
        county_code -> Text,
        site_id -> Nullable<Uuid>,
        is_labour -> Bool,
        is_employed -> Bool,
    }
}

diesel::joinable!(offers -> jobs (job_id));
diesel::joinable!(placement_reports -> placements (placement_id));
diesel::joinable!(placement_separations -> placements (placement_id));
diesel::joinable!(placements -> workers (worker_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(households -> resettlement_sites (site_id));
diesel::joinable!(workers -> households (household_id));
diesel::joinable!(training_records -> workers (worker_id));
diesel::joinable!(employment_facts -> workers (worker_id));
diesel::joinable!(jobs -> organizations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    divisions,
    occupations,
    organizations,
    api_keys,
    resettlement_sites,
    households,
    workers,
    training_records,
    employment_facts,
    jobs,
    outbox,
    outbox_cursors,
    audit_log,
    placements,
    placement_reports,
    placement_separations,
    policy_rules,
    subsidy_events,
    subsidy_blocked_claims,
    webhooks,
    webhook_deliveries,
    offers,
    pairings,
    coop_teams,
    coop_team_extra_pairs,
    demand_lists,
    demand_items,
    demand_list_versions,
    bot_chats,
    bot_binding_codes,
    bot_queue,
    monitoring_rounds,
    monitoring_responses,
    monitoring_erased_totals,
    monitoring_erased_households,
);

/// Every table and its columns, in declaration order, for the schema test.
pub const TABLES: &[(&str, &[&str])] = &[
    ("divisions", &["code", "name", "level", "parent_code", "province_code", "is_workplace"]),
    ("occupations", &["code", "name", "level", "parent_code"]),
    ("organizations", &["id", "name", "kind", "county_code", "created_at"]),
    ("api_keys", &["id", "org_id", "key_hash", "prefix", "issued_to", "expires_on", "created_at", "revoked_at"]),
    ("resettlement_sites", &["id", "county_code", "name", "created_at"]),
    ("households", &["id", "code", "county_code", "site_id", "created_at"]),
    (
        "workers",
        &[
            "id",
            "id_number_enc",
            "id_number_hash",
            "id_number_masked",
            "name",
            "phone_enc",
            "phone_hash",
            "phone_masked",
            "birth_date",
            "gender",
            "household_id",
            "site_id",
            "county_code",
            "categories",
            "skills",
            "education",
            "graduation_year",
            "willing_cross_province",
            "accepts_offers",
            "min_wage",
            "preferred_county_codes",
            "erased_at",
            "created_at",
            "updated_at",
            "seeking_while_employed",
        ],
    ),
    (
        "training_records",
        &[
            "id",
            "worker_id",
            "course",
            "kind",
            "occupation_code",
            "skills",
            "hours",
            "certificate",
            "completed_on",
            "provider",
            "created_at",
            "provider_org_id",
        ],
    ),
    ("employment_facts", &["id", "worker_id", "status", "effective_on", "source", "recorded_at"]),
    (
        "jobs",
        &[
            "id",
            "org_id",
            "title",
            "description",
            "occupation_code",
            "skills",
            "work_county_code",
            "wage_min",
            "wage_max",
            "openings",
            "contract_months",
            "start_date",
            "expires_on",
            "requirements",
            "status",
            "created_at",
            "updated_at",
            "closed_at",
        ],
    ),
    ("outbox", &["id", "txid", "topic", "aggregate_id", "payload", "created_at"]),
    ("outbox_cursors", &["consumer", "last_txid", "last_id", "updated_at"]),
    (
        "audit_log",
        &["id", "at", "actor_org_id", "actor_key_id", "action", "entity", "entity_id", "detail", "request_id"],
    ),
    (
        "offers",
        &[
            "id",
            "job_id",
            "worker_id",
            "status",
            "score",
            "reasons",
            "decline_reason",
            "planned_by_org_id",
            "created_at",
            "sent_at",
            "responded_at",
            "expires_at",
        ],
    ),
    ("pairings", &["guangdong_code", "guizhou_code", "level"]),
    ("coop_teams", &["org_id", "guangdong_city_code", "updated_at"]),
    ("coop_team_extra_pairs", &["org_id", "guizhou_code"]),
    ("demand_lists", &["id", "team_org_id", "year", "state", "version", "submitted_at", "created_at", "updated_at"]),
    ("demand_items", &["list_id", "ref", "kind", "data", "job_id"]),
    (
        "demand_list_versions",
        &["list_id", "version", "state", "action", "items", "reason", "changed_by_org_id", "changed_at"],
    ),
    ("bot_chats", &["channel", "chat_id", "worker_id", "bound_by", "bound_at", "stopped_at", "unreachable_at"]),
    ("bot_binding_codes", &["code_hash", "worker_id", "created_by_org_id", "created_at", "expires_at", "used_at"]),
    (
        "bot_queue",
        &[
            "id",
            "worker_id",
            "kind",
            "offer_id",
            "placement_id",
            "period",
            "state",
            "attempts",
            "not_before",
            "maybe_sent",
            "channel",
            "chat_id",
            "message_id",
            "last_error",
            "created_at",
            "sent_at",
        ],
    ),
    ("monitoring_rounds", &["period", "scope_code", "opened_by_org_id", "opened_at"]),
    (
        "monitoring_responses",
        &[
            "id",
            "period",
            "worker_id",
            "employment_status",
            "work_place",
            "work_province_code",
            "industry",
            "monthly_income",
            "source",
            "recorded_by_org_id",
            "recorded_at",
            "income_band",
        ],
    ),
    (
        "monitoring_erased_totals",
        &[
            "period",
            "county_code",
            "site_id",
            "status",
            "is_labour",
            "is_employed",
            "r_status",
            "work_place",
            "work_province_code",
            "industry",
            "monthly_income",
            "p_county",
            "p_wage",
            "p_employed",
            "prev_place",
            "income_band",
            "n",
        ],
    ),
    ("monitoring_erased_households", &["period", "household_id", "county_code", "site_id", "is_labour", "is_employed"]),
];
