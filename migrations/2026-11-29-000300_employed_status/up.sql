-- One truth, written once (#17): "employed" is one SQL function, read by
-- worker_state() and the monitoring report. domain::worker::EmploymentStatus::
-- is_employed and domain::worker::is_labour say the same in Rust; a test
-- (tests/tests/one_truth.rs) holds them equal.
CREATE FUNCTION employed_status(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status IN ('employed', 'self_employed', 'public_welfare_post')
$$;

CREATE OR REPLACE FUNCTION worker_state(as_of date)
RETURNS TABLE (worker_id uuid, household_id uuid, county_code text, status text,
               status_on date, is_labour boolean, is_employed boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w.id, w.household_id, w.county_code, f.status, f.effective_on,
           w.erased_at IS NULL
             AND f.status IS NOT NULL AND f.status NOT IN ('unable_to_work', 'student')
             AND w.birth_date <= (as_of - interval '16 years')::date
             AND w.birth_date > (as_of - interval '61 years')::date,
           COALESCE(employed_status(f.status), false)
    FROM workers w
    LEFT JOIN LATERAL (
        SELECT ef.status, ef.effective_on
        FROM employment_facts ef
        WHERE ef.worker_id = w.id AND ef.effective_on <= as_of
        ORDER BY ef.effective_on DESC, ef.recorded_at DESC, ef.id DESC
        LIMIT 1
    ) f ON true
$$;
