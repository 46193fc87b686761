-- Nothing to do on SQLite. The PostgreSQL migration of this name drops the
-- foreign keys from the outbox (webhook_events.merchant_id,
-- webhook_deliveries.webhook_id) to rows that every outbox write of a merchant
-- locked at once; SQLite's key checks take no row locks (its write lock is
-- whole-database), so its schema keeps them.
SELECT 1;
