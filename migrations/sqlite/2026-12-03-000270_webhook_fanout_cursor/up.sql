-- On SQLite a change that merchants hear about writes its event alone; the
-- sender turns events into deliveries afterwards, in batches
-- (src/webhooks/fanout.rs). A redemption's write transaction then dirties two
-- pages for its webhooks (the event row and its public_id index entry) instead of
-- six (plus the delivery row and its three queue indexes), and SQLite writes each
-- dirtied page to the WAL whole at every commit: measured, the outbox doubled a
-- redemption's write transaction (benches/webhooks.rs).
--
-- The cursor is the id of the last event fanned out. It is safe because SQLite
-- has one writer: an event's AUTOINCREMENT id is taken under the write lock, so
-- events commit in id order and none can appear later below the cursor.
-- PostgreSQL (whose ids commit out of order) keeps writing deliveries with the
-- event, in the same single statement, and has no cursor.
CREATE TABLE webhook_fanout (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id BIGINT NOT NULL
);
-- Events written before this migration already have their deliveries.
INSERT INTO webhook_fanout (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM webhook_events;
