-- Offers (the matcher plans them, the bot sends them) and the worker's
-- opt-in to hear of jobs while employed.

ALTER TABLE workers ADD COLUMN seeking_while_employed boolean NOT NULL DEFAULT false;

CREATE TABLE offers (
    id                 uuid PRIMARY KEY,
    job_id             uuid NOT NULL REFERENCES jobs (id),
    worker_id          uuid NOT NULL REFERENCES workers (id),
    status             text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sent', 'accepted', 'declined', 'expired', 'cancelled')),
    score              real NOT NULL,
    -- Why this worker: the matcher's reasons at planning time.
    reasons            jsonb NOT NULL DEFAULT '[]',
    decline_reason     text CHECK (decline_reason IN ('low_wage', 'too_far', 'wrong_trade', 'other')),
    planned_by_org_id  uuid REFERENCES organizations (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    responded_at       timestamptz,
    expires_at         timestamptz NOT NULL,
    UNIQUE (job_id, worker_id)
);
CREATE INDEX offers_worker ON offers (worker_id, created_at);
CREATE INDEX offers_job ON offers (job_id, status);
