CREATE OR REPLACE FUNCTION worker_state(as_of date)
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

DROP FUNCTION employed_status(text);
