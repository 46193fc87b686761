-- vouchers_campaign_status (campaign_id, status) is a prefix of
-- vouchers_campaign_status_expiry (campaign_id, status, expires_at): every query
-- that could use the first uses the second as well, and each claimed voucher paid
-- for one more index entry in the claim's write transaction (the hot path of a
-- release: issue 11).
DROP INDEX vouchers_campaign_status;
