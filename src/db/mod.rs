//! One database code path for two engines: SQLite (embedded default) and PostgreSQL.
//!
//! [`DbConnection`] is a diesel `MultiConnection` over both; the pool hands out that
//! enum, and the engine is chosen from the URL scheme (so a bad PostgreSQL URL gives
//! PostgreSQL's own error). Every state change runs in [`write_tx`], which on SQLite
//! starts with `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes
//! ignores `busy_timeout` and fails with "database is locked" under concurrency.
//! Handlers reach the database only through [`run`], which moves the blocking diesel
//! call off the async threads. A database that is not there (down, restarting,
//! failing over, busy, or a pool that runs dry) is a 503 decided in [`unavailable`];
//! a connection that broke is dropped by the pool and replaced.

pub mod checkpoint;
pub mod migrations;
pub mod schema;
pub mod unavailable;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use crate::config::DatabaseSettings;
use crate::error::{AppError, Code};

/// Inserts `rows` (insertables taken by value: the status enums are insertable by
/// value only) with one multi-row INSERT per `per_insert` of them, calling
/// `after(n)` after each chunk of `n` rows. The multi-engine connection has no
/// multi-row INSERT, so each chunk goes through the engine's own connection: the
/// same connection, in the same transaction. Errors leave through `?`.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $per_insert:expr) => {
        $crate::db::insert_rows!($conn, $table, $rows, $per_insert, |_: u64| {})
    };
    ($conn:expr, $table:expr, $rows:expr, $per_insert:expr, $after:expr) => {{
        let mut rows = $rows.into_iter();
        loop {
            let chunk: Vec<_> = rows.by_ref().take($per_insert).collect();
            let n = chunk.len() as u64;
            if n == 0 {
                break;
            }
            match &mut *$conn {
                $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                $crate::db::DbConnection::Postgresql(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
            ($after)(n);
        }
    }};
}
pub(crate) use insert_rows;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which engine a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

impl Engine {
    pub fn from_url(url: &str) -> Engine {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Opens connections of the engine the URL names; SQLite ones get their pragmas.
#[derive(Debug)]
pub struct ConnectionManager {
    url: String,
    engine: Engine,
    sqlite_busy_timeout_ms: u64,
    /// SQLite: `PRAGMA wal_autocheckpoint`; `None` keeps SQLite's (1,000 pages),
    /// `Some(0)` leaves checkpoints to the background checkpointer ([`checkpoint`]).
    sqlite_wal_autocheckpoint_pages: Option<u32>,
}

impl ConnectionManager {
    pub fn new(url: &str, sqlite_busy_timeout_ms: u64) -> Self {
        ConnectionManager {
            url: url.to_owned(),
            engine: Engine::from_url(url),
            sqlite_busy_timeout_ms,
            sqlite_wal_autocheckpoint_pages: None,
        }
    }

    /// `database.*` as configured: SQLite's connections checkpoint themselves past
    /// `sqlite_wal_autocheckpoint_pages` (the command line's one-off connections).
    pub fn from_settings(settings: &DatabaseSettings) -> Self {
        ConnectionManager {
            sqlite_wal_autocheckpoint_pages: Some(settings.sqlite_wal_autocheckpoint_pages),
            ..ConnectionManager::new(&settings.url, settings.sqlite_busy_timeout_ms)
        }
    }

    /// The manager of the service's pools: [`Self::from_settings`], except that with
    /// the background checkpointer ([`checkpoint`]) its connections never checkpoint.
    pub fn for_service(settings: &DatabaseSettings) -> Self {
        let manager = ConnectionManager::from_settings(settings);
        if checkpoint::in_background(settings) {
            ConnectionManager {
                sqlite_wal_autocheckpoint_pages: Some(0),
                ..manager
            }
        } else {
            manager
        }
    }

    /// Opens one connection outside any pool (migrations, CLI, tests).
    pub fn establish(&self) -> anyhow::Result<DbConnection> {
        match self.engine {
            Engine::Postgres => Ok(DbConnection::Postgresql(PgConnection::establish(&self.url)?)),
            Engine::Sqlite => {
                if let Some(parent) = std::path::Path::new(&self.url).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)?;
                    }
                }
                let mut conn = SqliteConnection::establish(&self.url)?;
                // busy_timeout first: switching to WAL itself may wait for a lock.
                // temp_store: statement journals (a multi-row INSERT keeps one, to
                // undo itself alone) and sorts stay in memory; on files each was
                // created, written and deleted inside the claim writer's transaction.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY;",
                    self.sqlite_busy_timeout_ms
                ))?;
                if let Some(pages) = self.sqlite_wal_autocheckpoint_pages {
                    conn.batch_execute(&format!("PRAGMA wal_autocheckpoint = {pages}"))?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.establish()
            .map_err(|e| diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(format!("{e:#}"))))
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Postgresql(c) => c.is_broken(),
            DbConnection::Sqlite(c) => c.is_broken(),
        }
    }
}

/// Whether a statement failed on a unique index. Both engines report it as such
/// (diesel maps SQLite's extended codes); the index's name is PostgreSQL-only, so
/// callers map the conflict at the call site, where they know which index it was.
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(error, Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
}

/// Whether PostgreSQL aborted the transaction to break a deadlock (SQLSTATE 40P01,
/// which diesel does not classify: its message is the one sign).
pub fn is_deadlock(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(_, info) if info.message().contains("deadlock detected"))
}

/// Builds the pool, waiting for its first connection (so a database that is not
/// there fails start-up). Checkouts are not tested with a round trip (it costs
/// throughput while hot rows are locked); a broken connection is dropped by
/// `has_broken`.
pub fn build_pool(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    let manager = ConnectionManager::for_service(settings);
    Ok(pool_builder(settings).build(manager)?)
}

/// [`build_pool`] for a background job's own pool: returns at once and connects in
/// the background, so start-up does not wait for a second first connection (the
/// request pool has proved the database is there).
pub fn build_lazy_pool(settings: &DatabaseSettings) -> Pool {
    let manager = ConnectionManager::for_service(settings);
    pool_builder(settings).build_unchecked(manager)
}

fn pool_builder(settings: &DatabaseSettings) -> r2d2::Builder<ConnectionManager> {
    r2d2::Pool::builder()
        .max_size(settings.max_connections.max(1))
        .min_idle(Some(1))
        .test_on_check_out(false)
        .connection_timeout(Duration::from_millis(settings.connection_timeout_ms.max(1)))
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (take the write lock
/// first, so `busy_timeout` applies), a plain `BEGIN` on PostgreSQL. Commits on `Ok`,
/// rolls back on `Err`. Nested `transaction()` calls inside become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let asked = std::time::Instant::now();
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    // BEGIN's own time is SQLite's wait for the write lock; from then to COMMIT or
    // ROLLBACK the transaction holds it (and its row locks, on PostgreSQL).
    crate::metrics::write_lock_wait(asked.elapsed());
    let locked = std::time::Instant::now();
    let result = match f(conn) {
        Ok(value) => <DbConnection as Connection>::TransactionManager::commit_transaction(conn)
            .map(|()| value)
            .map_err(E::from),
        Err(error) => {
            if let Err(rollback_error) = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn) {
                // A lost connection rolls the transaction back on the server anyway.
                if unavailable::classify(&rollback_error).is_some() {
                    tracing::warn!(error = %rollback_error, "rollback failed: the connection is gone");
                } else {
                    tracing::error!(error = %rollback_error, "rollback failed");
                }
            }
            Err(error)
        }
    };
    // Taken as soon as COMMIT or ROLLBACK returns, when the lock is free again.
    crate::metrics::write_lock_held(locked.elapsed());
    result
}

/// Runs `f` in a read-only transaction that sees one snapshot, so figures read in
/// several statements agree with each other under concurrent writes: `BEGIN
/// ISOLATION LEVEL REPEATABLE READ READ ONLY` on PostgreSQL (every statement sees
/// the data as of the first), a deferred `BEGIN` on SQLite (a read transaction
/// keeps its snapshot). Never takes SQLite's write lock.
pub fn read_snapshot<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED")?,
        DbConnection::Postgresql(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?
        }
    }
    match f(conn) {
        Ok(value) => <DbConnection as Connection>::TransactionManager::commit_transaction(conn)
            .map(|()| value)
            .map_err(E::from),
        Err(error) => {
            if let Err(rollback_error) = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn) {
                tracing::warn!(error = %rollback_error, "rollback of a read transaction failed");
            }
            Err(error)
        }
    }
}

/// Runs a blocking database closure on actix's blocking thread pool with a pooled
/// connection taken inside it (taking one can block), keeping the caller's tracing
/// span. A pool that yields no connection in time answers 503, and so does a
/// database that went away under the closure (see [`unavailable`]).
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        let asked = std::time::Instant::now();
        let checkout = pool.get();
        crate::metrics::pool_checkout(asked.elapsed(), checkout.is_err());
        let mut conn = checkout.map_err(|e| {
            let state = pool.state();
            let cause = unavailable::classify_checkout(&e, state.connections, state.idle_connections, pool.max_size());
            unavailable::error(cause, &e)
        })?;
        let result = f(&mut conn);
        if matches!(&result, Err(e) if e.code() == Code::ServiceUnavailable) {
            drop_if_dead(&mut conn);
        }
        result
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// After an unavailability error: a PostgreSQL connection that no longer answers is
/// marked broken, so that the pool drops it (`has_broken`) and opens a new one
/// instead of handing the dead one to the next request. diesel marks most of them
/// itself (libpq reports an unknown transaction status); this catches the rest. Costs
/// one round trip, only on this failure path.
fn drop_if_dead(conn: &mut DbConnection) {
    if let DbConnection::Postgresql(c) = conn {
        if c.batch_execute("SELECT 1").is_err() {
            AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
        }
    }
}
