//! The PostgreSQL server goes away under a claim and order storm: restarted (then
//! stopped for a while and started), or the service's sessions terminated
//! mid-transaction. Clients see 503 with
//! `Retry-After`, never 500; every 201 has its row; the invariants hold; the
//! service serves again within seconds, by itself.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::helpers::TestApp;
use crate::support::{check_books, residents, test_database_url, wait_ready, PrivateCluster, Storm, Tally};
use crate::{serial, skip};

const STOCK: i64 = 100_000;
const RESIDENTS: usize = 8;
/// How soon after the database is back the service must serve again.
const RECOVERY: Duration = Duration::from_secs(10);

fn assert_rode_through(tally: &Tally) {
    assert!(
        tally.bad.is_empty(),
        "5xx other than 503 + Retry-After: {:?}\n{}",
        &tally.bad[..tally.bad.len().min(10)],
        tally.summary()
    );
    assert!(
        tally.transport_errors.is_empty(),
        "requests without an answer: {:?}",
        &tally.transport_errors[..tally.transport_errors.len().min(10)]
    );
}

#[tokio::test]
async fn postgres_restarted_during_a_storm_answers_503_and_recovers() {
    let _serial = serial().await;
    let test = "postgres_restarted_during_a_storm_answers_503_and_recovers";
    if test_database_url().is_none() {
        return skip(test, "TEST_DATABASE_URL is unset (PostgreSQL faults run in CI)");
    }
    let cluster = match tokio::task::spawn_blocking(PrivateCluster::start).await.expect("task") {
        Ok(cluster) => cluster,
        Err(why) => return skip(test, &format!("no private PostgreSQL cluster: {why}")),
    };
    let url = cluster.create_database("wenlv");
    let app = TestApp::spawn_on(&url, |s| {
        s.orders.sweep_interval_seconds = 0;
        s.database.connection_timeout_ms = 1000;
    })
    .await;
    let shop = app.shop(Some(STOCK)).await;
    let residents = residents(&app, RESIDENTS).await;

    let storm = Storm::start(&app.address, &residents, &shop);
    storm.wait_for_orders(30, Duration::from_secs(60)).await;
    let before = storm.orders();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.pg_ctl("restart").expect("pg_ctl restart");
        cluster
    })
    .await
    .expect("restart task");
    let back = Instant::now();
    let ready = wait_ready(&app.address, RECOVERY).await;
    let served = storm.wait_for_success_after(back, RECOVERY).await;
    // Keep the storm going a little after recovery, on the new connections.
    storm
        .wait_for_orders(storm.orders() + 20, Duration::from_secs(60))
        .await;

    // Down for a while: /readyz turns 503 (the storm gets 503s too), and 200 again
    // by itself once the server is back.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.pg_ctl("stop").expect("pg_ctl stop");
        cluster
    })
    .await
    .expect("stop task");
    let not_ready = app.get("/readyz", None).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.pg_ctl("start").expect("pg_ctl start");
        cluster
    })
    .await
    .expect("start task");
    let started = Instant::now();
    let ready_again = wait_ready(&app.address, RECOVERY).await;
    let served_again = storm.wait_for_success_after(started, RECOVERY).await;
    storm
        .wait_for_orders(storm.orders() + 20, Duration::from_secs(60))
        .await;
    let tally = storm.stop().await;
    let metrics = app.get("/metrics", None).await.text;
    let unavailable: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("db_unavailable_total"))
        .collect();
    eprintln!(
        "restart: {before} orders before; ready {ready:?} and first 2xx {served:?} after the restart; \
         while stopped /readyz {} {}; ready {ready_again:?} and first 2xx {served_again:?} after the start; \
         {}; {unavailable:?}",
        not_ready.status,
        not_ready.text,
        tally.summary()
    );

    assert_rode_through(&tally);
    assert!(ready.is_some(), "/readyz not 200 within {RECOVERY:?} of the restart");
    assert!(served.is_some(), "no 2xx within {RECOVERY:?} of the restart");
    not_ready.expect(503, Some("service_unavailable"));
    assert!(not_ready.headers.contains_key("retry-after"));
    assert!(
        ready_again.is_some(),
        "/readyz not 200 within {RECOVERY:?} of the start"
    );
    assert!(served_again.is_some(), "no 2xx within {RECOVERY:?} of the start");
    assert!(!unavailable.is_empty(), "db_unavailable_total counted nothing");
    check_books(&mut app.db(), &tally, shop.offer_id, STOCK);
    drop(cluster);
}

#[derive(QueryableByName)]
struct Terminated {
    #[diesel(sql_type = BigInt)]
    sessions: i64,
    #[diesel(sql_type = BigInt)]
    in_transaction: i64,
}

/// Terminates every session of the test's database but this one.
fn terminate_sessions(url: &str) -> Terminated {
    let mut conn = PgConnection::establish(url).expect("a direct connection");
    diesel::sql_query(
        "SELECT count(*) AS sessions, count(*) FILTER (WHERE xact_start IS NOT NULL) AS in_transaction \
         FROM (SELECT pg_terminate_backend(pid), xact_start FROM pg_stat_activity \
               WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .get_result(&mut conn)
    .expect("pg_terminate_backend")
}

#[tokio::test]
async fn terminated_sessions_mid_transaction_answer_503_and_recover() {
    let _serial = serial().await;
    let test = "terminated_sessions_mid_transaction_answer_503_and_recover";
    if test_database_url().is_none() {
        return skip(test, "TEST_DATABASE_URL is unset (PostgreSQL faults run in CI)");
    }
    let app = TestApp::spawn_with(|s| {
        s.orders.sweep_interval_seconds = 0;
        s.database.connection_timeout_ms = 1000;
    })
    .await;
    assert!(app.is_postgres());
    let shop = app.shop(Some(STOCK)).await;
    let residents = residents(&app, RESIDENTS).await;

    let storm = Storm::start(&app.address, &residents, &shop);
    storm.wait_for_orders(30, Duration::from_secs(60)).await;
    let (mut sessions, mut in_transaction) = (0, 0);
    for _ in 0..8 {
        let url = app.settings.database.url.clone();
        let killed = tokio::task::spawn_blocking(move || terminate_sessions(&url))
            .await
            .expect("task");
        sessions += killed.sessions;
        in_transaction += killed.in_transaction;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let last_cut = Instant::now();
    let served = storm.wait_for_success_after(last_cut, RECOVERY).await;
    storm
        .wait_for_orders(storm.orders() + 20, Duration::from_secs(60))
        .await;
    let tally = storm.stop().await;
    eprintln!(
        "terminate: {sessions} sessions cut ({in_transaction} in a transaction); first 2xx {served:?} after the last cut; {}",
        tally.summary()
    );

    assert!(sessions > 0, "no session was cut");
    assert_rode_through(&tally);
    assert!(served.is_some(), "no 2xx within {RECOVERY:?} of the last cut");
    check_books(&mut app.db(), &tally, shop.offer_id, STOCK);
}
