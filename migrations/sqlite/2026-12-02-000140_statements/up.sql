-- An order found fraudulent after redemption can be reversed (redeemed → reversed).
-- SQLite cannot change a CHECK constraint in place: orders is rebuilt (the
-- documented copy, drop, rename procedure), with foreign key enforcement off, in a
-- transaction of its own (metadata.toml). Foreign keys from payments and vouchers
-- point at the name `orders`, so they hold again once the copy is renamed; the
-- guard before COMMIT fails the migration, and rolls it back, should any not.
--
-- (Until 2026-12-07 this file relied on `PRAGMA defer_foreign_keys` inside
-- diesel's transaction instead. SQLite counts the rows that the DROP's implicit
-- delete leaves pointing at nothing as violations, and they are still counted at
-- COMMIT after the rename, so on a database that already held orders with
-- payments the migration failed with "FOREIGN KEY constraint failed". A database
-- that has applied it is unchanged by this edit: diesel records the version.)
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE orders_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'redeemed', 'cancelled', 'refunded', 'reversed')),
    redemption_code TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    payment_due_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP,
    redeemed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    refunded_at TIMESTAMP,
    -- added by 2026-12-02-000013_money_in_flight (ALTER TABLE: the last column)
    money_in_flight_at TIMESTAMP,
    CHECK (payable_fen = gross_fen - subsidy_fen)
);
INSERT INTO orders_rebuilt SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
-- A voucher is attached to at most one live order (the last guard of invariant 3).
CREATE UNIQUE INDEX orders_voucher_live ON orders (voucher_id)
    WHERE voucher_id IS NOT NULL AND status IN ('pending_payment', 'paid', 'redeemed');
CREATE INDEX orders_user_id ON orders (user_id, id);
CREATE INDEX orders_merchant_id ON orders (merchant_id, id);
CREATE INDEX orders_due ON orders (status, payment_due_at);
CREATE INDEX orders_campaign ON orders (campaign_id, status);
CREATE INDEX orders_paid_at ON orders (paid_at);

-- Daily statements (API.md, Money to merchants). One row per merchant and
-- platform-local day, written with its lines in one transaction; the unique
-- (merchant_id, day) is the last guard of "closed exactly once".
CREATE TABLE statements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    -- the merchant's name when the statement closed: the CSV and its digest never change
    name TEXT NOT NULL,
    day TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('closed', 'held', 'approved', 'paid')),
    orders BIGINT NOT NULL CHECK (orders >= 0),
    subsidy_fen BIGINT NOT NULL CHECK (subsidy_fen >= 0),
    clawback_fen BIGINT NOT NULL CHECK (clawback_fen >= 0),
    net_fen BIGINT NOT NULL,
    -- the negative balance of the merchant's previous statement, brought forward (<= 0)
    carried_in_fen BIGINT NOT NULL CHECK (carried_in_fen <= 0),
    -- what the platform transfers: max(0, net_fen + carried_in_fen)
    payout_fen BIGINT NOT NULL CHECK (payout_fen >= 0),
    digest TEXT NOT NULL,
    hold_reason TEXT,
    payout_reference TEXT,
    closed_at TIMESTAMP NOT NULL,
    approved_at TIMESTAMP,
    paid_at TIMESTAMP,
    CHECK (net_fen = subsidy_fen - clawback_fen),
    UNIQUE (merchant_id, day)
);
CREATE INDEX statements_status ON statements (status, id);
CREATE INDEX statements_day ON statements (day, id);
CREATE INDEX statements_merchant ON statements (merchant_id, id);

-- A statement's lines. A clawback is written when an order that stands on a closed
-- statement is reversed, with no statement yet (statement_id NULL: pending); the
-- merchant's next statement takes it. Each order is paid once and clawed back once.
CREATE TABLE statement_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id BIGINT REFERENCES statements(id),
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('subsidy', 'clawback')),
    amount_fen BIGINT NOT NULL,
    redeemed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'subsidy' AND amount_fen >= 0) OR (kind = 'clawback' AND amount_fen <= 0)),
    UNIQUE (order_id, kind)
);
CREATE INDEX statement_lines_statement ON statement_lines (statement_id, order_id);
CREATE INDEX statement_lines_pending ON statement_lines (merchant_id, statement_id);

-- One row per closed platform-local day: inserting it is the closing job's claim
-- on the day, in the transaction that writes the day's statements.
CREATE TABLE statement_days (
    day TEXT PRIMARY KEY,
    statements BIGINT NOT NULL,
    closed_at TIMESTAMP NOT NULL
);

-- The risk scan's latest findings per flagged merchant (the admin risk queue reads
-- this; the scan over every voucher order is too slow to run per request).
CREATE TABLE risk_flags (
    merchant_id BIGINT PRIMARY KEY REFERENCES merchants(id),
    score DOUBLE PRECISION NOT NULL,
    signals TEXT NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
CREATE INDEX risk_flags_score ON risk_flags (score);

CREATE INDEX orders_redeemed_at ON orders (redeemed_at);

-- Every key holds, or the CHECK fails the migration before COMMIT.
CREATE TEMP TABLE foreign_keys_hold (held INTEGER NOT NULL CHECK (held = 1));
INSERT INTO foreign_keys_hold SELECT 0 FROM pragma_foreign_key_check LIMIT 1;
DROP TABLE foreign_keys_hold;
COMMIT;
PRAGMA foreign_keys = ON;
