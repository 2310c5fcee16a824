-- The workers' bot (#6): chats bound to workers, one-time binding codes, and
-- the durable queue of outgoing messages (offers, check-ins) that the
-- dispatcher drains under Telegram's rate limits.

-- A chat of a channel (telegram first) bound to one worker. The chat id is
-- the channel's own address for the chat (Telegram: the numeric chat id, as text).
CREATE TABLE bot_chats (
    channel         text NOT NULL CHECK (channel IN ('telegram', 'wechat', 'sms')),
    chat_id         text NOT NULL,
    worker_id       uuid NOT NULL REFERENCES workers (id),
    bound_by        text NOT NULL CHECK (bound_by IN ('contact', 'code')),
    bound_at        timestamptz NOT NULL DEFAULT now(),
    -- /stop: no pushes until /start again.
    stopped_at      timestamptz,
    -- The channel refused delivery (Telegram 403: the worker blocked the bot).
    unreachable_at  timestamptz,
    PRIMARY KEY (channel, chat_id),
    UNIQUE (channel, worker_id)
);

-- One-time codes an officer gives a worker: `/start <code>` binds. Only a
-- keyed hash of the code is stored.
CREATE TABLE bot_binding_codes (
    code_hash          bytea PRIMARY KEY,
    worker_id          uuid NOT NULL REFERENCES workers (id),
    created_by_org_id  uuid REFERENCES organizations (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    used_at            timestamptz
);
CREATE INDEX bot_binding_codes_worker ON bot_binding_codes (worker_id);

-- Outgoing pushes, written in the same transaction as what caused them
-- (an offer queued; the monthly check-in round). State machine:
-- pending -> sending -> sent | pending (retry) | skipped | failed.
CREATE TABLE bot_queue (
    id            bigserial PRIMARY KEY,
    worker_id     uuid NOT NULL REFERENCES workers (id),
    kind          text NOT NULL CHECK (kind IN ('offer', 'checkin')),
    offer_id      uuid REFERENCES offers (id),
    placement_id  uuid REFERENCES placements (id),
    -- For check-ins: the month asked about (its first day).
    period        date,
    state         text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'skipped', 'failed')),
    attempts      int NOT NULL DEFAULT 0,
    not_before    timestamptz NOT NULL DEFAULT now(),
    -- Set when a row in `sending` was found after a crash: it may have been
    -- delivered already, and is sent again (the possible duplicate).
    maybe_sent    boolean NOT NULL DEFAULT false,
    channel       text,
    chat_id       text,
    -- The channel's id of the delivered message (Telegram message_id).
    message_id    bigint,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    CHECK ((kind = 'offer') = (offer_id IS NOT NULL)),
    CHECK ((kind = 'checkin') = (placement_id IS NOT NULL AND period IS NOT NULL)),
    UNIQUE (offer_id),
    UNIQUE (placement_id, period)
);
CREATE INDEX bot_queue_open ON bot_queue (id) WHERE state IN ('pending', 'sending');
CREATE INDEX bot_queue_worker ON bot_queue (worker_id) WHERE state = 'pending';
