-- Privacy (PIPL): what stays of an erased worker's monitoring answers, and
-- finding the views of a worker in the audit log.

-- An erased worker's part in the monitoring reports, without the worker: one
-- row per period and combination of what the report counts (its county, site,
-- status, labour and employed flags, the round's answer, the month's counting
-- placement report, last round's place), with how many erased workers had it.
-- Written by the erasure, for every period a round covering the worker's
-- county was opened for (and the one before it), so that a published month's
-- figures do not change when someone is erased. No worker id, no household.
CREATE TABLE monitoring_erased_totals (
    period             date NOT NULL CHECK (extract(day FROM period) = 1),
    county_code        text NOT NULL REFERENCES divisions (code),
    site_id            uuid REFERENCES resettlement_sites (id),
    status             text,
    is_labour          boolean NOT NULL,
    is_employed        boolean NOT NULL,
    r_status           text,
    work_place         text,
    work_province_code text,
    industry           text,
    monthly_income     integer,
    p_county           text,
    p_wage             integer,
    p_employed         boolean,
    prev_place         text,
    income_band        text,
    n                  integer NOT NULL CHECK (n > 0),
    CONSTRAINT monitoring_erased_totals_key UNIQUE NULLS NOT DISTINCT (period, county_code, site_id, status,
        is_labour, is_employed, r_status, work_place, work_province_code, industry, monthly_income, p_county,
        p_wage, p_employed, prev_place, income_band)
);

-- A household that had an erased member in labour or employed in a period
-- (the household figures: with labour, with employed, zero-employment). The
-- household stays; nothing says which member, nor what they earned.
CREATE TABLE monitoring_erased_households (
    period       date NOT NULL CHECK (extract(day FROM period) = 1),
    household_id uuid NOT NULL REFERENCES households (id),
    county_code  text NOT NULL REFERENCES divisions (code),
    site_id      uuid REFERENCES resettlement_sites (id),
    is_labour    boolean NOT NULL,
    is_employed  boolean NOT NULL,
    PRIMARY KEY (period, household_id)
);

-- Views of personal data (`worker.view`) name the workers seen in
-- detail.worker_ids; the audit route filters on it.
CREATE INDEX audit_log_worker_ids ON audit_log USING gin ((detail -> 'worker_ids'));
CREATE INDEX audit_log_action ON audit_log (action, id);
