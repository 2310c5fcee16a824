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

-- Nothing about a worker is written once they are erased, not even by a
-- transaction that read them before the erasure committed: the check takes
-- the row lock the foreign key takes (KEY SHARE), which waits for the
-- erasure's FOR UPDATE, and then reads the erased row.
CREATE FUNCTION refuse_erased_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM workers WHERE id = NEW.worker_id AND erased_at IS NULL FOR KEY SHARE;
    IF NOT FOUND AND EXISTS (SELECT 1 FROM workers WHERE id = NEW.worker_id) THEN
        RAISE EXCEPTION 'the worker was erased' USING ERRCODE = 'check_violation', CONSTRAINT = 'worker_erased';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bot_chats_not_erased BEFORE INSERT ON bot_chats
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER bot_binding_codes_not_erased BEFORE INSERT ON bot_binding_codes
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER bot_queue_not_erased BEFORE INSERT ON bot_queue
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER offers_not_erased BEFORE INSERT ON offers
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER monitoring_responses_not_erased BEFORE INSERT ON monitoring_responses
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER employment_facts_not_erased BEFORE INSERT ON employment_facts
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER training_records_not_erased BEFORE INSERT ON training_records
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
CREATE TRIGGER placements_not_erased BEFORE INSERT ON placements
    FOR EACH ROW EXECUTE FUNCTION refuse_erased_worker();
