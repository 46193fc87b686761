-- One money movement per order at a time: set by a conditional UPDATE before the
-- payment provider is called, cleared when the movement is recorded or abandoned
-- (a claim older than a couple of minutes is presumed abandoned).
ALTER TABLE orders ADD COLUMN money_in_flight_at TIMESTAMP;
