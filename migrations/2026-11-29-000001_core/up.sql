-- Core schema: reference data, organisations and keys, the worker ledger,
-- jobs, the employment-fact log, the transactional outbox and the audit log.

-- Reference: every province, prefecture and county of the mainland.
CREATE TABLE divisions (
    code          text PRIMARY KEY CHECK (code ~ '^[1-9][0-9]{5}$'),
    name          text NOT NULL CHECK (name <> ''),
    level         text NOT NULL CHECK (level IN ('province', 'prefecture', 'county')),
    parent_code   text REFERENCES divisions (code),
    province_code text NOT NULL REFERENCES divisions (code) DEFERRABLE INITIALLY DEFERRED,
    -- a county, or a prefecture-level city with no counties (东莞 441900, 中山 442000)
    is_workplace  boolean NOT NULL,
    CHECK ((level = 'province') = (parent_code IS NULL)),
    CHECK (level <> 'province' OR is_workplace = false),
    CHECK (substr(code, 1, 2) = substr(province_code, 1, 2))
);
CREATE INDEX divisions_parent ON divisions (parent_code);

-- Reference: the 2022 occupation classification (职业分类大典).
CREATE TABLE occupations (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9](-[0-9]{2}){0,3}$'),
    name        text NOT NULL CHECK (name <> ''),
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    parent_code text REFERENCES occupations (code),
    CHECK ((level = 1) = (parent_code IS NULL))
);
CREATE INDEX occupations_parent ON occupations (parent_code);

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('admin', 'county_office', 'employer', 'industrial_park', 'broker', 'coop_team')),
    county_code text REFERENCES divisions (code),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'county_office') = (county_code IS NOT NULL))
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    -- SHA-256 of the key; the key itself is shown once and never stored.
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    prefix      text NOT NULL,
    issued_to   text NOT NULL CHECK (length(issued_to) BETWEEN 1 AND 200),
    expires_on  date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE resettlement_sites (
    id          uuid PRIMARY KEY,
    county_code text NOT NULL REFERENCES divisions (code),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (county_code, name)
);

CREATE TABLE households (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 64),
    county_code text NOT NULL REFERENCES divisions (code),
    site_id     uuid REFERENCES resettlement_sites (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_county ON households (county_code);

CREATE TABLE workers (
    id                    uuid PRIMARY KEY,
    -- ID number: AEAD ciphertext (nonce || ciphertext), found by keyed hash.
    -- All personal columns are NULL once the record is erased.
    id_number_enc         bytea,
    id_number_hash        bytea UNIQUE CHECK (length(id_number_hash) = 32),
    id_number_masked      text,
    name                  text,
    phone_enc             bytea,
    phone_hash            bytea CHECK (length(phone_hash) = 32),
    phone_masked          text,
    birth_date            date,
    gender                text CHECK (gender IN ('male', 'female')),
    household_id          uuid NOT NULL REFERENCES households (id),
    site_id               uuid REFERENCES resettlement_sites (id),
    county_code           text NOT NULL REFERENCES divisions (code),
    categories            text[] NOT NULL DEFAULT '{}'
        CHECK (categories <@ ARRAY['relocated', 'returning', 'graduate', 'hardship', 'poverty_alleviated', 'monitored']::text[]),
    skills                text[] NOT NULL DEFAULT '{}',
    education             text,
    graduation_year       integer CHECK (graduation_year BETWEEN 1950 AND 2100),
    willing_cross_province boolean NOT NULL DEFAULT false,
    accepts_offers        boolean NOT NULL DEFAULT true,
    min_wage              integer CHECK (min_wage >= 0),
    preferred_county_codes text[] NOT NULL DEFAULT '{}',
    erased_at             timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (erased_at IS NOT NULL OR (id_number_enc IS NOT NULL AND id_number_hash IS NOT NULL
        AND name IS NOT NULL AND birth_date IS NOT NULL AND phone_hash IS NOT NULL))
);
CREATE INDEX workers_county ON workers (county_code, id);
CREATE INDEX workers_household ON workers (household_id);
CREATE INDEX workers_phone_hash ON workers (phone_hash);

CREATE TABLE training_records (
    id             uuid PRIMARY KEY,
    worker_id      uuid NOT NULL REFERENCES workers (id),
    course         text NOT NULL CHECK (length(course) BETWEEN 1 AND 200),
    kind           text NOT NULL CHECK (kind IN ('order', 'position', 'on_the_job', 'apprenticeship', 'entrepreneurship', 'other')),
    occupation_code text REFERENCES occupations (code),
    skills         text[] NOT NULL DEFAULT '{}',
    hours          integer NOT NULL CHECK (hours BETWEEN 1 AND 10000),
    certificate    text,
    completed_on   date NOT NULL,
    provider       text NOT NULL CHECK (length(provider) BETWEEN 1 AND 200),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX training_records_worker ON training_records (worker_id);

-- Every dated fact about a worker's employment status, from any source.
-- The current status is the most recent of them (function worker_state).
CREATE TABLE employment_facts (
    id           bigserial PRIMARY KEY,
    worker_id    uuid NOT NULL REFERENCES workers (id),
    status       text NOT NULL CHECK (status IN ('employed', 'unemployed', 'public_welfare_post', 'self_employed', 'student', 'unable_to_work')),
    effective_on date NOT NULL,
    source       text NOT NULL CHECK (source IN ('officer', 'employer_report', 'broker_report', 'worker_checkin', 'social_insurance_import', 'monitoring')),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX employment_facts_worker ON employment_facts (worker_id, effective_on DESC, recorded_at DESC, id DESC);

-- One truth, written once (DESIGN.md): a worker's current status, whether they
-- count as labour (aged 16-60 on `as_of`, status not unable_to_work/student) and
-- whether they are employed. Every report, filter and count reads this function.
CREATE FUNCTION worker_state(as_of date)
RETURNS TABLE (worker_id uuid, household_id uuid, county_code text, status text,
               status_on date, is_labour boolean, is_employed boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w.id, w.household_id, w.county_code, f.status, f.effective_on,
           w.erased_at IS NULL
             AND f.status IS NOT NULL AND f.status NOT IN ('unable_to_work', 'student')
             AND w.birth_date <= (as_of - interval '16 years')::date
             AND w.birth_date > (as_of - interval '61 years')::date,
           COALESCE(f.status IN ('employed', 'self_employed', 'public_welfare_post'), false)
    FROM workers w
    LEFT JOIN LATERAL (
        SELECT ef.status, ef.effective_on
        FROM employment_facts ef
        WHERE ef.worker_id = w.id AND ef.effective_on <= as_of
        ORDER BY ef.effective_on DESC, ef.recorded_at DESC, ef.id DESC
        LIMIT 1
    ) f ON true
$$;

CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description      text NOT NULL CHECK (length(description) <= 20000),
    occupation_code  text REFERENCES occupations (code),
    skills           text[] NOT NULL DEFAULT '{}',
    work_county_code text NOT NULL REFERENCES divisions (code),
    wage_min         integer NOT NULL CHECK (wage_min >= 0),
    wage_max         integer NOT NULL,
    openings         integer NOT NULL CHECK (openings BETWEEN 1 AND 100000),
    contract_months  integer CHECK (contract_months BETWEEN 1 AND 600),
    start_date       date,
    expires_on       date,
    requirements     jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    CHECK (wage_max >= wage_min),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX jobs_org ON jobs (org_id, id DESC);
CREATE INDEX jobs_status ON jobs (status, id DESC);

-- The transactional outbox. `txid` is the writing transaction's id; a consumer
-- reads only rows whose transaction ended before every transaction still
-- running began (txid < pg_snapshot_xmin), in (txid, id) order, so a row that
-- commits late can never be skipped. Each consumer keeps its own cursor.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    txid         bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    topic        text NOT NULL CHECK (topic ~ '^[a-z_]+\.[a-z_]+$'),
    aggregate_id text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_order ON outbox (txid, id);

CREATE TABLE outbox_cursors (
    consumer   text PRIMARY KEY,
    last_txid  bigint NOT NULL DEFAULT 0,
    last_id    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_org_id uuid REFERENCES organizations (id),
    actor_key_id uuid REFERENCES api_keys (id),
    action       text NOT NULL,
    entity       text NOT NULL,
    entity_id    text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}',
    request_id   text
);
CREATE INDEX audit_entity ON audit_log (entity, entity_id, id);
