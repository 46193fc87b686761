//! SQLite: another connection holds the write lock past `sqlite_busy_timeout_ms`.
//! The writers that gave up are answered 503 with `Retry-After` ("database is
//! locked" is the database being busy, not a bug of ours), and succeed on retry
//! once the lock is free. Runs on SQLite whatever `TEST_DATABASE_URL` says.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use crate::helpers::TestApp;
use crate::serial;

const BUSY_TIMEOUT_MS: u64 = 300;

#[tokio::test]
async fn a_writer_held_past_the_busy_timeout_answers_503_not_500() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("wenlv.db").to_string_lossy().into_owned();
    let app = TestApp::spawn_on(&url, |s| {
        s.orders.sweep_interval_seconds = 0;
        s.database.sqlite_busy_timeout_ms = BUSY_TIMEOUT_MS;
    })
    .await;
    let shop = app.shop(Some(100)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let claimer = app.resident().await;

    // Another connection to the file takes the write lock and keeps it.
    let mut other = app.db();
    other.batch_execute("BEGIN IMMEDIATE").expect("write lock taken");
    let started = Instant::now();
    let order = app.order(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    let claim = app
        .action(&format!("/batches/{}/claim", shop.batch_id), Some(&claimer.token))
        .await;
    let took = started.elapsed();
    other.batch_execute("COMMIT").expect("write lock released");

    eprintln!(
        "sqlite busy: order {} claim {} in {took:?}: {} / {}",
        order.status, claim.status, order.text, claim.text
    );
    for answer in [&order, &claim] {
        answer.expect(503, Some("service_unavailable"));
        assert!(answer.headers.contains_key("retry-after"), "503 without Retry-After");
    }
    assert!(took < Duration::from_secs(10), "the writers waited {took:?}");

    // The retries succeed and nothing was half done.
    app.order(&buyer.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(201, None);
    app.action(&format!("/batches/{}/claim", shop.batch_id), Some(&claimer.token))
        .await
        .expect(201, None);
    assert_eq!(app.offer_stock(shop.offer_id), Some(99));
}
