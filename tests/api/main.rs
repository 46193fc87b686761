//! Black-box tests over real HTTP: one binary, one fresh database per test (SQLite
//! by default, PostgreSQL with `TEST_DATABASE_URL`). See `helpers.rs`.

mod helpers;

mod accounts;
mod auth_tokens;
mod dashboard;
mod demo;
mod errors;
mod health;
mod metrics;
mod openapi;
mod reports;
