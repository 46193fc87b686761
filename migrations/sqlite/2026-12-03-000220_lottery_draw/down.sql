ALTER TABLE voucher_batches DROP COLUMN drawn_at;
ALTER TABLE voucher_batches DROP COLUMN draw_started_at;
