//! Embedded migrations, one tree per engine with identical names
//! (`migrations/sqlite`, `migrations/postgres`); a test below fails when they drift.
//!
//! Several instances may start at once against one PostgreSQL database, so the
//! PostgreSQL run holds an advisory lock while it migrates.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConnection;

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An arbitrary constant naming wenlv's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x0077_656e_6c76;

/// Applies every pending migration; returns how many were applied.
pub fn run_pending(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map_err(|e| anyhow::anyhow!("sqlite migration failed: {e}"))?
            .len(),
        DbConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map(|versions| versions.len())
                .map_err(|e| anyhow::anyhow!("postgres migration failed: {e}"));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            result?
        }
    };
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn names(engine: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine);
        std::fs::read_dir(&dir)
            .expect("migrations directory exists")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn both_engines_have_the_same_migrations() {
        let sqlite = names("sqlite");
        let postgres = names("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres drifted apart"
        );
        for name in &sqlite {
            for engine in ["sqlite", "postgres"] {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(engine)
                    .join(name);
                assert!(dir.join("up.sql").is_file(), "{engine}/{name} has no up.sql");
                assert!(dir.join("down.sql").is_file(), "{engine}/{name} has no down.sql");
            }
        }
    }
}
