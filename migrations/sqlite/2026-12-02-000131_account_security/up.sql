-- Issue 13: an administrator can disable an account (it can no longer log in or refresh).
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
