-- The event log (a transactional outbox: events are written with the change that caused them), webhook
-- subscriptions, one delivery per (event, subscription) and every attempt of it.
CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    type          TEXT NOT NULL,
    link_id       TEXT,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE INDEX events_workspace_id ON events (workspace_id, id);
CREATE INDEX events_workspace_type_id ON events (workspace_id, type, id);
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE webhooks (
    id                          TEXT PRIMARY KEY,
    workspace_id                TEXT NOT NULL REFERENCES workspaces (id),
    url                         TEXT NOT NULL,
    events                      TEXT NOT NULL,
    description                 TEXT,
    filter_tags                 TEXT,
    filter_link_ids             TEXT,
    include_bots                BOOLEAN NOT NULL DEFAULT 0,
    enabled                     BOOLEAN NOT NULL DEFAULT 1,
    disabled_reason             TEXT,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  INTEGER,
    failing_since               INTEGER,
    last_success_at             INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);

CREATE INDEX webhooks_workspace_id ON webhooks (workspace_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    workspace_id     TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    claimed_until    INTEGER,
    last_attempt_at  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook_id ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_created_at ON webhook_deliveries (created_at);

CREATE TABLE webhook_attempts (
    id                TEXT PRIMARY KEY,
    delivery_id       TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id        TEXT NOT NULL,
    attempted_at      INTEGER NOT NULL,
    status_code       INTEGER,
    latency_ms        INTEGER NOT NULL,
    response_excerpt  TEXT,
    error             TEXT
);

CREATE INDEX webhook_attempts_delivery_id ON webhook_attempts (delivery_id, id);

-- Set when link.expired has been emitted for the link's current expiry; cleared when the link changes.
ALTER TABLE links ADD COLUMN expired_event_at INTEGER;
