CREATE INDEX vouchers_campaign_status ON vouchers (campaign_id, status);
