//! Login throughput and event-loop health under a login flood.
//!
//! `cargo bench --bench login -- [--engine sqlite|postgres] [--clients 200] [--logins 600]`
//!
//! Prints logins/s through the service (C clients flooding POST /auth/login) next to
//! raw argon2 verifications/s with the same parameters on the same cores, and the
//! p99 of GET /healthz polled while the flood runs: hashing happens on the
//! blocking pool behind a per-core gate, so the event loop keeps answering.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{drive_http, ms, report, Args, BenchDb, Stats};
use diesel::prelude::*;
use serde_json::json;
use wenlv::auth::password::PasswordHashing;
use wenlv::db::schema::users;

const PASSWORD: &str = "bench-password-1";

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let clients: usize = args.get("clients", 200);
    let logins: usize = args.get("logins", 600);
    let db = BenchDb::fresh(args.engine());
    let settings = common::settings(&db);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    println!(
        "login benchmark: {:?}, {clients} clients, {logins} logins, argon2id m={} KiB t={} p={}, {cores} cores",
        db.engine, settings.auth.argon2.memory_kib, settings.auth.argon2.iterations, settings.auth.argon2.parallelism
    );

    let address = common::spawn(settings.clone());
    // Set-up (not timed): one account per client, all sharing one real hash.
    let hashing = PasswordHashing::new(settings.auth.argon2).expect("argon2");
    let hash = hashing.hash_blocking(PASSWORD).expect("hash");
    let phones: Vec<String> = (0..clients).map(|i| format!("137{:08}", i)).collect();
    {
        let mut conn = db.connect();
        let now = wenlv::time::now();
        // Multi-row INSERT is not available on diesel's multi backend: one transaction.
        wenlv::db::write_tx(&mut conn, |c| {
            for phone in &phones {
                diesel::insert_into(users::table)
                    .values((
                        users::phone.eq(phone),
                        users::password_hash.eq(&hash),
                        users::display_name.eq("bench"),
                        users::role.eq("resident"),
                        users::created_at.eq(now),
                    ))
                    .execute(c)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .expect("insert users");
    }

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 8)
        .build()
        .expect("client");
    // Warm-up: one login per client opens the connections.
    let warm = client.clone();
    let phones = Arc::new(phones);
    let url = format!("{address}/api/v1/auth/login");
    let probe_url = format!("{address}/healthz");

    // /healthz prober: one request every 5 ms while the flood runs.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let probe_client = reqwest::Client::new();
    let prober = tokio::spawn(async move {
        let mut stats = Stats::default();
        let started = Instant::now();
        loop {
            let t = Instant::now();
            let status = probe_client
                .get(&probe_url)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            stats.latencies.push(t.elapsed());
            *stats.outcomes.entry(status.to_string()).or_default() += 1;
            tokio::select! {
                _ = &mut stop_rx => break,
                _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
        stats.elapsed = started.elapsed();
        stats
    });

    let flood_phones = phones.clone();
    let service = drive_http(clients, logins, move |i| {
        let (client, url, phone) = (warm.clone(), url.clone(), flood_phones[i % flood_phones.len()].clone());
        async move {
            match client
                .post(&url)
                .json(&json!({"phone": phone, "password": PASSWORD}))
                .send()
                .await
            {
                Ok(r) => r.status().as_u16().to_string(),
                Err(_) => "error".to_owned(),
            }
        }
    })
    .await;
    let _ = stop_tx.send(());
    let probe = prober.await.expect("prober");

    // Baseline: the same verification, straight, one thread per core.
    let verifications = (logins / 3).max(cores * 20);
    let baseline = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let per_thread = verifications / cores;
        let latencies = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..cores)
                .map(|_| {
                    scope.spawn(|| {
                        (0..per_thread)
                            .map(|_| {
                                let t = Instant::now();
                                assert!(hashing.verify_blocking(PASSWORD, Some(&hash)));
                                t.elapsed()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("thread"))
                .collect::<Vec<_>>()
        });
        let mut stats = Stats {
            latencies,
            ..Stats::default()
        };
        stats.outcomes.insert("verified".to_owned(), stats.latencies.len());
        stats.elapsed = started.elapsed();
        stats
    })
    .await
    .expect("baseline");

    println!();
    report(
        "logins/s: service vs raw argon2 verifications/s (same parameters, same cores)",
        &service,
        &baseline,
        0.8,
    );
    let p99 = ms(probe.percentile(0.99));
    println!(
        "/healthz during the flood: {} probes, p50 {:.2} ms, p99 {:.2} ms (goal < 10 ms: {})",
        probe.jobs(),
        ms(probe.percentile(0.5)),
        p99,
        if p99 < 10.0 { "met" } else { "NOT met" }
    );
    assert_eq!(
        service.count("200"),
        logins,
        "every login must succeed: {:?}",
        service.outcomes
    );
}
