ALTER TABLE webhook_deliveries ADD COLUMN locked_until TIMESTAMP;
CREATE INDEX webhook_deliveries_endpoint_lease ON webhook_deliveries (webhook_id, status, locked_until);
ALTER TABLE webhooks DROP COLUMN leased_until;
