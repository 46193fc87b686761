//! SQLite's WAL checkpoints, off the request path.
//!
//! In WAL mode every commit appends the pages it dirtied to the WAL, and a
//! checkpoint copies them back into the database file. By default SQLite makes the
//! connection whose commit takes the WAL past `wal_autocheckpoint` pages run the
//! checkpoint before its statement returns, so one request in every few hundred
//! waits for a thousand pages to be copied and both files synced. Measured in
//! `benches/webhooks.rs` (SQLite, 32 clients): those requests were the p99, and a
//! change that dirties more pages per transaction (a webhook event) makes them
//! more frequent, so the p99 moved with every page. With no checkpoint on the
//! request path the p99 of a redemption halved (23 to 10.5 ms), on both sides.
//!
//! So, with `database.sqlite_checkpoint_interval_ms` > 0, the service's
//! connections never checkpoint (`PRAGMA wal_autocheckpoint = 0`), and this
//! module's thread, on a connection of its own, runs a PASSIVE checkpoint at that
//! interval: it copies what no reader still needs and never waits for, or blocks,
//! a reader or a writer. The WAL then stays at about one interval's writes; once
//! a checkpoint has copied all of it, the next writer starts it again from the top.
//!
//! Several processes on one file each run a checkpointer; SQLite lets one
//! checkpoint run at a time and answers the others "busy", which is skipped (the
//! next tick checkpoints). PostgreSQL has its own checkpointer: nothing runs there.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Integer;

use super::{ConnectionManager, DbConnection, Engine};
use crate::config::DatabaseSettings;

/// What `PRAGMA wal_checkpoint` answered: whether another checkpoint was running,
/// the WAL's frames and how many of them are now in the database file.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct WalState {
    #[diesel(sql_type = Integer)]
    pub busy: i32,
    #[diesel(sql_type = Integer)]
    pub log: i32,
    #[diesel(sql_type = Integer)]
    pub checkpointed: i32,
}

/// Runs one PASSIVE checkpoint on `conn` (SQLite).
pub fn checkpoint_once(conn: &mut DbConnection) -> QueryResult<WalState> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)
}

/// Whether `settings` ask for the background checkpointer: SQLite with an interval.
pub fn in_background(settings: &DatabaseSettings) -> bool {
    settings.engine() == Engine::Sqlite && settings.sqlite_checkpoint_interval_ms > 0
}

/// The running checkpointer thread; [`Checkpointer::stop`] ends it.
pub struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread when [`in_background`]; `None` otherwise.
    pub fn start(settings: &DatabaseSettings) -> anyhow::Result<Option<Checkpointer>> {
        if !in_background(settings) {
            return Ok(None);
        }
        let manager = ConnectionManager::new(&settings.url, settings.sqlite_busy_timeout_ms);
        let interval = Duration::from_millis(settings.sqlite_checkpoint_interval_ms);
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(&manager, interval, &stopped))?;
        Ok(Some(Checkpointer { stop, thread }))
    }

    /// Ends the thread after the checkpoint it may be in, with a last one, so a
    /// stopped service leaves its WAL copied back.
    pub fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::error!("the SQLite checkpointer thread panicked");
        }
    }
}

/// The thread: a checkpoint every `interval` until told to stop (or its owner is
/// gone), then one more. A failed checkpoint is logged and the next tick tries
/// again; a lost connection is opened again.
fn run(manager: &ConnectionManager, interval: Duration, stopped: &mpsc::Receiver<()>) {
    let mut conn: Option<DbConnection> = None;
    loop {
        let last = !matches!(stopped.recv_timeout(interval), Err(mpsc::RecvTimeoutError::Timeout));
        if conn.is_none() {
            conn = manager
                .establish()
                .map_err(|error| tracing::warn!(error = %error, "checkpointer cannot connect"))
                .ok();
        }
        if let Some(c) = conn.as_mut() {
            let started = Instant::now();
            match checkpoint_once(c) {
                Ok(state) => crate::metrics::sqlite_checkpoint(started.elapsed(), state.log, state.busy != 0),
                Err(error) => {
                    tracing::warn!(error = %error, "SQLite checkpoint failed");
                    conn = None;
                }
            }
        }
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;

    fn settings(url: &str, interval_ms: u64) -> DatabaseSettings {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut settings = crate::config::load_from(&dir, "test", false)
            .expect("settings")
            .database;
        settings.url = url.to_owned();
        settings.sqlite_checkpoint_interval_ms = interval_ms;
        settings
    }

    /// A connection as the service's pools open them.
    fn service_connection(settings: &DatabaseSettings) -> DbConnection {
        ConnectionManager::for_service(settings).establish().expect("connects")
    }

    #[derive(QueryableByName)]
    struct Pages {
        #[diesel(sql_type = Integer)]
        wal_autocheckpoint: i32,
    }

    /// About 4 MB of rows, in many small transactions, as requests write.
    fn write_rows(conn: &mut DbConnection, from: i64) {
        for i in from..from + 200 {
            conn.batch_execute(&format!("INSERT INTO t (id, pad) VALUES ({i}, zeroblob(20000))"))
                .expect("insert");
        }
    }

    fn database_file_bytes(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// Waits (at most 30 s: a functional wait, not a speed check) for the database
    /// file to hold what was written.
    fn wait_for_file_over(path: &std::path::Path, bytes: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if database_file_bytes(path) > bytes {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn with_the_checkpointer_the_service_connections_never_checkpoint_and_its_thread_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let settings = settings(path.to_str().expect("utf-8 path"), 20);
        assert!(in_background(&settings));
        let mut conn = service_connection(&settings);
        let pages: Pages = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut conn)
            .expect("pragma");
        assert_eq!(pages.wal_autocheckpoint, 0, "requests leave checkpoints to the thread");
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)")
            .expect("table");
        write_rows(&mut conn, 0);
        // Nothing has copied the WAL back: the rows are all in it.
        assert!(database_file_bytes(&path) < 1_000_000, "no connection checkpointed");

        let checkpointer = Checkpointer::start(&settings).expect("starts").expect("runs on SQLite");
        assert!(
            wait_for_file_over(&path, 4_000_000),
            "the thread copied the WAL into the database file"
        );
        write_rows(&mut conn, 1_000);
        checkpointer.stop();
        // Its last checkpoint on the way out left nothing behind.
        let state = checkpoint_once(&mut conn).expect("checkpoint");
        assert_eq!(
            state.log, state.checkpointed,
            "the WAL was all copied when the thread stopped"
        );
        assert!(database_file_bytes(&path) > 8_000_000);
    }

    #[test]
    fn without_an_interval_connections_checkpoint_themselves_and_no_thread_runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let settings = settings(path.to_str().expect("utf-8 path"), 0);
        assert!(Checkpointer::start(&settings).expect("no error").is_none());
        let mut conn = service_connection(&settings);
        let pages: Pages = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut conn)
            .expect("pragma");
        assert_eq!(
            i64::from(pages.wal_autocheckpoint),
            i64::from(settings.sqlite_wal_autocheckpoint_pages)
        );
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)")
            .expect("table");
        // Twice SQLite's 1,000 pages of WAL.
        write_rows(&mut conn, 0);
        write_rows(&mut conn, 1_000);
        assert!(
            database_file_bytes(&path) > 4_000_000,
            "the committing connection checkpointed"
        );
    }

    /// Two instances on one file, each with its checkpointer, beside writers of
    /// both: every row is there, the file is sound, and the WAL ends copied back.
    #[test]
    fn two_instances_checkpointers_on_one_file_lose_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let settings = settings(path.to_str().expect("utf-8 path"), 1);
        let mut setup = service_connection(&settings);
        setup
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)")
            .expect("table");
        let (first, second) = (
            Checkpointer::start(&settings).expect("starts").expect("runs"),
            Checkpointer::start(&settings).expect("starts").expect("runs"),
        );
        let writers: Vec<_> = (0..2_i64)
            .map(|w| {
                let settings = settings.clone();
                std::thread::spawn(move || {
                    let mut conn = service_connection(&settings);
                    for round in 0..3 {
                        write_rows(&mut conn, w * 10_000 + round * 1_000);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        first.stop();
        second.stop();
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Count = diesel::sql_query("SELECT count(*) AS n FROM t")
            .get_result(&mut setup)
            .expect("count");
        assert_eq!(rows.n, 2 * 3 * 200);
        #[derive(QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let check: Check = diesel::sql_query("PRAGMA integrity_check")
            .get_result(&mut setup)
            .expect("check");
        assert_eq!(check.integrity_check, "ok");
        let state = checkpoint_once(&mut setup).expect("checkpoint");
        assert_eq!(state.log, state.checkpointed, "the WAL was all copied");
    }
}
