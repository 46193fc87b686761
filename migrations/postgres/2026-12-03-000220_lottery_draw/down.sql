ALTER TABLE voucher_batches DROP COLUMN drawn_at, DROP COLUMN draw_started_at;
