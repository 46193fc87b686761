CREATE TABLE campaigns (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'ended')),
    budget_fen BIGINT NOT NULL CHECK (budget_fen > 0),
    -- face value of every batch made, less that of vouchers voided by refunds
    reserved_fen BIGINT NOT NULL CHECK (reserved_fen >= 0),
    target_leverage DOUBLE PRECISION NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- comma-separated lists; empty = all
    eligible_categories TEXT NOT NULL,
    eligible_districts TEXT NOT NULL,
    require_real_name BOOLEAN NOT NULL,
    refund_returns_voucher BOOLEAN NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    CHECK (reserved_fen <= budget_fen),
    CHECK (ends_at > starts_at)
);
CREATE INDEX campaigns_status_id ON campaigns (status, id);

CREATE TABLE voucher_batches (
    id BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    name TEXT NOT NULL,
    discount_fen BIGINT NOT NULL CHECK (discount_fen > 0),
    min_spend_fen BIGINT NOT NULL CHECK (min_spend_fen >= 0),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    remaining BIGINT NOT NULL CHECK (remaining >= 0),
    per_user_limit BIGINT NOT NULL CHECK (per_user_limit > 0),
    claim_starts_at TIMESTAMP NOT NULL,
    claim_ends_at TIMESTAMP NOT NULL,
    valid_days BIGINT NOT NULL CHECK (valid_days > 0),
    created_at TIMESTAMP NOT NULL,
    CHECK (remaining <= quantity)
);
CREATE INDEX voucher_batches_campaign ON voucher_batches (campaign_id, id);

CREATE TABLE vouchers (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    batch_id BIGINT NOT NULL REFERENCES voucher_batches(id),
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- 1..per_user_limit: the unique key below is the last guard of the per-user limit
    slot BIGINT NOT NULL,
    discount_fen BIGINT NOT NULL,
    min_spend_fen BIGINT NOT NULL,
    -- 'expired' is derived from expires_at when read, never waited for
    status TEXT NOT NULL CHECK (status IN ('available', 'locked', 'used', 'void')),
    claimed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    order_id BIGINT,
    UNIQUE (batch_id, user_id, slot)
);
CREATE INDEX vouchers_user_id ON vouchers (user_id, id);
CREATE INDEX vouchers_campaign_status ON vouchers (campaign_id, status);
