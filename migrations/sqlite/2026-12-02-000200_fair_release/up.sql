-- Issue 12, fair release: a batch is given out first come, first served or by lot;
-- first-come batches may be paced per day, and any batch's vouchers may be usable
-- only on some weekdays and hours (platform-local).
ALTER TABLE voucher_batches ADD COLUMN allocation TEXT NOT NULL DEFAULT 'first_come' CHECK (allocation IN ('first_come', 'lottery'));
-- at most this many claims per platform-local day; NULL = no cap
ALTER TABLE voucher_batches ADD COLUMN daily_quantity BIGINT CHECK (daily_quantity > 0);
-- ISO weekdays (1 = Monday) the vouchers may be used on, comma-separated; empty = every day
ALTER TABLE voucher_batches ADD COLUMN usable_weekdays TEXT NOT NULL DEFAULT '';
-- platform-local 'HH:MM' window [from, to) the vouchers may be used in; both NULL = all day
ALTER TABLE voucher_batches ADD COLUMN usable_from TEXT;
ALTER TABLE voucher_batches ADD COLUMN usable_to TEXT;
-- lottery: entries taken so far; the next entry's entry_no is entries + 1 (gap-free)
ALTER TABLE voucher_batches ADD COLUMN entries BIGINT NOT NULL DEFAULT 0 CHECK (entries >= 0);
-- lottery: hex of the 32 secret seed bytes (published once drawn) and its SHA-256
ALTER TABLE voucher_batches ADD COLUMN draw_seed TEXT;
ALTER TABLE voucher_batches ADD COLUMN commitment TEXT;

-- A voucher carries its batch's usable window, as it carries its discount.
ALTER TABLE vouchers ADD COLUMN usable_weekdays TEXT NOT NULL DEFAULT '';
ALTER TABLE vouchers ADD COLUMN usable_from TEXT;
ALTER TABLE vouchers ADD COLUMN usable_to TEXT;

-- One resident's entry into a lottery batch.
CREATE TABLE batch_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id BIGINT NOT NULL REFERENCES voucher_batches(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- 1, 2, 3 … per batch with no gaps
    entry_no BIGINT NOT NULL CHECK (entry_no > 0),
    entered_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL DEFAULT 'entered' CHECK (status IN ('entered', 'won', 'lost')),
    -- the winner's voucher, once drawn
    voucher_id BIGINT REFERENCES vouchers(id),
    UNIQUE (batch_id, user_id),
    UNIQUE (batch_id, entry_no)
);
CREATE INDEX batch_entries_user ON batch_entries (user_id, id);
