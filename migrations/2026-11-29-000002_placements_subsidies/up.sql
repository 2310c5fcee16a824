-- Placements, their evidence, subsidy rules and events, webhooks.

ALTER TABLE training_records ADD COLUMN provider_org_id uuid REFERENCES organizations (id);

CREATE TABLE placements (
    id                   uuid PRIMARY KEY,
    worker_id            uuid NOT NULL REFERENCES workers (id),
    job_id               uuid REFERENCES jobs (id),
    employer_org_id      uuid NOT NULL REFERENCES organizations (id),
    broker_org_id        uuid REFERENCES organizations (id),
    registered_by_org_id uuid NOT NULL REFERENCES organizations (id),
    start_date           date NOT NULL,
    contract_months      integer NOT NULL CHECK (contract_months BETWEEN 1 AND 600),
    work_county_code     text NOT NULL REFERENCES divisions (code),
    organised_by         text NOT NULL CHECK (organised_by IN ('broker', 'coop_team', 'self')),
    -- 'needs_review' while reports about some month disagree (kept by the
    -- store in the same transaction as each report; resolved by an officer).
    review_state         text NOT NULL DEFAULT 'ok' CHECK (review_state IN ('ok', 'needs_review')),
    separated_on         date,
    separation_reason    text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (separated_on IS NULL OR separated_on >= start_date),
    CHECK (organised_by = 'self' OR broker_org_id IS NOT NULL)
);
CREATE INDEX placements_worker ON placements (worker_id);
CREATE INDEX placements_job ON placements (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX placements_start ON placements (start_date, id);
-- One open placement of a worker in a job.
CREATE UNIQUE INDEX placements_one_open_per_job ON placements (worker_id, job_id)
    WHERE job_id IS NOT NULL AND separated_on IS NULL;

-- Every report about one month of a placement, with its source.
CREATE TABLE placement_reports (
    id                 bigserial PRIMARY KEY,
    placement_id       uuid NOT NULL REFERENCES placements (id),
    month              date NOT NULL CHECK (extract(day FROM month) = 1),
    source             text NOT NULL CHECK (source IN ('employer_report', 'broker_report', 'worker_checkin', 'social_insurance_import', 'officer')),
    employed           boolean NOT NULL,
    social_insurance_paid boolean,
    wage               integer CHECK (wage BETWEEN 0 AND 1000000),
    note               text,
    recorded_by_org_id uuid REFERENCES organizations (id),
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX placement_reports_placement ON placement_reports (placement_id, month);
CREATE INDEX placement_reports_month ON placement_reports (month);

CREATE TABLE placement_separations (
    id                 bigserial PRIMARY KEY,
    placement_id       uuid NOT NULL REFERENCES placements (id),
    separated_on       date NOT NULL,
    reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    source             text NOT NULL CHECK (source IN ('employer_report', 'broker_report', 'worker_checkin', 'officer')),
    recorded_by_org_id uuid REFERENCES organizations (id),
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX placement_separations_placement ON placement_separations (placement_id);

-- Versioned subsidy rules (rules/policies.json plus admin additions).
CREATE TABLE policy_rules (
    id          text NOT NULL CHECK (id IN ('follow_up_service', 'cross_province_transport', 'employer_absorption', 'graduate_job_seeking', 'enterprise_training')),
    version     integer NOT NULL CHECK (version >= 1),
    valid_from  date NOT NULL,
    valid_to    date,
    county_code text REFERENCES divisions (code),
    body        jsonb NOT NULL,
    created_by_org_id uuid REFERENCES organizations (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- A subsidy event exists at most once per rule and subject: `subject_key` is
-- `person:<worker>`, `placement:<placement>` or `training:<record>` by the
-- rule's once-per scope.
CREATE TABLE subsidy_events (
    id            uuid PRIMARY KEY,
    rule_id       text NOT NULL,
    rule_version  integer NOT NULL,
    subject_key   text NOT NULL,
    payee_kind    text NOT NULL CHECK (payee_kind IN ('broker', 'worker', 'employer')),
    payee_id      uuid NOT NULL,
    amount        integer NOT NULL CHECK (amount BETWEEN 0 AND 100000),
    worker_id     uuid NOT NULL REFERENCES workers (id),
    placement_id  uuid REFERENCES placements (id),
    training_id   uuid REFERENCES training_records (id),
    county_code   text NOT NULL REFERENCES divisions (code),
    deciding_date date NOT NULL,
    as_of         date NOT NULL,
    status        text NOT NULL DEFAULT 'pending_review' CHECK (status IN ('pending_review', 'approved', 'rejected')),
    trace         jsonb NOT NULL,
    reviewed_by_org_id uuid REFERENCES organizations (id),
    reviewed_at   timestamptz,
    review_note   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, subject_key),
    FOREIGN KEY (rule_id, rule_version) REFERENCES policy_rules (id, version)
);
CREATE INDEX subsidy_events_payee ON subsidy_events (payee_id);
CREATE INDEX subsidy_events_county ON subsidy_events (county_code, id);

-- Claims that were due but refused by a once-per guard, with the reason.
CREATE TABLE subsidy_blocked_claims (
    id           bigserial PRIMARY KEY,
    rule_id      text NOT NULL,
    claim_key    text NOT NULL,
    reason_code  text NOT NULL,
    payee_kind   text NOT NULL,
    payee_id     uuid NOT NULL,
    worker_id    uuid NOT NULL REFERENCES workers (id),
    placement_id uuid REFERENCES placements (id),
    county_code  text NOT NULL,
    as_of        date NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, claim_key)
);

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    url         text NOT NULL CHECK (url ~ '^https?://'),
    secret_enc  bytea NOT NULL,
    created_by_org_id uuid REFERENCES organizations (id),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One delivery per webhook and event; claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id),
    event_id        uuid NOT NULL REFERENCES subsidy_events (id),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
