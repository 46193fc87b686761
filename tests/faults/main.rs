//! Fault tests (issue 16): the database restarted or cut under a storm, a pool run
//! dry, a SQLite writer held past its busy timeout, a rolling restart behind
//! HAProxy. Each fault is started by the test itself; none touches the machine's
//! shared PostgreSQL server beyond the test's own database.
//!
//! A test target of its own, not a module of `tests/api`: these tests restart
//! servers, hold locks and measure recovery times, so they run one at a time
//! ([`serial`]) and after the API suite, not beside 150 other tests on two cores.
//!
//! What runs where: the PostgreSQL faults need `TEST_DATABASE_URL` (as in CI) and,
//! for the restart, the PostgreSQL server binaries; the rolling restart needs
//! `haproxy`. A test whose tools are missing prints why and passes, so `cargo test`
//! with no services still passes. The SQLite faults always run.

#[path = "../api/helpers.rs"]
mod helpers;
// The fixtures serve the API suite too; these tests use a few of them.
#[allow(dead_code)]
#[path = "../api/order_fixtures.rs"]
mod order_fixtures;

mod support;

mod database;
mod pool;
mod rolling;
mod sqlite;

/// One fault test at a time (each runs its own servers and storms).
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Prints why a test does not run here (visible with `--nocapture`) and returns.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}
