-- Issue 11 item 4, stock shards: a first-come batch made while `claims.stock_shards`
-- is above 1 keeps its stock in several rows instead of the one hot
-- `voucher_batches.remaining`, so that instances claiming it at once take different
-- rows' locks. The stock of any batch is `voucher_batches.remaining` plus the sum of
-- its shards: a sharded batch is made with `voucher_batches.remaining = 0` and all of
-- its quantity spread over the shards (src/vouchers/stock.rs).
CREATE TABLE batch_stock_shards (
    batch_id BIGINT NOT NULL REFERENCES voucher_batches (id),
    shard BIGINT NOT NULL,
    remaining BIGINT NOT NULL CHECK (remaining >= 0),
    PRIMARY KEY (batch_id, shard)
);
