-- The sender's claim reads the queue of pending deliveries oldest first. With these
-- each of its queries stops after the few rows it needs, however long that queue
-- is (a burst of redemptions, or an endpoint down for hours), instead of reading
-- every pending row to sort it (the old indexes led with next_attempt_at, or
-- ended at status).
DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_webhook;
-- The oldest pending deliveries of all endpoints (claim's candidates).
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (status, id);
-- One endpoint's oldest pending deliveries (claim_endpoint; deleting an endpoint
-- abandons them).
CREATE INDEX webhook_deliveries_endpoint_queue ON webhook_deliveries (webhook_id, status, id);
-- Whether one endpoint has a delivery in flight (claim_endpoint).
CREATE INDEX webhook_deliveries_endpoint_lease ON webhook_deliveries (webhook_id, status, locked_until);
