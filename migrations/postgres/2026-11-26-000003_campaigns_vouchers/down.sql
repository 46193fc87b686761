DROP TABLE vouchers;
DROP TABLE voucher_batches;
DROP TABLE campaigns;
