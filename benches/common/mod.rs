//! Shared by the load benchmarks: a fresh database on either engine, the real
//! service in-process on a random port, an HTTP driver with C concurrent clients,
//! a direct-database driver with the same number of connections, and the report
//! that prints both figures and their ratio.
//!
//! Arguments are `--key value` pairs after `--` (cargo adds `--bench`, ignored):
//! `--engine sqlite|postgres` (default sqlite); PostgreSQL is reached at
//! `BENCH_PG_URL` (default `postgres://postgres@127.0.0.1:5432`), in a fresh
//! database dropped at the end.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::PgConnection;
use wenlv::auth::jwt::TokenKeys;
use wenlv::campaigns::repo::{self as campaigns, BatchDraft, CampaignDraft, Move};
use wenlv::config::{self, Settings};
use wenlv::db::schema::users;
use wenlv::db::{ConnectionManager, DbConnection, Engine};
use wenlv::startup::Application;

pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    pub fn parse() -> Args {
        let raw: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
        let mut values = HashMap::new();
        let mut iter = raw.into_iter();
        while let Some(key) = iter.next() {
            if let Some(name) = key.strip_prefix("--") {
                let value = iter.next().unwrap_or_else(|| "true".to_owned());
                values.insert(name.to_owned(), value);
            }
        }
        Args { values }
    }

    pub fn get<T: FromStr>(&self, key: &str, default: T) -> T {
        match self.values.get(key) {
            Some(v) => v.parse().unwrap_or_else(|_| panic!("--{key} {v:?} does not parse")),
            None => default,
        }
    }

    pub fn engine(&self) -> Engine {
        match self.values.get("engine").map(String::as_str) {
            None | Some("sqlite") => Engine::Sqlite,
            Some("postgres") | Some("postgresql") => Engine::Postgres,
            Some(other) => panic!("--engine {other:?}: use sqlite or postgres"),
        }
    }
}

/// A fresh database for one benchmark run; a PostgreSQL one is dropped at the end.
pub struct BenchDb {
    pub url: String,
    pub engine: Engine,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    pub fn fresh(engine: Engine) -> BenchDb {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("bench.db").to_string_lossy().into_owned();
                BenchDb {
                    url,
                    engine,
                    pg: None,
                    _dir: Some(dir),
                }
            }
            Engine::Postgres => {
                let server =
                    std::env::var("BENCH_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
                let name = format!("wenlv_bench_{}", std::process::id());
                let mut conn = PgConnection::establish(&format!("{server}/postgres")).expect("PostgreSQL reachable");
                // Two calls: sent as one string, PostgreSQL runs both in one implicit
                // transaction, where DROP DATABASE is refused.
                conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .expect("drop old bench database");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create bench database");
                BenchDb {
                    url: format!("{server}/{name}"),
                    engine,
                    pg: Some((server, name)),
                    _dir: None,
                }
            }
        }
    }

    /// A new direct connection with the service's own settings (pragmas included).
    pub fn connect(&self) -> DbConnection {
        ConnectionManager::new(&self.url, 5000)
            .establish()
            .expect("direct connection")
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.pg {
            if let Ok(mut conn) = PgConnection::establish(&format!("{server}/postgres")) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The production-like defaults (`config/default.toml`: real argon2 cost), on this
/// database, on a random port, with rate limiting off (API.md: for load tests).
pub fn settings(db: &BenchDb) -> Settings {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = config::load_from(&dir, "bench", false).expect("config loads");
    settings.database.url = db.url.clone();
    settings.server.port = 0;
    settings.rate_limit.enabled = false;
    settings.log.level = "warn".to_owned();
    settings
}

/// Migrates the database and serves it in this process; returns the base URL.
pub fn spawn(settings: Settings) -> String {
    let app = Application::build(settings).expect("service builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

/// What a run measured: wall time, each job's latency, and outcomes by label.
#[derive(Default)]
pub struct Stats {
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    pub outcomes: BTreeMap<String, usize>,
}

impl Stats {
    pub fn jobs(&self) -> usize {
        self.latencies.len()
    }

    pub fn rate(&self) -> f64 {
        self.jobs() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    }

    pub fn count(&self, outcome: &str) -> usize {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }

    pub fn summary(&self) -> String {
        let outcomes: Vec<String> = self.outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!(
            "{:>9.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} in {:.2} s; {})",
            self.rate(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            self.jobs(),
            self.elapsed.as_secs_f64(),
            outcomes.join(", ")
        )
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `jobs` HTTP jobs from `concurrency` clients; each job returns its outcome
/// label (usually the status code).
pub async fn drive_http<F, Fut>(concurrency: usize, jobs: usize, job: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = String> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    break;
                }
                let t = Instant::now();
                let outcome = job(i).await;
                local.latencies.push(t.elapsed());
                *local.outcomes.entry(outcome).or_default() += 1;
            }
            local
        }));
    }
    let mut stats = Stats::default();
    for task in tasks {
        let local = task.await.expect("client task");
        stats.latencies.extend(local.latencies);
        for (k, v) in local.outcomes {
            *stats.outcomes.entry(k).or_default() += v;
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

/// Runs `jobs` jobs straight against the database from `connections` threads, each
/// with its own connection: the baseline a service figure is compared with.
pub fn drive_direct<F>(db: &BenchDb, connections: usize, jobs: usize, job: F) -> Stats
where
    F: Fn(usize, &mut DbConnection) -> String + Sync,
{
    let next = AtomicUsize::new(0);
    let merged = Mutex::new(Stats::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..connections {
            scope.spawn(|| {
                let mut conn = db.connect();
                let mut local = Stats::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs {
                        break;
                    }
                    let t = Instant::now();
                    let outcome = job(i, &mut conn);
                    local.latencies.push(t.elapsed());
                    *local.outcomes.entry(outcome).or_default() += 1;
                }
                let mut merged = merged.lock().expect("stats lock");
                merged.latencies.extend(local.latencies);
                for (k, v) in local.outcomes {
                    *merged.outcomes.entry(k).or_default() += v;
                }
            });
        }
    });
    let mut stats = merged.into_inner().expect("stats lock");
    stats.elapsed = started.elapsed();
    stats
}

/// Prints the two figures, their ratio, and whether the ratio meets `goal`.
pub fn report(title: &str, service: &Stats, baseline: &Stats, goal: f64) -> f64 {
    let ratio = service.rate() / baseline.rate();
    println!("{title}");
    println!("  service  {}", service.summary());
    println!("  baseline {}", baseline.summary());
    println!(
        "  ratio service/baseline = {ratio:.2} (goal >= {goal:.2}: {})",
        if ratio >= goal { "met" } else { "NOT met" }
    );
    ratio
}

/// A timestamp as SQL text for the bulk loaders' literal rows.
pub fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Inserts the rows `row(i)` for `i` in `0..count` with multi-row INSERTs of 500
/// inside one transaction (set-up data, not timed). `N` is whatever index type the
/// caller's rows are numbered with.
pub fn bulk<N>(conn: &mut DbConnection, table_and_columns: &str, count: N, row: impl Fn(N) -> String)
where
    N: Copy + Ord + std::ops::Add<Output = N> + From<u8>,
{
    const ROWS_PER_INSERT: usize = 500;
    conn.batch_execute("BEGIN").expect("begin");
    let mut i = N::from(0);
    while i < count {
        let mut values = Vec::with_capacity(ROWS_PER_INSERT);
        while i < count && values.len() < ROWS_PER_INSERT {
            values.push(row(i));
            i = i + N::from(1);
        }
        conn.batch_execute(&format!("INSERT INTO {table_and_columns} VALUES {}", values.join(",")))
            .expect("bulk insert");
    }
    conn.batch_execute("COMMIT").expect("commit");
}

/// Inserts `count` users with `role` (phones numbered from `offset`) in one
/// transaction, with multi-row INSERTs on each engine's own connection, and returns
/// their ids in phone order. Nobody can sign in as them: the benchmarks mint their
/// tokens directly ([`tokens_for`]), so argon2 is not what they measure.
pub fn insert_users(conn: &mut DbConnection, count: usize, role: &str, offset: usize) -> Vec<i64> {
    const ROWS_PER_INSERT: usize = 5_000;
    let now = wenlv::time::now();
    let phone = |i: usize| format!("136{:08}", offset + i);
    wenlv::db::write_tx(conn, |c| -> QueryResult<()> {
        for start in (0..count).step_by(ROWS_PER_INSERT) {
            let rows: Vec<_> = (start..(start + ROWS_PER_INSERT).min(count))
                .map(|i| {
                    (
                        users::phone.eq(phone(i)),
                        users::password_hash.eq("not-a-login-account"),
                        users::display_name.eq("bench"),
                        users::role.eq(role),
                        users::created_at.eq(now),
                    )
                })
                .collect();
            // diesel's multi-connection has no multi-row INSERT: each engine's own.
            match c {
                DbConnection::Postgresql(pg) => diesel::insert_into(users::table).values(&rows).execute(pg)?,
                DbConnection::Sqlite(lite) => diesel::insert_into(users::table).values(&rows).execute(lite)?,
            };
        }
        Ok(())
    })
    .expect("insert users");
    if count == 0 {
        return Vec::new();
    }
    users::table
        .filter(users::phone.ge(phone(0)))
        .filter(users::phone.le(phone(count - 1)))
        .order(users::phone.asc())
        .select(users::id)
        .load(conn)
        .expect("user ids")
}

/// A claim answer's label: the status, and the problem code of a 409 or 503 (found
/// in the body as text: parsing JSON here would bill the client's work to the
/// sold-out figure, which the HTTP floor does not pay).
pub async fn label(response: reqwest::Result<reqwest::Response>) -> String {
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap_or_default();
            if status == 201 {
                return "201".to_owned();
            }
            let text = String::from_utf8_lossy(&body);
            let code = text
                .split_once("\"code\":\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(code, _)| code)
                .unwrap_or("");
            format!("{status} {code}")
        }
        Err(e) => transport_error(&e),
    }
}

/// `error: <the innermost cause>` of a request that got no HTTP answer (a reset or
/// closed connection, a refused connect): few distinct texts, so outcomes stay few.
pub fn transport_error(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("error: {cause}")
}

/// Residents' access tokens, minted with the service's own keys as a login would.
pub fn tokens_for(settings: &Settings, user_ids: &[i64]) -> Vec<String> {
    let keys = TokenKeys::new(&settings.auth);
    user_ids
        .iter()
        .map(|id| keys.issue(*id, wenlv::domain::Role::Resident).expect("token"))
        .collect()
}

/// An active campaign with two identical "100 off 30" batches of `quantity`, one per
/// resident: one for the run through the service, one for the direct run; their
/// stock spread over `stock_shards` rows each (1: one row).
pub fn campaign_with_twin_batches(
    conn: &mut DbConnection,
    admin: i64,
    name: &str,
    quantity: i64,
    stock_shards: usize,
) -> (i64, i64) {
    let now = wenlv::time::now();
    let draft = CampaignDraft {
        name: name.to_owned(),
        description: String::new(),
        budget_fen: 1_000_000_000_000,
        target_leverage: 10.0,
        starts_at: now - Span::hours(1),
        ends_at: now + Span::days(30),
        eligible_categories: Vec::new(),
        eligible_districts: Vec::new(),
        require_real_name: false,
        refund_returns_voucher: false,
    };
    let campaign = campaigns::create_campaign(conn, admin, &draft).expect("campaign");
    campaigns::transition(conn, admin, campaign.id, Move::Publish).expect("publish");
    let batch = BatchDraft {
        name: "满100减30".to_owned(),
        discount_fen: 3_000,
        min_spend_fen: 10_000,
        quantity,
        per_user_limit: 1,
        claim_starts_at: now - Span::minutes(30),
        claim_ends_at: now + Span::days(29),
        valid_days: 7,
        allocation: wenlv::campaigns::models::Allocation::FirstCome,
        daily_quantity: None,
        usable: wenlv::vouchers::usable::UsableWindow::default(),
    };
    let mut make = || {
        campaigns::create_batch(conn, admin, campaign.id, &batch, stock_shards)
            .expect("batch")
            .id
    };
    (make(), make())
}
