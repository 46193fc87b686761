PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE webhook_events_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id TEXT NOT NULL UNIQUE,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    event_type TEXT NOT NULL CHECK (event_type IN ('order.paid', 'order.redeemed', 'order.refunded', 'order.cancelled', 'order.reversed', 'statement.closed')),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO webhook_events_rebuilt (id, public_id, merchant_id, event_type, body, created_at)
    SELECT id, public_id, merchant_id, event_type, body, created_at FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_rebuilt RENAME TO webhook_events;
COMMIT;
PRAGMA foreign_keys = ON;
