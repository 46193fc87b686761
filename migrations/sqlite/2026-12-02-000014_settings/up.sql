-- Facts about the database the service must check at start-up, by name; first
-- `rollup_timezone`: the zone merchant_day_stats' days were computed in.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
