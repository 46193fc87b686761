CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    offer_id BIGINT NOT NULL REFERENCES offers(id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    voucher_id BIGINT REFERENCES vouchers(id),
    -- the voucher's campaign, kept on the order for reports
    campaign_id BIGINT REFERENCES campaigns(id),
    gross_fen BIGINT NOT NULL CHECK (gross_fen > 0),
    subsidy_fen BIGINT NOT NULL CHECK (subsidy_fen >= 0),
    payable_fen BIGINT NOT NULL CHECK (payable_fen >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'redeemed', 'cancelled', 'refunded')),
    redemption_code TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    payment_due_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP,
    redeemed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    refunded_at TIMESTAMP,
    CHECK (payable_fen = gross_fen - subsidy_fen)
);
-- A voucher is attached to at most one live order (the last guard of invariant 3).
CREATE UNIQUE INDEX orders_voucher_live ON orders (voucher_id)
    WHERE voucher_id IS NOT NULL AND status IN ('pending_payment', 'paid', 'redeemed');
CREATE INDEX orders_user_id ON orders (user_id, id);
CREATE INDEX orders_merchant_id ON orders (merchant_id, id);
CREATE INDEX orders_due ON orders (status, payment_due_at);
CREATE INDEX orders_campaign ON orders (campaign_id, status);

CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    UNIQUE (provider, reference)
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE idempotency_keys (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, method, path, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
