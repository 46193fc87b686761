//! Claim storm: N residents stampede one voucher batch (issue 11).
//!
//! `cargo bench --bench claim_storm -- [--engine sqlite|postgres] [--residents 20000]
//!  [--batch 10000] [--clients 64] [--instances 1] [--direct 1,8] [--stock-shards N]
//!  [--connections N] [--max-wait-ms N] [--checkpoint-ms N]`
//!
//! `--stock-shards` sets `claims.stock_shards` (default: the engine's, 8 on
//! PostgreSQL, 1 on SQLite); the release batch and the direct runs' batches are
//! made with that many stock shards, so the direct baseline runs the same claim.
//!
//! Set-up (not timed): N residents inserted directly, their access tokens minted
//! with the service's own `TokenKeys`, one active campaign per batch. Then, in one run:
//! 1. **Release** (timed): C concurrent clients, every resident claims once from one
//!    batch of `--batch` over HTTP, spread over `--instances` in-process instances
//!    on one database (each with its own claim desk, as separate processes would
//!    have). The claim phase lasts until the last 201: its rate (201s per second),
//!    p50/p99 of the answers in it; the answers after it form the sold-out tail.
//! 2. **Sold out** (timed): every resident claims once more from the drained batch
//!    (winners: `claim_limit_reached`, the others `sold_out`): answers from memory.
//! 3. **HTTP floor**: the same clients and request count on `GET /healthz`.
//! 4. **Best direct single claim**: the one-claim transaction
//!    (`vouchers::repo::claim`) straight against the database, one claim per
//!    resident on fresh batches, at each connection count of `--direct` (default
//!    SQLite 1,8 and PostgreSQL 8,16,64); the best is the baseline.
//!
//! Prints the ratios against the goals of issue 11, the mean claim group size, and
//! on PostgreSQL `lock_wait_share=`: of the service's backend samples inside a
//! transaction during the release (`pg_stat_activity` every 2 ms), the share waiting
//! on a row lock (`wait_event_type = 'Lock'`, `tuple` or `transactionid`). Counted in the database afterwards: exactly
//! `min(batch, residents)` issued per batch, nobody beyond `per_user_limit` (1), and
//! no 5xx other than 503 `overloaded`; the run fails otherwise.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ms, Args, BenchDb, Stats};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use wenlv::db::schema::vouchers;
use wenlv::db::{DbConnection, Engine};

/// One answer: when it arrived (from the start), how long it took, what it was.
struct Answer {
    done: Duration,
    latency: Duration,
    outcome: String,
}

/// Runs `jobs` requests from `concurrency` clients; `job(i)` sends request `i`.
async fn drive<F, Fut>(concurrency: usize, jobs: usize, job: F) -> Vec<Answer>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = String> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    break;
                }
                let t = Instant::now();
                let outcome = job(i).await;
                local.push(Answer {
                    done: started.elapsed(),
                    latency: t.elapsed(),
                    outcome,
                });
            }
            local
        }));
    }
    let mut all = Vec::with_capacity(jobs);
    for task in tasks {
        all.extend(task.await.expect("client task"));
    }
    all.sort_by_key(|a| a.done);
    all
}

/// The answers as a `Stats` over `elapsed`.
fn stats(answers: &[Answer], elapsed: Duration) -> Stats {
    let mut s = Stats {
        elapsed,
        ..Stats::default()
    };
    for a in answers {
        s.latencies.push(a.latency);
        *s.outcomes.entry(a.outcome.clone()).or_default() += 1;
    }
    s
}

fn issued(conn: &mut DbConnection, batch_id: i64) -> (i64, i64, i64) {
    let count: i64 = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .count()
        .get_result(conn)
        .expect("count vouchers");
    // The batch row's stock plus its shards' (`vouchers::stock`).
    let remaining = wenlv::vouchers::stock::remaining(conn, batch_id).expect("batch");
    let most: i64 = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .group_by(vouchers::user_id)
        .select(diesel::dsl::count_star())
        .load::<i64>(conn)
        .expect("per user")
        .into_iter()
        .max()
        .unwrap_or(0);
    (count, remaining, most)
}

/// Sum and count of a Prometheus histogram or summary in one service's `/metrics`.
async fn histogram(client: &reqwest::Client, address: &str, name: &str) -> (f64, f64) {
    let text = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let value = |suffix: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}_{suffix} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (value("sum"), value("count"))
}

/// The sum of every series of a counter in one service's `/metrics`.
async fn counter(client: &reqwest::Client, address: &str, name: &str) -> f64 {
    let text = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .filter(|l| l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b'{') | Some(b' ')))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[derive(QueryableByName)]
struct Backends {
    #[diesel(sql_type = BigInt)]
    waiting: i64,
    #[diesel(sql_type = BigInt)]
    in_transaction: i64,
}

/// CPU time used so far (clock ticks, `/proc`): this process (the instances and the
/// clients driving them), PostgreSQL's processes, and the machine (busy and idle).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    bench: u64,
    postgres: u64,
    busy: u64,
    idle: u64,
}

impl Cpu {
    fn now() -> Cpu {
        let times = |stat: &str| -> u64 {
            // After the ")" that ends the command come fields 3 (state) onwards:
            // utime and stime are fields 14 and 15.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let field = |n: usize| -> u64 {
                after
                    .split_whitespace()
                    .nth(n - 3)
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0)
            };
            field(14) + field(15)
        };
        let bench = std::fs::read_to_string("/proc/self/stat")
            .map(|s| times(&s))
            .unwrap_or(0);
        let mut postgres = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let dir = entry.path();
            let is_postgres = std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim() == "postgres");
            if is_postgres {
                postgres += std::fs::read_to_string(dir.join("stat"))
                    .map(|s| times(&s))
                    .unwrap_or(0);
            }
        }
        let line = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let all: Vec<u64> = line
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let idle = all.get(3).copied().unwrap_or(0) + all.get(4).copied().unwrap_or(0);
        Cpu {
            bench,
            postgres,
            busy: all.iter().sum::<u64>() - idle,
            idle,
        }
    }

    /// What was used between `self` and `later`, per claim, in ms of CPU.
    fn report(&self, later: &Cpu, claims: usize) -> String {
        let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 * 10.0 / claims.max(1) as f64;
        let (busy, idle) = (later.busy - self.busy, later.idle - self.idle);
        format!(
            "CPU per claim: {:.3} ms in this process (instances and clients), {:.3} ms in PostgreSQL; \
             machine {:.0}% busy",
            per(self.bench, later.bench),
            per(self.postgres, later.postgres),
            100.0 * busy as f64 / (busy + idle).max(1) as f64
        )
    }
}

/// Samples [`Cpu`] every 50 ms until `stop`, each with its time since `from`.
fn sample_cpu(from: Instant, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(Duration, Cpu)>> {
    std::thread::spawn(move || {
        let mut samples = vec![(from.elapsed(), Cpu::now())];
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            samples.push((from.elapsed(), Cpu::now()));
        }
        samples
    })
}

/// Lock waits seen in `pg_stat_activity` during the release.
#[derive(Default)]
struct LockSamples {
    /// Backend samples waiting on a row lock (`wait_event_type = 'Lock'`, `tuple` or
    /// `transactionid`: how a row lock held by another transaction is waited for).
    waiting: i64,
    /// Backend samples inside a transaction (`active` or `idle in transaction`).
    in_transaction: i64,
    samples: i64,
}

impl LockSamples {
    /// The share of the claims' time in the database spent waiting on a row lock.
    fn share(&self) -> f64 {
        self.waiting as f64 / self.in_transaction.max(1) as f64
    }
}

/// Samples `pg_stat_activity` every 2 ms until `stop`. During the release the only
/// client backends of the bench database in a transaction are the service's (the
/// bench's own connection is idle and the sampler excludes itself).
fn sample_locks(db: &BenchDb, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<LockSamples> {
    let mut conn = db.connect();
    std::thread::spawn(move || {
        let mut seen = LockSamples::default();
        while !stop.load(Ordering::Relaxed) {
            let sample: QueryResult<Backends> = diesel::sql_query(
                "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' \
                 AND wait_event IN ('tuple', 'transactionid')) AS waiting, \
                 count(*) FILTER (WHERE state IN ('active', 'idle in transaction')) AS in_transaction \
                 FROM pg_stat_activity WHERE datname = current_database() \
                 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
            .get_result(&mut conn);
            if let Ok(s) = sample {
                seen.waiting += s.waiting;
                seen.in_transaction += s.in_transaction;
                seen.samples += 1;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        seen
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    let residents: usize = args.get("residents", 20_000);
    let batch_size: i64 = args.get("batch", 10_000);
    let clients: usize = args.get("clients", 64);
    let instances: usize = args.get("instances", 1).max(1);
    let db = BenchDb::fresh(args.engine());
    let mut settings = common::settings(&db);
    settings.database.max_connections = args.get("connections", settings.database.max_connections);
    settings.claims.max_wait_ms = args.get("max-wait-ms", settings.claims.max_wait_ms);
    // SQLite: `--checkpoint-ms 0` puts checkpoints back on the committing connections.
    settings.database.sqlite_checkpoint_interval_ms =
        args.get("checkpoint-ms", settings.database.sqlite_checkpoint_interval_ms);
    // 0: the engine's default.
    let shards_asked: usize = args.get("stock-shards", 0);
    if shards_asked > 0 {
        settings.claims.stock_shards = Some(shards_asked);
    }
    let stock_shards = settings.claims.stock_shards_on(db.engine);
    let direct_default = match db.engine {
        Engine::Sqlite => "1,8",
        Engine::Postgres => "8,16,64",
    };
    let direct_counts: Vec<usize> = args
        .get("direct", direct_default.to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("--direct takes connection counts, e.g. 1,8"))
        .collect();
    println!(
        "claim-storm: {:?}, {residents} residents, batch of {batch_size}, {clients} clients, {instances} instance(s), \
         pool of {} connections each, {} HTTP workers each, claims.max_group {} max_wait_ms {} max_queue {} \
         stock_shards {stock_shards}",
        db.engine,
        settings.database.max_connections,
        settings.server.workers,
        settings.claims.max_group,
        settings.claims.max_wait_ms,
        settings.claims.max_queue,
    );
    let addresses: Arc<Vec<String>> = Arc::new((0..instances).map(|_| common::spawn(settings.clone())).collect());

    // --- set-up, not timed
    let mut conn = db.connect();
    let admin = common::insert_users(&mut conn, 1, "admin", 0)[0];
    let user_ids = common::insert_users(&mut conn, residents, "resident", 1);
    let tokens = Arc::new(common::tokens_for(&settings, &user_ids));
    let (release_batch, _) =
        common::campaign_with_twin_batches(&mut conn, admin, "claim storm", batch_size, stock_shards);
    // Idle connections are dropped well before the service's 5 s keep-alive closes
    // them: a request sent on a connection the server is closing at that instant
    // gets no answer ("connection closed before message completed"), a client race
    // and not a service failure.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 8)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let probe = reqwest::Client::new();
    let claim_url = |batch: i64| {
        Arc::new(
            addresses
                .iter()
                .map(|a| format!("{a}/api/v1/batches/{batch}/claim"))
                .collect::<Vec<_>>(),
        )
    };
    let claim_job = |urls: Arc<Vec<String>>| {
        let (client, tokens) = (client.clone(), tokens.clone());
        move |i: usize| {
            let (client, urls, tokens) = (client.clone(), urls.clone(), tokens.clone());
            async move {
                let url = &urls[i % urls.len()];
                common::label(client.post(url.as_str()).bearer_auth(&tokens[i]).send().await).await
            }
        }
    };

    // --- 1. the release
    let group_before = histogram(&probe, &addresses[0], "claim_group_size").await;
    let retries_before = counter(&probe, &addresses[0], "claim_group_retries_total").await;
    let tx_before = histogram(&probe, &addresses[0], "db_write_tx_seconds").await;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = (db.engine == Engine::Postgres).then(|| sample_locks(&db, stop.clone()));
    let started = Instant::now();
    let cpu_sampler = sample_cpu(started, stop.clone());
    let release = drive(clients, residents, claim_job(claim_url(release_batch))).await;
    let release_elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let locks = sampler.map(|s| s.join().expect("sampler"));
    let cpu_samples = cpu_sampler.join().expect("cpu sampler");
    let group_after = histogram(&probe, &addresses[0], "claim_group_size").await;
    let retries = counter(&probe, &addresses[0], "claim_group_retries_total").await - retries_before;
    let tx_after = histogram(&probe, &addresses[0], "db_write_tx_seconds").await;
    let (release_issued, release_remaining, release_most) = issued(&mut conn, release_batch);
    let last_201 = release
        .iter()
        .rposition(|a| a.outcome == "201")
        .expect("some claim succeeded");
    let claim_window = release[last_201].done;
    let claim_phase = stats(&release[..=last_201], claim_window);
    let tail = stats(&release[last_201 + 1..], release_elapsed.saturating_sub(claim_window));
    let claims_per_s = claim_phase.count("201") as f64 / claim_window.as_secs_f64();
    // The CPU of the claim phase alone: from the start to the sample nearest the last 201.
    let cpu_in_claims = {
        let end = cpu_samples
            .iter()
            .min_by_key(|&&(at, _)| at.max(claim_window) - at.min(claim_window))
            .map(|&(_, cpu)| cpu)
            .unwrap_or_default();
        cpu_samples[0].1.report(&end, claim_phase.count("201"))
    };

    // --- 2. the drained batch again: answers from memory
    let memory_before = counter(&probe, &addresses[0], "claims_answered_from_memory_total").await;
    let drained = drive(clients, residents, claim_job(claim_url(release_batch))).await;
    let memory_after = counter(&probe, &addresses[0], "claims_answered_from_memory_total").await;
    let drained_elapsed = drained.last().map(|a| a.done).unwrap_or_default();
    let sold_out = stats(&drained, drained_elapsed);

    // --- 3. the HTTP floor: GET /healthz, same clients and count
    let floor_urls = Arc::new(addresses.iter().map(|a| format!("{a}/healthz")).collect::<Vec<_>>());
    let floor_client = client.clone();
    let floor_answers = drive(clients, residents, move |i| {
        let (client, urls) = (floor_client.clone(), floor_urls.clone());
        async move {
            match client.get(urls[i % urls.len()].as_str()).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status.to_string()
                }
                Err(e) => common::transport_error(&e),
            }
        }
    })
    .await;
    let floor = stats(&floor_answers, floor_answers.last().map(|a| a.done).unwrap_or_default());

    // --- 4. the best direct single claim on this engine
    let direct_jobs = residents.min(batch_size as usize);
    let mut direct: Vec<(usize, Stats, (i64, i64, i64))> = Vec::new();
    for &connections in &direct_counts {
        let (batch, _) = common::campaign_with_twin_batches(&mut conn, admin, "direct", batch_size, stock_shards);
        let ids = user_ids.clone();
        let clock = wenlv::time::Clock::system(chrono_tz::Asia::Shanghai);
        let run = tokio::task::block_in_place(|| {
            common::drive_direct(
                &db,
                connections,
                direct_jobs,
                |i, c| match wenlv::vouchers::repo::claim(c, &clock, batch, ids[i]) {
                    Ok(_) => "201".to_owned(),
                    Err(e) => e.code().as_str().to_owned(),
                },
            )
        });
        let counts = issued(&mut conn, batch);
        direct.push((connections, run, counts));
    }
    let best = direct
        .iter()
        .max_by(|a, b| a.1.rate().total_cmp(&b.1.rate()))
        .expect("a direct run");

    // --- report
    let errors = |answers: &[Answer]| {
        answers
            .iter()
            .filter(|a| (a.outcome.starts_with('5') && a.outcome != "503 overloaded") || a.outcome.starts_with("error"))
            .count()
    };
    let ratio = claims_per_s / best.1.rate();
    let sold_out_ratio = sold_out.rate() / floor.rate();
    let (claim_goal, p99_goal) = match db.engine {
        Engine::Sqlite => (0.7, Some(50.0)),
        Engine::Postgres => (2.0, None),
    };
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!();
    println!(
        "release: {:.0} claims/s over {:.2} s to the last 201; answers in it p50 {:.2} ms p99 {:.2} ms; {:?}",
        claims_per_s,
        claim_window.as_secs_f64(),
        ms(claim_phase.percentile(0.5)),
        ms(claim_phase.percentile(0.99)),
        claim_phase.outcomes,
    );
    println!("  {cpu_in_claims}");
    println!("  sold-out tail of the release: {}", tail.summary());
    println!(
        "  vouchers issued (DB) {release_issued}, remaining {release_remaining}, most held by one resident {release_most}"
    );
    let (group_sum, group_count) = (group_after.0 - group_before.0, group_after.1 - group_before.1);
    let (tx_sum, tx_count) = (tx_after.0 - tx_before.0, tx_after.1 - tx_before.1);
    if group_count > 0.0 {
        println!(
            "  instance 1: {group_count:.0} claim groups, mean size {:.1}, {retries:.0} retried whole \
             (claim_group_retries_total); write transactions held {:.0} µs on average",
            group_sum / group_count,
            if tx_count > 0.0 { tx_sum / tx_count * 1e6 } else { 0.0 },
        );
    }
    if let Some(locks) = &locks {
        println!(
            "  lock_wait_share={:.3} (service backends waiting on a row lock: {} of {} in-transaction samples, \
             {} samples of pg_stat_activity; goal < 0.10: {})",
            locks.share(),
            locks.waiting,
            locks.in_transaction,
            locks.samples,
            verdict(locks.share() < 0.1),
        );
    }
    println!(
        "sold out (every resident again, answers from memory): {}",
        sold_out.summary()
    );
    println!(
        "  instance 1 answered {:.0} claims from memory during it (claims_answered_from_memory_total)",
        memory_after - memory_before
    );
    println!("HTTP floor (GET /healthz, same clients): {}", floor.summary());
    for (connections, run, (count, remaining, most)) in &direct {
        println!(
            "direct single claim, {connections} connection(s): {} [issued {count}, remaining {remaining}, most per resident {most}]",
            run.summary()
        );
    }
    println!();
    println!(
        "ratio claims: service {claims_per_s:.0}/s / best direct {:.0}/s ({} connections) = {ratio:.2} (goal >= {claim_goal}: {})",
        best.1.rate(),
        best.0,
        verdict(ratio >= claim_goal)
    );
    if let Some(goal) = p99_goal {
        let p99 = ms(claim_phase.percentile(0.99));
        println!("ratio p99: {p99:.2} ms (goal < {goal} ms: {})", verdict(p99 < goal));
    }
    println!(
        "ratio sold-out: {:.0}/s / HTTP floor {:.0}/s = {sold_out_ratio:.2} (goal >= 0.5: {})",
        sold_out.rate(),
        floor.rate(),
        verdict(sold_out_ratio >= 0.5)
    );
    println!("ratio claims / HTTP floor = {:.2}", claims_per_s / floor.rate());

    let expected = batch_size.min(residents as i64);
    let server_errors = errors(&release) + errors(&drained);
    assert_eq!(
        server_errors, 0,
        "no claim may fail with a 5xx other than 503 overloaded"
    );
    assert_eq!(release_issued, expected, "the service issued exactly the batch");
    assert_eq!(
        release_remaining,
        batch_size - expected,
        "remaining = quantity - issued"
    );
    assert!(release_most <= 1, "nobody beyond per_user_limit");
    assert_eq!(
        release.iter().filter(|a| a.outcome == "201").count() as i64,
        release_issued,
        "every voucher was answered 201, and every 201 is a voucher"
    );
    assert_eq!(sold_out.count("201"), 0, "a drained batch gives nothing more");
    for (_, _, (count, _, most)) in &direct {
        assert_eq!(*count, expected, "direct issued exactly the batch");
        assert!(*most <= 1);
    }
}
