//! `wenlv seed-demo`: fills an empty database with a Langfang-scale city, so a
//! newcomer can open the dashboard on something worth looking at: the configured
//! districts, 2,035 approved merchants (and a few waiting for review) with about
//! 20,000 offers, 250,000 residents, five campaigns (one ended, three active, one
//! draft) with their batches and claimed vouchers, and 56,000 orders over the last
//! year, busier at weekends.
//!
//! The rows come from [`plan::generate`], which keeps DESIGN.md's invariants by
//! construction, and are written in ONE write transaction that first checks the
//! database is still empty: the database is either seeded whole or left untouched.
//! Rows go in with multi-row INSERTs on each engine's own connection (diesel's
//! multi-connection cannot batch), with explicit ids; PostgreSQL's id sequences are
//! moved past them afterwards so the service's own inserts continue from there.
//! Residents share one password hash (argon2 costs tens of milliseconds a hash).

pub mod lottery;
pub mod plan;
mod progress;
mod rows;

use std::time::Instant;

use chrono::{Duration, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::auth::password::PasswordHashing;
use crate::config::Settings;
use crate::db::schema::{
    audit_log, campaigns, merchant_members, merchants, offers, orders, payments, users, voucher_batches, vouchers,
};
use crate::db::{write_tx, DbConnection};
use plan::residents;
pub use plan::DemoSize;
use progress::Progress;

/// Rows per INSERT: the widest row (orders, 18 columns) stays far below both
/// engines' limit on bind parameters.
const CHUNK: usize = 1000;

/// The seed of the generator: every run makes the same city.
const SEED: u64 = 20_261_126;

pub struct DemoOptions {
    pub size: DemoSize,
    pub admin_phone: String,
    pub admin_password: String,
    /// The one password every demo resident and merchant owner has.
    pub resident_password: String,
    /// No progress bar (tests).
    pub quiet: bool,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub users: u64,
    pub merchants: u64,
    pub offers: u64,
    pub campaigns: u64,
    pub batches: u64,
    pub vouchers: u64,
    pub orders: u64,
    pub first_resident_phone: String,
    pub last_resident_phone: String,
    /// The drawn lottery campaign ([`lottery`]): its orders are not in `orders`.
    pub lottery: lottery::LotterySummary,
    pub elapsed: std::time::Duration,
}

/// How many users and merchants exist: the demo only fills an empty database.
fn existing(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    let u = users::table.count().get_result(conn)?;
    let m = merchants::table.count().get_result(conn)?;
    Ok((u, m))
}

fn refuse_unless_empty(conn: &mut DbConnection) -> anyhow::Result<()> {
    let (u, m) = existing(conn)?;
    if u > 0 || m > 0 {
        anyhow::bail!(
            "the database is not empty ({u} users, {m} merchants): seed-demo only fills an empty database. \
             Point DATABASE_URL at a new SQLite file (e.g. DATABASE_URL=data/demo.db) or an empty PostgreSQL database."
        );
    }
    Ok(())
}

/// [`crate::db::insert_rows!`] in the demo's chunks.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        $crate::db::insert_rows!($conn, $table, $rows, $crate::demo::CHUNK)
    };
}
use insert_rows;

/// [`insert_rows!`], advancing the bar.
macro_rules! insert_chunks {
    ($conn:expr, $progress:expr, $table:expr, $rows:expr) => {
        $crate::db::insert_rows!($conn, $table, $rows, $crate::demo::CHUNK, |n| $progress.advance(n))
    };
}

/// Seeds the database behind `conn` (migrated already). Fails, writing nothing, when
/// any user or merchant exists.
pub fn seed(conn: &mut DbConnection, settings: &Settings, options: &DemoOptions) -> anyhow::Result<DemoSummary> {
    seed_as_of(conn, settings, options, crate::time::now())
}

/// [`seed`] as if it ran at `now`: the city is generated relative to the moment it
/// is seeded, and the moment steers its random stream, so tests that judge what
/// the demo shows try several.
pub fn seed_as_of(
    conn: &mut DbConnection,
    settings: &Settings,
    options: &DemoOptions,
    now: NaiveDateTime,
) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    if options.size.residents < 1 || options.size.approved_merchants < 1 {
        anyhow::bail!("the demo needs at least one resident and one approved merchant");
    }
    let tz: Tz = settings
        .platform
        .timezone
        .parse()
        .map_err(|e| anyhow::anyhow!("platform.timezone {:?}: {e}", settings.platform.timezone))?;
    // Fail fast, before the slow part; checked again inside the transaction.
    refuse_unless_empty(conn)?;

    let hashing = PasswordHashing::new(settings.auth.argon2)?;
    let admin_hash = hashing.hash_blocking(&options.admin_password)?;
    let shared_hash = hashing.hash_blocking(&options.resident_password)?;

    let now = now.with_nanosecond(0).unwrap_or(now);
    let data = plan::generate(
        options.size,
        &settings.platform.districts,
        tz,
        now,
        Duration::seconds(settings.orders.payment_timeout),
        SEED,
    )?;
    let mut progress = Progress::new(data.row_count(), options.quiet);
    let summary = DemoSummary {
        users: data.people.count() as u64,
        merchants: data.merchants.len() as u64,
        offers: data.offers.len() as u64,
        campaigns: data.campaigns.len() as u64,
        batches: data.batches.len() as u64,
        vouchers: data.vouchers.len() as u64,
        orders: data.orders.len() as u64,
        first_resident_phone: residents::resident_phone(1),
        last_resident_phone: residents::resident_phone(options.size.residents),
        lottery: lottery::LotterySummary::default(),
        elapsed: std::time::Duration::ZERO,
    };

    let people = &data.people;
    write_tx(conn, |conn| -> anyhow::Result<()> {
        refuse_unless_empty(conn)?;

        progress.stage("users");
        let admin = residents::admin(&options.admin_phone, &admin_hash, people.users_created_at);
        insert_chunks!(conn, progress, users::table, [admin]);
        let owners = residents::owners(&data.merchants, people.owner_ids.start, &shared_hash);
        insert_chunks!(conn, progress, users::table, owners);
        let mut id = people.resident_ids.start;
        while id < people.resident_ids.end {
            let end = (id + CHUNK as i64).min(people.resident_ids.end);
            insert_chunks!(
                conn,
                progress,
                users::table,
                residents::residents(people, id..end, &shared_hash)
            );
            id = end;
        }

        progress.stage("merchants and offers");
        insert_chunks!(conn, progress, merchants::table, data.merchants);
        insert_chunks!(conn, progress, merchant_members::table, data.members);
        insert_chunks!(conn, progress, offers::table, data.offers);

        progress.stage("campaigns and vouchers");
        insert_chunks!(conn, progress, campaigns::table, data.campaigns);
        insert_chunks!(conn, progress, voucher_batches::table, data.batches);
        // `vouchers.order_id` has no foreign key, so vouchers go in before their orders.
        insert_chunks!(conn, progress, vouchers::table, data.vouchers);

        progress.stage("orders and payments");
        insert_chunks!(conn, progress, orders::table, data.orders);
        insert_chunks!(conn, progress, payments::table, data.payments);
        insert_chunks!(conn, progress, audit_log::table, data.audits);

        if let DbConnection::Postgresql(_) = conn {
            advance_sequences(conn)?;
        }
        Ok(())
    })?;

    // The lottery campaign goes through the service's own functions, each its own
    // transaction, so it comes after the one transaction above.
    progress.stage("lottery: entries, the draw, the month since");
    let lottery = lottery::seed(conn, settings, options.size.residents, now, SEED)?;

    // The report rollups are kept by pay and refund; rows written here bypassed
    // them, so they are recomputed from the orders (in their own transaction).
    progress.stage("report rollups");
    crate::reports::rollup::rebuild(conn, tz)?;
    progress.finish();

    Ok(DemoSummary {
        lottery,
        elapsed: started.elapsed(),
        ..summary
    })
}

/// PostgreSQL's `BIGSERIAL` sequences do not see explicit ids: move each past the
/// largest id, so the service's next insert does not collide.
pub(super) fn advance_sequences(conn: &mut DbConnection) -> QueryResult<()> {
    for table in [
        "users",
        "merchants",
        "audit_log",
        "offers",
        "campaigns",
        "voucher_batches",
        "vouchers",
        "orders",
        "payments",
    ] {
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        ))
        .execute(conn)?;
    }
    Ok(())
}
