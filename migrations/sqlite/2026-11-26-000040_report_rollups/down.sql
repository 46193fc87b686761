DROP INDEX vouchers_campaign_status_expiry;
DROP INDEX orders_paid_at;
DROP TABLE merchant_day_stats;
