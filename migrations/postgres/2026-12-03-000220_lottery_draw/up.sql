-- Issue 12, the draw of a lottery batch. `draw_started_at` is fixed by the first
-- drawer (a conditional UPDATE), so every drawer of the batch, on any instance and
-- after a crash, issues the winners' vouchers at the same draw time; `drawn_at` is
-- set by the transaction that finishes the draw (losers marked, `remaining` set),
-- and is what publishes the seed.
ALTER TABLE voucher_batches
    ADD COLUMN draw_started_at TIMESTAMP,
    ADD COLUMN drawn_at TIMESTAMP;
