ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_merchant_id_fkey
    FOREIGN KEY (merchant_id) REFERENCES merchants(id);
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_webhook_id_fkey
    FOREIGN KEY (webhook_id) REFERENCES webhooks(id);
