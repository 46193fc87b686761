-- A sender pass leases an endpoint, not each of its deliveries: one row written
-- (`webhooks.leased_until`) instead of a batch of delivery rows and their entries
-- in an index kept for that alone. Why: on SQLite the sender's write transactions
-- hold the write lock the redemptions wait for, and the lease was a whole
-- transaction of row and index updates per pass (benches/webhooks.rs); on both
-- engines the pass's record then moves its deliveries through two indexes instead
-- of three. An endpoint with a lease that holds has a pass in flight, which is
-- what "never two deliveries of an endpoint in flight" (README, "Order") needs.
-- A lease held by a sender while this runs is forgotten: its deliveries may be
-- sent once more, which at-least-once allows.
ALTER TABLE webhooks ADD COLUMN leased_until TIMESTAMP;
DROP INDEX webhook_deliveries_endpoint_lease;
ALTER TABLE webhook_deliveries DROP COLUMN locked_until;
