DROP INDEX orders_redeemed_at;
DROP TABLE risk_flags;
DROP TABLE statement_days;
DROP TABLE statement_lines;
DROP TABLE statements;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending_payment', 'paid', 'redeemed', 'cancelled', 'refunded'));
