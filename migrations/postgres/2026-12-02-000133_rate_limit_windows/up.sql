-- Issue 13: rate-limit windows shared by every instance on one PostgreSQL database
-- (a SQLite deployment is one instance and counts in memory; the table exists in
-- both trees so that they keep identical migrations).
CREATE TABLE rate_limit_windows (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL
);
CREATE INDEX rate_limit_windows_start ON rate_limit_windows (window_start);
