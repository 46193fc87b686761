ALTER TABLE orders DROP COLUMN money_in_flight_at;
