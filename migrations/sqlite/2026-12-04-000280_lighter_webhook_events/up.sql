-- An event row costs a redemption's write transaction two pages fewer: no unique
-- index on public_id (a random leaf page per event) and no AUTOINCREMENT (its
-- counter row in sqlite_sequence, written by every insert). SQLite writes each page
-- a transaction dirties to the WAL whole; measured in benches/webhooks.rs
-- --sender off, the event had cost the redemptions 17-25% of their rate, and 2-10%
-- without these two.
--
-- Nothing looks an event up by public_id (its 96 random bits are the receivers'
-- deduplication key, not ours). The ids still increase in commit order, which the
-- fan-out cursor (migration 000270) needs: a new row's id is one more than the
-- largest, taken under the write lock, and events are never deleted (a retention
-- job that deleted them would have to keep the newest).
--
-- SQLite cannot drop a column constraint in place: the table is rebuilt (copy,
-- drop, rename) with foreign key enforcement off, in one transaction of its own
-- (metadata.toml). The keys of webhook_deliveries and webhook_attempts name
-- webhook_events and hold again once the copy is renamed; the guard before COMMIT
-- fails the migration, and rolls it back, should any not. Should the process stop
-- after the COMMIT but before diesel records the migration, the next run rebuilds
-- the new table the same way.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE webhook_events_rebuilt (
    id INTEGER PRIMARY KEY,
    -- Wenlv-Event-Id and the body's id
    public_id TEXT NOT NULL,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    event_type TEXT NOT NULL CHECK (event_type IN ('order.paid', 'order.redeemed', 'order.refunded', 'order.cancelled', 'order.reversed', 'statement.closed')),
    -- the exact bytes POSTed (and signed)
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO webhook_events_rebuilt (id, public_id, merchant_id, event_type, body, created_at)
    SELECT id, public_id, merchant_id, event_type, body, created_at FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_rebuilt RENAME TO webhook_events;
DELETE FROM sqlite_sequence WHERE name = 'webhook_events';
CREATE TEMP TABLE foreign_keys_hold (held INTEGER NOT NULL CHECK (held = 1));
INSERT INTO foreign_keys_hold SELECT 0 FROM pragma_foreign_key_check LIMIT 1;
DROP TABLE foreign_keys_hold;
COMMIT;
PRAGMA foreign_keys = ON;
