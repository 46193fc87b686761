-- Issue 13: staff join a merchant by accepting an invitation to their phone.
CREATE TABLE staff_invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    -- The invited phone, whether or not it has an account (no account oracle).
    phone TEXT NOT NULL,
    invited_by BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('invited', 'accepted', 'declined')),
    expires_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_invitations_phone ON staff_invitations (phone, status, id);
CREATE INDEX staff_invitations_merchant ON staff_invitations (merchant_id, phone, status);
