//! Lottery draw and entry intake (issue 12).
//!
//! `cargo bench --bench draw -- [--engine sqlite|postgres] [--entries 200000]
//!  [--winners 50000] [--storm 20000] [--clients 64,256]`
//!
//! 1. **Entry intake** (timed, per client count): `--storm` residents each enter one
//!    lottery batch over HTTP (`POST /batches/{id}/entries`), next to the same
//!    residents claiming one first-come batch (`POST /batches/{id}/claim`) with the
//!    same clients, and the entry transaction (`lottery::repo::enter`) straight
//!    against the database from 8 connections: entries/s, p50/p99 and the ratios.
//! 2. **The draw** (timed): a batch with `--entries` entries (bulk-loaded, not timed)
//!    and `--winners` prizes; its entry window is closed and the time until the
//!    service's own draw job (draw_interval 100 ms, no grace after the close) has
//!    issued every voucher is measured from outside, by polling
//!    `GET /batches/{id}/draw` every 20 ms (goal < 10 s). Baseline: the same draw
//!    (`lottery::draw::draw`) called directly on a twin batch of the same entries.
//!
//! Counted in the database afterwards: every batch holds exactly one voucher per
//! winner and none for anyone else, entry numbers are 1..n without gaps; the run
//! fails otherwise.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use common::{ms, Args, BenchDb, Stats};
use diesel::prelude::*;
use wenlv::campaigns::models::Allocation;
use wenlv::campaigns::repo::{self as campaigns, BatchDraft};
use wenlv::db::schema::{batch_entries, voucher_batches, vouchers};
use wenlv::db::DbConnection;
use wenlv::lottery::models::EntryStatus;

/// A batch of `quantity` in `campaign`, entries/claims open now.
fn batch(conn: &mut DbConnection, admin: i64, campaign: i64, quantity: i64, allocation: Allocation) -> i64 {
    let now = wenlv::time::now();
    let draft = BatchDraft {
        name: "满100减30".to_owned(),
        discount_fen: 3_000,
        min_spend_fen: 10_000,
        quantity,
        per_user_limit: 1,
        claim_starts_at: now - Span::minutes(30),
        claim_ends_at: now + Span::days(1),
        valid_days: 7,
        allocation,
        daily_quantity: None,
        usable: wenlv::vouchers::usable::UsableWindow::default(),
    };
    campaigns::create_batch(conn, admin, campaign, &draft, 1)
        .expect("batch")
        .id
}

/// Bulk-loads entries 1..=n of `user_ids` into `batch_id` (not timed).
fn load_entries(conn: &mut DbConnection, batch_id: i64, user_ids: &[i64]) {
    let at = wenlv::time::now();
    let entrants: Vec<(i64, chrono::NaiveDateTime)> = user_ids.iter().map(|&u| (u, at)).collect();
    wenlv::lottery::repo::load_entries(conn, batch_id, &entrants).expect("load entries");
}

fn close_entries(conn: &mut DbConnection, batch_id: i64) {
    diesel::update(voucher_batches::table.find(batch_id))
        .set(voucher_batches::claim_ends_at.eq(wenlv::time::now()))
        .execute(conn)
        .expect("close");
}

/// Fails the run unless the batch holds one voucher per won entry and no other, and
/// its entry numbers are 1..n.
fn check(conn: &mut DbConnection, batch_id: i64, winners: i64) {
    let issued: i64 = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .count()
        .get_result(conn)
        .expect("count");
    let holders = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .select(vouchers::user_id)
        .load::<i64>(conn)
        .expect("holders")
        .into_iter()
        .collect::<std::collections::HashSet<i64>>()
        .len() as i64;
    let won_with_voucher: i64 = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .filter(batch_entries::status.eq(EntryStatus::Won))
        .filter(batch_entries::voucher_id.is_not_null())
        .count()
        .get_result(conn)
        .expect("won");
    let (entries, max_no): (i64, Option<i64>) = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .select((diesel::dsl::count_star(), diesel::dsl::max(batch_entries::entry_no)))
        .first(conn)
        .expect("entries");
    assert_eq!(
        (issued, holders, won_with_voucher),
        (winners, winners, winners),
        "batch {batch_id}: one voucher per winner"
    );
    assert_eq!(
        Some(entries),
        max_no.or(Some(0)),
        "batch {batch_id}: entry numbers without gaps"
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    let entries: usize = args.get("entries", 200_000);
    let winners: i64 = args.get("winners", 50_000);
    let storm: usize = args.get("storm", 20_000);
    let client_counts: Vec<usize> = args
        .get("clients", "64,256".to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("--clients takes counts, e.g. 64,256"))
        .collect();
    let db = BenchDb::fresh(args.engine());
    let mut settings = common::settings(&db);
    settings.lottery.draw_interval_ms = 100;
    settings.lottery.draw_after_close_ms = 0;
    println!(
        "draw: {:?}, {entries} entries and {winners} winners; entry storm of {storm} residents at {client_counts:?} clients; \
         {} winners per transaction",
        db.engine, settings.lottery.winners_per_transaction
    );
    let address = common::spawn(settings.clone());

    // --- set-up, not timed
    let mut conn = db.connect();
    let admin = common::insert_users(&mut conn, 1, "admin", 0)[0];
    let population = entries.max(storm * (client_counts.len() + 1));
    let residents = common::insert_users(&mut conn, population, "resident", 1);
    let (campaign, _) = common::campaign_with_twin_batches(&mut conn, admin, "lottery", 1, 1);
    let tokens = Arc::new(common::tokens_for(&settings, &residents[..storm]));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .expect("client");

    // --- 1. entry intake next to claims, per client count
    for &clients in &client_counts {
        let lottery = batch(&mut conn, admin, campaign, storm as i64, Allocation::Lottery);
        let first_come = batch(&mut conn, admin, campaign, storm as i64, Allocation::FirstCome);
        let run = |path: String| {
            let (client, tokens) = (client.clone(), tokens.clone());
            let url = Arc::new(format!("{address}/api/v1{path}"));
            common::drive_http(clients, storm, move |i| {
                let (client, tokens, url) = (client.clone(), tokens.clone(), url.clone());
                async move { common::label(client.post(url.as_str()).bearer_auth(&tokens[i]).send().await).await }
            })
        };
        let entered: Stats = run(format!("/batches/{lottery}/entries")).await;
        let claimed: Stats = run(format!("/batches/{first_come}/claim")).await;
        let direct_batch = batch(&mut conn, admin, campaign, storm as i64, Allocation::Lottery);
        let offset = storm * (1 + client_counts.iter().position(|c| *c == clients).unwrap_or(0));
        let direct_users = residents[offset..offset + storm].to_vec();
        let clock = wenlv::time::Clock::system(settings.timezone());
        let direct = common::drive_direct(&db, 8, storm, move |i, c| {
            match wenlv::lottery::repo::enter(c, &clock, direct_batch, direct_users[i]) {
                Ok(_) => "201".to_owned(),
                Err(e) => format!("{:?}", e.code()),
            }
        });
        println!("entry intake, {clients} clients");
        println!("  entries (service)      {}", entered.summary());
        println!("  claims (service)       {}", claimed.summary());
        println!("  entries (direct, 8 c.) {}", direct.summary());
        println!(
            "  entries/claims = {:.2}; entries service/direct = {:.2}",
            entered.rate() / claimed.rate(),
            entered.rate() / direct.rate()
        );
        assert_eq!(entered.count("201"), storm, "every resident entered once");
        check(&mut conn, lottery, 0);
    }

    // --- 2. the draw: the service's job, and the same draw called directly
    let by_job = batch(&mut conn, admin, campaign, winners, Allocation::Lottery);
    let direct = batch(&mut conn, admin, campaign, winners, Allocation::Lottery);
    load_entries(&mut conn, by_job, &residents[..entries]);
    load_entries(&mut conn, direct, &residents[..entries]);

    let draw_url = format!("{address}/api/v1/batches/{by_job}/draw");
    close_entries(&mut conn, by_job);
    let closed = Instant::now();
    let job_time = loop {
        let draw: serde_json::Value = client
            .get(&draw_url)
            .send()
            .await
            .expect("GET draw")
            .json()
            .await
            .expect("draw JSON");
        if draw["drawn_at"].is_string() {
            break closed.elapsed();
        }
        assert!(
            closed.elapsed() < Duration::from_secs(600),
            "not drawn within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    close_entries(&mut conn, direct);
    let started = Instant::now();
    wenlv::lottery::draw::draw(&mut conn, &settings.lottery, direct, None).expect("direct draw");
    let direct_time = started.elapsed();
    let expected = winners.min(entries as i64);
    check(&mut conn, by_job, expected);
    check(&mut conn, direct, expected);
    println!("draw of {entries} entries, {expected} winners");
    println!(
        "  service (close -> drawn, seen over HTTP) {:>8.0} ms  (goal < 10000 ms: {})",
        ms(job_time),
        if job_time < Duration::from_secs(10) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("  direct lottery::draw::draw              {:>8.0} ms", ms(direct_time));
    println!(
        "  ratio direct/service = {:.2} (the job's polling and HTTP add the rest)",
        direct_time.as_secs_f64() / job_time.as_secs_f64()
    );
}
