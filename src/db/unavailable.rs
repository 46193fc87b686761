//! "The database is not there": which database errors mean that the database is
//! unreachable, shutting down, failing over or too busy right now, as opposed to a
//! bug of ours.
//!
//! Such an error is answered 503 `service_unavailable` with `Retry-After` (a client
//! may retry; the transaction it interrupted was rolled back by the database) and
//! counted in `db_unavailable_total{cause}`; everything else stays a 500. The one
//! place that decides is [`classify`], used by `From<diesel::result::Error> for
//! AppError` and by [`super::run`] for pool checkouts.
//!
//! diesel does not hand out the SQLSTATE, only a kind and the server's message, so
//! the PostgreSQL shutdown states (57P01 admin shutdown, 57P02 crash shutdown, 57P03
//! cannot connect now) and SQLite's busy/locked codes are recognised by their
//! messages, which both engines keep stable.

use crate::error::{AppError, Code};

/// Seconds a client is told to wait before retrying.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Why the database could not serve a request (the `cause` label of the metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The connection broke or was closed under us (server restart, proxy cut,
    /// `pg_terminate_backend`, network): SQLSTATE 08xxx, 57P01, 57P02.
    ConnectionLost,
    /// The server refuses new work while starting up or shutting down (57P03).
    ShuttingDown,
    /// A failover in progress: the server we reach is a read-only standby (25006).
    ReadOnly,
    /// No pooled connection came free within `connection_timeout_ms`.
    PoolTimeout,
    /// No connection could be opened at all within `connection_timeout_ms`.
    Unreachable,
    /// SQLite: another writer held the lock past `sqlite_busy_timeout_ms`.
    Busy,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::ConnectionLost => "connection_lost",
            Cause::ShuttingDown => "shutting_down",
            Cause::ReadOnly => "read_only",
            Cause::PoolTimeout => "pool_timeout",
            Cause::Unreachable => "unreachable",
            Cause::Busy => "busy",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            Cause::ConnectionLost | Cause::ShuttingDown | Cause::ReadOnly | Cause::Unreachable => {
                "the database is unavailable, try again"
            }
            Cause::PoolTimeout | Cause::Busy => "the database is busy, try again",
        }
    }
}

/// Message fragments (lower case) of errors that mean the connection is gone.
const LOST: &[&str] = &[
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "terminating connection due to unexpected postmaster exit",
    "terminating connection because of crash of another server process",
    "terminating connection due to idle",
    "no connection to the server",
    "connection to server",
    "could not receive data from server",
    "could not send data to server",
    "ssl connection has been closed unexpectedly",
    "connection reset by peer",
    "broken pipe",
    "lost synchronization with server",
];

/// The server is up but not taking work (57P03 and friends).
const NOT_NOW: &[&str] = &[
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "the database system is in recovery mode",
];

/// SQLite's SQLITE_BUSY and SQLITE_LOCKED after `busy_timeout`.
const BUSY: &[&str] = &["database is locked", "database table is locked", "database is busy"];

/// Whether `error` means the database is not there (and which way), or `None` for
/// everything else: constraint violations, missing rows and our own bugs.
pub fn classify(error: &diesel::result::Error) -> Option<Cause> {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match error {
        // A transaction manager left broken by a failed BEGIN/COMMIT/ROLLBACK: in
        // practice the connection died under the transaction.
        Error::BrokenTransactionManager => Some(Cause::ConnectionLost),
        Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => Some(Cause::ConnectionLost),
        Error::DatabaseError(Kind::ReadOnlyTransaction, _) => Some(Cause::ReadOnly),
        Error::DatabaseError(_, info) => classify_message(info.message()),
        Error::RollbackErrorOnCommit { commit_error, .. } => classify(commit_error),
        _ => None,
    }
}

fn classify_message(message: &str) -> Option<Cause> {
    let message = message.to_lowercase();
    let has = |list: &[&str]| list.iter().any(|fragment| message.contains(fragment));
    if has(NOT_NOW) {
        Some(Cause::ShuttingDown)
    } else if has(LOST) {
        Some(Cause::ConnectionLost)
    } else if has(BUSY) {
        Some(Cause::Busy)
    } else {
        None
    }
}

/// A pool checkout that timed out, given the pool's state at that moment: every
/// connection open and in use is a pool run dry (overload); fewer open than the
/// pool may hold means the pool could not open more (the database is unreachable,
/// or refuses connections while it starts or stops: r2d2 then often appends the
/// last connection error).
pub fn classify_checkout(error: &r2d2::Error, open: u32, idle: u32, max_size: u32) -> Cause {
    let last_error = error.to_string();
    if let Some((_, last_error)) = last_error.split_once(": ") {
        if classify_message(last_error) == Some(Cause::ShuttingDown) {
            return Cause::ShuttingDown;
        }
    }
    if open >= max_size && idle == 0 {
        Cause::PoolTimeout
    } else {
        Cause::Unreachable
    }
}

/// The 503 for `cause`, counted and logged once here.
pub fn error(cause: Cause, source: &dyn std::fmt::Display) -> AppError {
    crate::metrics::db_unavailable(cause.as_str());
    tracing::warn!(cause = cause.as_str(), error = %source, "database unavailable");
    AppError::new(Code::ServiceUnavailable, cause.detail())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn lost_connections_shutdowns_and_busy_writers_are_unavailable() {
        let cases = [
            (
                db_error(DatabaseErrorKind::ClosedConnection, "x"),
                Cause::ConnectionLost,
            ),
            (
                db_error(DatabaseErrorKind::UnableToSendCommand, "x"),
                Cause::ConnectionLost,
            ),
            (Error::BrokenTransactionManager, Cause::ConnectionLost),
            (
                db_error(
                    DatabaseErrorKind::Unknown,
                    "FATAL:  terminating connection due to administrator command",
                ),
                Cause::ConnectionLost,
            ),
            (
                db_error(
                    DatabaseErrorKind::Unknown,
                    "server closed the connection unexpectedly\n\tThis probably means ...",
                ),
                Cause::ConnectionLost,
            ),
            (
                db_error(
                    DatabaseErrorKind::Unknown,
                    "FATAL:  the database system is shutting down",
                ),
                Cause::ShuttingDown,
            ),
            (
                db_error(
                    DatabaseErrorKind::ReadOnlyTransaction,
                    "cannot execute UPDATE in a read-only transaction",
                ),
                Cause::ReadOnly,
            ),
            (db_error(DatabaseErrorKind::Unknown, "database is locked"), Cause::Busy),
        ];
        for (error, cause) in cases {
            assert_eq!(classify(&error), Some(cause), "{error:?}");
        }
    }

    #[test]
    fn a_checkout_timeout_is_overload_only_when_the_pool_is_full_and_busy() {
        let pool = r2d2::Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_millis(1))
            .build_unchecked(crate::db::ConnectionManager::new("/proc/wenlv-none/x.db", 1));
        let error = pool.get().map(|_| ()).expect_err("no connection");
        assert_eq!(classify_checkout(&error, 4, 0, 4), Cause::PoolTimeout);
        assert_eq!(classify_checkout(&error, 0, 0, 4), Cause::Unreachable);
        assert_eq!(classify_checkout(&error, 2, 0, 4), Cause::Unreachable);
    }

    #[test]
    fn bugs_and_conflicts_stay_ours() {
        let cases = [
            Error::NotFound,
            db_error(DatabaseErrorKind::UniqueViolation, "duplicate key"),
            db_error(DatabaseErrorKind::Unknown, "syntax error at or near \"SELEC\""),
            db_error(DatabaseErrorKind::Unknown, "no such table: orderz"),
            Error::RollbackTransaction,
        ];
        for error in cases {
            assert_eq!(classify(&error), None, "{error:?}");
        }
    }
}
