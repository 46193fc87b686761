CREATE TABLE merchants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    license_no TEXT NOT NULL,
    category TEXT NOT NULL,
    district TEXT NOT NULL,
    address TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'suspended')),
    review_note TEXT,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    -- lower-cased name, so `q` matches the same way on both engines
    search_text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- One live merchant per unified social credit code; a rejected one frees it.
CREATE UNIQUE INDEX merchants_license_live ON merchants (license_no) WHERE status <> 'rejected';
CREATE INDEX merchants_status_id ON merchants (status, id);

CREATE TABLE merchant_members (
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, user_id)
);
CREATE INDEX merchant_members_user ON merchant_members (user_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id BIGINT NOT NULL REFERENCES users(id),
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);

CREATE TABLE offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    price_fen BIGINT NOT NULL CHECK (price_fen > 0),
    -- what is left to sell; NULL = unlimited
    stock BIGINT CHECK (stock IS NULL OR stock >= 0),
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    -- lower-cased title and description, so `q` matches the same way on both engines
    search_text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX offers_merchant_id ON offers (merchant_id, id);
CREATE INDEX offers_status_id ON offers (status, id);
