//! Claim storm: N residents stampede one voucher batch.
//!
//! `cargo bench --bench claim_storm -- [--engine sqlite|postgres] [--residents 20000]
//!  [--batch 10000] [--clients 64]`
//!
//! Set-up (not timed): N residents inserted directly, their access tokens minted
//! with the service's own `TokenKeys`, one active campaign with two equal batches.
//! Timed: C concurrent clients, every resident claims once from the first batch
//! over HTTP. Then, in the same run, the same claim transaction
//! (`vouchers::repo::claim`) is driven straight against the database on the second
//! batch with as many connections as the service's pool (same pragmas, same
//! durability), and the ratio of the two rates is printed. Vouchers actually issued
//! are counted in the database; the run fails unless exactly `batch` were issued on
//! each side and no claim got a 5xx.

mod common;

use std::sync::Arc;

use common::{drive_direct, drive_http, ms, report, Args, BenchDb};
use diesel::prelude::*;
use wenlv::db::schema::{voucher_batches, vouchers};
use wenlv::db::{DbConnection, Engine};
use wenlv::error::AppError;

fn issued(conn: &mut DbConnection, batch_id: i64) -> (i64, i64) {
    let count: i64 = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .count()
        .get_result(conn)
        .expect("count vouchers");
    let remaining: i64 = voucher_batches::table
        .find(batch_id)
        .select(voucher_batches::remaining)
        .first(conn)
        .expect("batch");
    (count, remaining)
}

/// Sum and count of a Prometheus histogram in the service's `/metrics`.
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

/// Mean in microseconds of what a histogram recorded between two scrapes.
fn mean_us(before: (f64, f64), after: (f64, f64)) -> f64 {
    let count = after.1 - before.1;
    if count > 0.0 {
        (after.0 - before.0) / count * 1e6
    } else {
        0.0
    }
}

fn outcome_of(result: Result<wenlv::vouchers::models::VoucherRow, AppError>) -> String {
    match result {
        Ok(_) => "201".to_owned(),
        Err(e) => e.code().status().as_u16().to_string(),
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let residents: usize = args.get("residents", 20_000);
    let batch_size: i64 = args.get("batch", 10_000);
    let clients: usize = args.get("clients", 64);
    let db = BenchDb::fresh(args.engine());
    let mut settings = common::settings(&db);
    // The pool size of the service, and the connection count of the direct run.
    settings.database.max_connections = args.get("connections", settings.database.max_connections);
    let connections = settings.database.max_connections as usize;
    println!(
        "claim-storm: {:?}, {residents} residents, batch of {batch_size}, {clients} clients, \
         pool of {connections} connections, {} HTTP workers",
        db.engine, settings.server.workers
    );
    let address = common::spawn(settings.clone());

    // --- set-up, not timed
    let mut conn = db.connect();
    let admin = common::insert_users(&mut conn, 1, "admin", 0)[0];
    let user_ids = common::insert_users(&mut conn, residents, "resident", 1);
    let tokens = common::tokens_for(&settings, &user_ids);
    let (http_batch, direct_batch) = common::campaign_with_twin_batches(&mut conn, admin, "claim storm", batch_size);

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 8)
        .build()
        .expect("client");
    let url = Arc::new(format!("{address}/api/v1/batches/{http_batch}/claim"));
    let tokens = Arc::new(tokens);

    // --- timed: the service
    let probe = reqwest::Client::new();
    let tx_before = histogram(&probe, &address, "db_write_tx_seconds").await;
    let wait_before = histogram(&probe, &address, "db_pool_wait_seconds").await;
    let lock_before = histogram(&probe, &address, "db_write_lock_wait_seconds").await;
    let service = drive_http(clients, residents, move |i| {
        let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
        async move {
            match client.post(url.as_str()).bearer_auth(&tokens[i]).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status.to_string()
                }
                Err(_) => "error".to_owned(),
            }
        }
    })
    .await;
    let (http_issued, http_remaining) = issued(&mut conn, http_batch);
    let tx_service = histogram(&probe, &address, "db_write_tx_seconds").await;
    let wait_service = histogram(&probe, &address, "db_pool_wait_seconds").await;
    let lock_service = histogram(&probe, &address, "db_write_lock_wait_seconds").await;

    // --- timed: the same transaction, straight against the database
    let ids = user_ids.clone();
    let baseline = tokio::task::block_in_place(|| {
        drive_direct(&db, connections, residents, |i, c| {
            outcome_of(wenlv::vouchers::repo::claim(c, direct_batch, ids[i]))
        })
    });
    let (direct_issued, direct_remaining) = issued(&mut conn, direct_batch);
    // The direct run goes through the same `db::write_tx`, in this process.
    let tx_direct = histogram(&probe, &address, "db_write_tx_seconds").await;
    let lock_direct = histogram(&probe, &address, "db_write_lock_wait_seconds").await;

    // --- timed: the HTTP floor. The same clients and request count on GET /healthz,
    // which touches no database: what HTTP, the event loops and this process's own
    // load generator cost on these cores before any claim work is done.
    let floor_client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 8)
        .build()
        .expect("client");
    let healthz = Arc::new(format!("{address}/healthz"));
    let floor = drive_http(clients, residents, move |_| {
        let (client, url) = (floor_client.clone(), healthz.clone());
        async move {
            match client.get(url.as_str()).send().await {
                Ok(r) => r.status().as_u16().to_string(),
                Err(_) => "error".to_owned(),
            }
        }
    })
    .await;

    println!();
    let goal = match (db.engine, clients) {
        (Engine::Postgres, c) if c > 64 => 0.7,
        _ => 0.8,
    };
    report(
        "claims/s: service (HTTP) vs the claim transaction direct",
        &service,
        &baseline,
        goal,
    );
    let server_errors = service
        .outcomes
        .iter()
        .filter(|(k, _)| k.starts_with('5') || k.as_str() == "error")
        .map(|(_, v)| v)
        .sum::<usize>();
    println!(
        "  service: 201 {}, 409 {}, 5xx/errors {server_errors}; vouchers issued (DB) {http_issued}, remaining {http_remaining}",
        service.count("201"),
        service.count("409"),
    );
    println!(
        "  direct:  issued (DB) {direct_issued}, remaining {direct_remaining}; {:?}",
        baseline.outcomes
    );
    println!(
        "  HTTP floor: GET /healthz {} (the service's claims reach {:.0}% of it)",
        floor.summary(),
        100.0 * service.rate() / floor.rate()
    );
    println!(
        "  where a claim's time goes (means): write lock held {:.0} µs in the service vs {:.0} µs direct; \
         waiting for the write lock {:.0} µs vs {:.0} µs; service requests waiting for a pooled connection {:.0} µs",
        mean_us(tx_before, tx_service),
        mean_us(tx_service, tx_direct),
        mean_us(lock_before, lock_service),
        mean_us(lock_service, lock_direct),
        mean_us(wait_before, wait_service),
    );
    if db.engine == Engine::Sqlite {
        let p99 = ms(service.percentile(0.99));
        println!(
            "  service p99 {p99:.2} ms (goal < 50 ms: {})",
            if p99 < 50.0 { "met" } else { "NOT met" }
        );
    }
    assert_eq!(server_errors, 0, "no claim may fail with a 5xx: {:?}", service.outcomes);
    assert_eq!(
        http_issued,
        batch_size.min(residents as i64),
        "service issued exactly the batch"
    );
    assert_eq!(
        direct_issued,
        batch_size.min(residents as i64),
        "direct issued exactly the batch"
    );
}
