-- Report rollup: the counted orders (paid or redeemed) per campaign, merchant and
-- calendar day in the platform's time zone. Pay adds an order, refund subtracts
-- it, in the same transaction as the order's own change, so the rollup is always
-- exactly the sum over its orders. campaign_id 0 holds orders without a voucher.
CREATE TABLE merchant_day_stats (
    campaign_id BIGINT NOT NULL,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    day TEXT NOT NULL,
    orders BIGINT NOT NULL CHECK (orders >= 0),
    consumption_fen BIGINT NOT NULL,
    subsidy_fen BIGINT NOT NULL,
    resident_paid_fen BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, merchant_id, day)
);
-- Covering indexes in the order each report query groups or ranges by, so the
-- aggregates read index pages only: by merchant, by day, and merchant-wide
-- (a merchant's days inside a campaign window).
CREATE INDEX merchant_day_stats_campaign_merchant
    ON merchant_day_stats (campaign_id, merchant_id, orders, consumption_fen, subsidy_fen, resident_paid_fen);
CREATE INDEX merchant_day_stats_campaign_day
    ON merchant_day_stats (campaign_id, day, orders, consumption_fen, subsidy_fen, resident_paid_fen);
CREATE INDEX merchant_day_stats_merchant_day ON merchant_day_stats (merchant_id, day, consumption_fen);
-- The edges of a campaign window that cut through a day are summed from orders.
CREATE INDEX orders_paid_at ON orders (paid_at);
-- Voucher counts by status without touching the table.
CREATE INDEX vouchers_campaign_status_expiry ON vouchers (campaign_id, status, expires_at);
