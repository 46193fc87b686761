//! Pool exhaustion: a pool of one connection, held by a request that waits on a
//! lock another client holds. The other requests are answered 503 with
//! `Retry-After` once `connection_timeout_ms` has passed, never left hanging; the
//! waiting one completes when the lock is released. On both engines.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use crate::helpers::TestApp;
use crate::order_fixtures::PRICE_FEN;
use crate::serial;

const CONNECTION_TIMEOUT_MS: u64 = 300;
const REQUESTS: usize = 8;

/// A second client holding the write lock an order needs, until told to let go.
fn hold_lock(app: &TestApp, offer_id: i64) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let mut conn = app.db();
    if app.is_postgres() {
        // The order's conditional UPDATE of the offer's stock waits for this row lock.
        conn.batch_execute(&format!(
            "BEGIN; UPDATE offers SET stock = stock WHERE id = {offer_id};"
        ))
        .expect("row lock taken");
    } else {
        conn.batch_execute("BEGIN IMMEDIATE").expect("write lock taken");
    }
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _ = released.recv();
        conn.batch_execute("COMMIT").expect("lock released");
    });
    (release, holder)
}

#[tokio::test]
async fn a_pool_run_dry_answers_503_with_retry_after_never_hangs() {
    let _serial = serial().await;
    let app = TestApp::spawn_with(|s| {
        s.orders.sweep_interval_seconds = 0;
        s.database.max_connections = 1;
        s.database.connection_timeout_ms = CONNECTION_TIMEOUT_MS;
        // The request holding the one connection waits for the lock (SQLite: longer
        // than the test holds it).
        s.database.sqlite_busy_timeout_ms = 20_000;
    })
    .await;
    let shop = app.shop(Some(1_000)).await;
    let mut buyers = Vec::new();
    for _ in 0..REQUESTS {
        buyers.push(app.buyer(&shop).await);
    }

    let (release, holder) = hold_lock(&app, shop.offer_id);
    let started = Instant::now();
    let requests: Vec<_> = buyers
        .iter()
        .map(|(buyer, voucher)| {
            let (app, token, offer, voucher) = (&app, buyer.token.clone(), shop.offer_id, *voucher);
            async move {
                let answer = app.order(&token, offer, 1, Some(voucher)).await;
                (answer, started.elapsed())
            }
        })
        .collect();
    let releaser = async {
        // Long enough for every request but the lock's waiter to time out.
        tokio::time::sleep(Duration::from_millis(CONNECTION_TIMEOUT_MS * 10)).await;
        release.send(()).expect("holder waits");
    };
    let (answers, ()) = tokio::join!(futures_util::future::join_all(requests), releaser);
    holder.join().expect("holder thread");

    let mut unavailable = 0;
    for (answer, took) in &answers {
        match answer.status {
            503 => {
                answer.expect(503, Some("service_unavailable"));
                assert!(
                    answer.headers.contains_key("retry-after"),
                    "503 without Retry-After: {:?}",
                    answer.headers
                );
                assert!(
                    *took < Duration::from_millis(CONNECTION_TIMEOUT_MS * 8),
                    "a 503 took {took:?}: the checkout should give up after {CONNECTION_TIMEOUT_MS} ms"
                );
                unavailable += 1;
            }
            201 => assert_eq!(answer.body["gross_fen"], serde_json::json!(PRICE_FEN)),
            other => panic!("unexpected {other}: {}", answer.text),
        }
        assert!(*took < Duration::from_secs(15), "a request hung for {took:?}");
    }
    let took: Vec<_> = answers.iter().map(|(a, t)| (a.status, t.as_millis())).collect();
    eprintln!("pool of 1: (status, ms) {took:?}");
    assert!(
        unavailable >= REQUESTS - 2,
        "{unavailable} of {REQUESTS} answered 503: {took:?}"
    );
    assert!(
        answers.iter().any(|(a, _)| a.status == 201),
        "the lock's waiter completed"
    );

    // Nothing stays stuck: the pool serves again.
    let (buyer, voucher) = app.buyer(&shop).await;
    app.order(&buyer.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(201, None);
}
