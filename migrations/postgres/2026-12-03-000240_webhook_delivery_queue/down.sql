DROP INDEX webhook_deliveries_endpoint_lease;
DROP INDEX webhook_deliveries_endpoint_queue;
DROP INDEX webhook_deliveries_queue;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, status);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, id);
