-- Nothing looks an event up by public_id (its 96 random bits are the receivers'
-- deduplication key, not ours), so its unique index is upkeep on every event
-- without a reader. SQLite's twin of this migration also drops AUTOINCREMENT;
-- BIGSERIAL has no such cost.
ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_public_id_key;
