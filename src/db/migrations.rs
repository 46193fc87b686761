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

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    fn count(c: &mut diesel::SqliteConnection, sql: &str) -> i64 {
        use diesel::RunQueryDsl;
        diesel::sql_query(sql).get_result::<Count>(c).expect(sql).n
    }

    /// An in-memory SQLite database with foreign keys enforced (as the service's
    /// connections are), migrated up to and including `version`.
    fn migrated_through(version: &str) -> diesel::SqliteConnection {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        use diesel_migrations::MigrationHarness;

        let mut c = diesel::SqliteConnection::establish(":memory:").expect("memory database");
        c.batch_execute("PRAGMA foreign_keys = ON").expect("keys on");
        loop {
            let applied = c.applied_migrations().expect("applied");
            if applied.iter().any(|v| v.to_string() == version) {
                return c;
            }
            c.run_next_migration(super::SQLITE).expect("one migration");
        }
    }

    /// User 1, owner of approved merchant 1, in the columns every migration has.
    fn owner_and_shop(c: &mut diesel::SqliteConnection, at: &str) {
        use diesel::connection::SimpleConnection;
        c.batch_execute(&format!(
            "INSERT INTO users (id, phone, password_hash, display_name, role, created_at) \
                 VALUES (1, '13700000001', 'x', 'owner', 'resident', '{at}'); \
             INSERT INTO merchants (id, name, license_no, category, district, address, contact_phone, \
                                    status, owner_id, search_text, created_at) \
                 VALUES (1, 'shop', 'L1', 'books', 'd', 'a', '13700000001', 'approved', 1, 'shop', '{at}');"
        ))
        .expect("an owner and their shop");
    }

    /// Migration 000140 rebuilds `orders` on SQLite with foreign keys off: on a
    /// database that holds an order with a payment pointing at it (where the
    /// earlier `defer_foreign_keys` version failed at COMMIT), the order keeps its
    /// id, the keys hold and are enforced again, the new status is accepted, and
    /// the next order takes the next id.
    #[test]
    fn the_orders_rebuild_keeps_the_orders_and_payments_of_a_database_that_has_them() {
        use diesel::connection::SimpleConnection;
        use diesel_migrations::MigrationHarness;

        let mut c = migrated_through("20261202000133");
        let at = "2026-12-02 10:00:00";
        owner_and_shop(&mut c, at);
        c.batch_execute(&format!(
            "INSERT INTO offers (id, merchant_id, title, description, price_fen, stock, status, search_text, \
                                 created_at, updated_at) \
                 VALUES (1, 1, 'book', 'a book', 5000, NULL, 'active', 'book', '{at}', '{at}'); \
             INSERT INTO orders (id, user_id, merchant_id, offer_id, quantity, gross_fen, subsidy_fen, payable_fen, \
                                 status, redemption_code, created_at, payment_due_at, paid_at, redeemed_at) \
                 VALUES (5, 1, 1, 1, 1, 5000, 0, 5000, 'redeemed', '123456789012', '{at}', '{at}', '{at}', '{at}'); \
             INSERT INTO payments (id, order_id, provider, reference, amount_fen, kind, status, created_at, confirmed_at) \
                 VALUES (9, 5, 'sandbox', 'r1', 5000, 'payment', 'succeeded', '{at}', '{at}');"
        ))
        .expect("an order with its payment");

        c.run_pending_migrations(super::SQLITE)
            .expect("the rest, 000140 among them");

        assert_eq!(count(&mut c, "SELECT count(*) AS n FROM orders WHERE id = 5"), 1);
        assert_eq!(
            count(&mut c, "SELECT count(*) AS n FROM payments WHERE order_id = 5"),
            1
        );
        assert_eq!(count(&mut c, "SELECT count(*) AS n FROM pragma_foreign_key_check"), 0);
        assert_eq!(
            count(&mut c, "SELECT foreign_keys AS n FROM pragma_foreign_keys"),
            1,
            "enforcement is back on"
        );
        c.batch_execute("UPDATE orders SET status = 'reversed' WHERE id = 5")
            .expect("the status the rebuild added");
        c.batch_execute(&format!(
            "INSERT INTO orders (user_id, merchant_id, offer_id, quantity, gross_fen, subsidy_fen, payable_fen, \
                                 status, created_at, payment_due_at) \
                 VALUES (1, 1, 1, 1, 5000, 0, 5000, 'pending_payment', '{at}', '{at}')"
        ))
        .expect("a new order");
        assert_eq!(count(&mut c, "SELECT max(id) AS n FROM orders"), 6);
        let orphan = c.batch_execute(&format!(
            "INSERT INTO payments (order_id, provider, reference, amount_fen, kind, status, created_at) \
                 VALUES (99, 'sandbox', 'r2', 1, 'payment', 'pending', '{at}')"
        ));
        assert!(orphan.is_err(), "a payment of no order is refused");
    }

    /// Migration 000280 rebuilds `webhook_events` on SQLite with foreign keys off:
    /// on a database that holds an event with its delivery and attempt, every row
    /// keeps its id, the keys hold, enforcement is back on, and the unique index and
    /// the AUTOINCREMENT counter are gone; a new event takes the next id.
    #[test]
    fn the_lighter_webhook_events_keep_every_event_of_a_database_that_has_them() {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        use diesel_migrations::MigrationHarness;

        let mut c = migrated_through("20261203000270");
        let at = "2026-12-04 10:00:00";
        owner_and_shop(&mut c, at);
        c.batch_execute(&format!(
            "INSERT INTO webhooks (id, merchant_id, url, secret, created_at) \
                 VALUES (1, 1, 'https://example.com/hook', 's', '{at}'); \
             INSERT INTO webhook_events (id, public_id, merchant_id, event_type, body, created_at) \
                 VALUES (7, 'evt_a', 1, 'order.paid', '{{}}', '{at}'); \
             INSERT INTO webhook_deliveries (id, event_id, webhook_id, status, attempts, next_attempt_at, created_at) \
                 VALUES (3, 7, 1, 'delivered', 1, '{at}', '{at}'); \
             INSERT INTO webhook_attempts (delivery_id, webhook_id, event_id, attempted_at, status_code, duration_ms) \
                 VALUES (3, 1, 7, '{at}', 200, 4);"
        ))
        .expect("an event with its delivery and attempt");

        c.run_pending_migrations(super::SQLITE)
            .expect("the rest, 000280 among them");

        assert_eq!(
            count(
                &mut c,
                "SELECT count(*) AS n FROM webhook_events WHERE id = 7 AND public_id = 'evt_a'"
            ),
            1
        );
        assert_eq!(count(&mut c, "SELECT count(*) AS n FROM pragma_foreign_key_check"), 0);
        assert_eq!(
            count(&mut c, "SELECT foreign_keys AS n FROM pragma_foreign_keys"),
            1,
            "enforcement is back on"
        );
        let indexes = "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_events'";
        assert_eq!(count(&mut c, indexes), 0, "no index on public_id");
        let counter = "SELECT count(*) AS n FROM sqlite_sequence WHERE name = 'webhook_events'";
        assert_eq!(count(&mut c, counter), 0, "no AUTOINCREMENT counter");
        diesel::sql_query(
            "INSERT INTO webhook_events (public_id, merchant_id, event_type, body, created_at) \
             VALUES (?, 1, 'order.redeemed', '{}', '2026-12-04 10:01:00')",
        )
        .bind::<Text, _>("evt_b")
        .execute(&mut c)
        .expect("a new event");
        assert_eq!(
            count(&mut c, "SELECT id AS n FROM webhook_events WHERE public_id = 'evt_b'"),
            8
        );
        // The old keys still point at the rebuilt table.
        let orphan = diesel::sql_query(
            "INSERT INTO webhook_deliveries (event_id, webhook_id, status, attempts, next_attempt_at, created_at) \
             VALUES (99, 1, 'pending', 0, '2026-12-04 10:01:00', '2026-12-04 10:01:00')",
        )
        .execute(&mut c);
        assert!(orphan.is_err(), "a delivery of no event is refused");
    }
}
