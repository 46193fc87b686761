DROP TABLE batch_entries;
ALTER TABLE vouchers DROP COLUMN usable_weekdays, DROP COLUMN usable_from, DROP COLUMN usable_to;
ALTER TABLE voucher_batches
    DROP COLUMN allocation, DROP COLUMN daily_quantity, DROP COLUMN usable_weekdays,
    DROP COLUMN usable_from, DROP COLUMN usable_to, DROP COLUMN entries,
    DROP COLUMN draw_seed, DROP COLUMN commitment;
