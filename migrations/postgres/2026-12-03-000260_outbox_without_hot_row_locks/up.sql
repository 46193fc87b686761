-- An outbox write takes no lock on a row that every other outbox write also locks.
--
-- A foreign key check locks the referenced row (FOR KEY SHARE): every redemption,
-- payment, refund, ... of a merchant with an endpoint locked that merchant's
-- `merchants` row (from webhook_events.merchant_id) and its `webhooks` row (from
-- webhook_deliveries.webhook_id). Many such transactions at once make PostgreSQL
-- write each of those rows' lock into the row itself, as a multixact of every
-- current locker, on one hot page: measured with 32 clients redeeming one
-- merchant's orders, the outbox made a redemption ~15% slower with the sender off
-- (benches/webhooks.rs --sender off).
--
-- Both columns are written by the outbox's one statement (src/webhooks/outbox.rs)
-- from the `webhooks` row it reads, so they name an existing endpoint and its
-- merchant by construction; endpoints are never deleted (`deleted_at`), nor are
-- merchants. The keys between the outbox's own tables (delivery -> event, the
-- attempts' keys) stay: those rows are new or the sender's alone. SQLite keeps
-- every key: its checks take no row locks (its write lock is whole-database).
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_merchant_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_webhook_id_fkey;
