-- Merchants' webhooks: the endpoints, the outbox of events (written in the same
-- transaction as the order's move), one delivery per event and endpoint with its
-- retry schedule and the lease an instance holds while sending it, and the log of
-- every attempt.
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    url TEXT NOT NULL,
    -- the signing secret: the sender needs it in clear to sign
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- deleted endpoints keep their delivery log
    deleted_at TIMESTAMP
);
CREATE INDEX webhooks_merchant ON webhooks (merchant_id, id);

CREATE TABLE webhook_events (
    id BIGSERIAL PRIMARY KEY,
    -- Wenlv-Event-Id and the body's id
    public_id TEXT NOT NULL UNIQUE,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    event_type TEXT NOT NULL CHECK (event_type IN ('order.paid', 'order.redeemed', 'order.refunded', 'order.cancelled', 'order.reversed', 'statement.closed')),
    -- the exact bytes POSTed (and signed)
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES webhook_events(id),
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'abandoned')),
    attempts BIGINT NOT NULL CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    -- set by the instance sending it; another may take it over once it passes
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, id);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, status);

CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id),
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id),
    event_id BIGINT NOT NULL REFERENCES webhook_events(id),
    attempted_at TIMESTAMP NOT NULL,
    -- null when no answer came (timeout, refused connection)
    status_code INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, id);
