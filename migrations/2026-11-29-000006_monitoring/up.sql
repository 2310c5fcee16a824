-- Monthly monitoring rounds (月调度) and the answers they collect.

CREATE TABLE monitoring_rounds (
    period           date NOT NULL CHECK (extract(day FROM period) = 1),
    -- 520000 for a province-wide round, else one county.
    scope_code       text NOT NULL REFERENCES divisions (code),
    opened_by_org_id uuid REFERENCES organizations (id),
    opened_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, scope_code)
);

-- Every answer; the latest per worker and period wins, the history stays.
CREATE TABLE monitoring_responses (
    id                 bigserial PRIMARY KEY,
    period             date NOT NULL CHECK (extract(day FROM period) = 1),
    worker_id          uuid NOT NULL REFERENCES workers (id),
    employment_status  text NOT NULL CHECK (employment_status IN ('employed', 'unemployed', 'public_welfare_post', 'self_employed', 'student', 'unable_to_work')),
    work_place         text CHECK (work_place IN ('in_county', 'in_province', 'out_of_province')),
    work_province_code text REFERENCES divisions (code),
    industry           text CHECK (length(industry) <= 50),
    monthly_income     integer CHECK (monthly_income BETWEEN 0 AND 1000000),
    source             text NOT NULL CHECK (source IN ('officer', 'bot', 'import')),
    recorded_by_org_id uuid REFERENCES organizations (id),
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitoring_responses_period ON monitoring_responses (period, worker_id, id DESC);
