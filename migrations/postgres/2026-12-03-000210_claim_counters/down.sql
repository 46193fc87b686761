DROP TABLE batch_day_claims;
