-- Issue 11/12, counters of a claim storm that must stay exact with several instances.
--
-- batch_day_claims: how many vouchers of a batch with a `daily_quantity` were
-- claimed on one platform-local day ('YYYY-MM-DD' in `platform.timezone`). A claim
-- (or a coalesced group of k) adds to its day's row with one guarded upsert
-- (`claimed + k <= daily_quantity`) in the claim's own transaction; a new day is a
-- new row, so the count restarts at local midnight.
CREATE TABLE batch_day_claims (
    batch_id BIGINT NOT NULL REFERENCES voucher_batches (id),
    day TEXT NOT NULL,
    claimed BIGINT NOT NULL CHECK (claimed >= 0),
    PRIMARY KEY (batch_id, day)
);

