DROP TABLE batch_stock_shards;
