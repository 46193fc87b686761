-- Nothing to do on PostgreSQL. The SQLite migration of this name adds the cursor
-- of the sender's fan-out (events into deliveries after the change's commit),
-- which relies on SQLite's single writer committing events in id order.
-- PostgreSQL's sequence ids can commit out of order, so there the change's own
-- statement writes the deliveries with the event (src/webhooks/outbox.rs), and
-- the table does not exist.
SELECT 1;
