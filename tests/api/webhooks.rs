//! Merchants' webhooks, black-box: a receiver on a loopback port started by the
//! test gets one signed POST per order move; failures are retried with the same
//! event id; nothing is sent for a change that rolled back; two instances on one
//! database deliver each event once; events undelivered when the binary is
//! SIGKILLed are delivered after a restart; one endpoint hears its events in the
//! order they were written, also with two instances (README, "Order").

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::Connection;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::TestApp;

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event_id: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// A tiny HTTP/1.1 receiver on 127.0.0.1: answers each POST with the next status
/// of its script (200 once the script is spent), one request per connection.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: &[u16]) -> Receiver {
        Receiver::listen(TcpListener::bind("127.0.0.1:0").expect("bind receiver"), script)
    }

    /// A receiver that answers 200 to each POST only `after` it came.
    fn slow(after: Duration) -> Receiver {
        Receiver::listen_slowly(TcpListener::bind("127.0.0.1:0").expect("bind receiver"), &[], after)
    }

    fn listen(listener: TcpListener, script: &[u16]) -> Receiver {
        Receiver::listen_slowly(listener, script, Duration::ZERO)
    }

    fn listen_slowly(listener: TcpListener, script: &[u16], after: Duration) -> Receiver {
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().expect("addr").port());
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<u16>>()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (sink, script) = (sink.clone(), script.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &sink, &script, after);
                });
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits until at least `n` POSTs came (or 15 s passed); returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn serve(
    stream: std::net::TcpStream,
    sink: &Mutex<Vec<Received>>,
    script: &Mutex<VecDeque<u16>>,
    after: Duration,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = BTreeMap::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let status = script.lock().expect("lock").pop_front().unwrap_or(200);
    sink.lock().expect("lock").push(Received {
        event_id: headers.get("wenlv-event-id").cloned().unwrap_or_default(),
        signature: headers.get("wenlv-signature").cloned().unwrap_or_default(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    std::thread::sleep(after);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    stream.flush()
}

/// Checks `Wenlv-Signature` the way README tells receivers to.
fn signature_is_valid(secret: &str, received: &Received) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in received.signature.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let fresh = t
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{t}.{}", received.body).as_bytes());
    fresh && hex::encode(mac.finalize().into_bytes()) == v1
}

/// Registers the receiver for the shop's merchant; returns `(webhook id, secret)`.
async fn register(app: &TestApp, owner_token: &str, merchant_id: i64, url: &str) -> (i64, String) {
    let created = app
        .post(
            &format!("/merchants/{merchant_id}/webhooks"),
            Some(owner_token),
            json!({"url": url}),
        )
        .await;
    let body = created.expect(201, None);
    let secret = body["secret"].as_str().expect("secret shown once").to_owned();
    (body["id"].as_i64().expect("id"), secret)
}

#[tokio::test]
async fn registration_is_the_owners_and_the_secret_is_shown_once() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let staff = app.resident().await;
    app.add_member(shop.merchant_id, staff.id, "staff");
    let stranger = app.resident().await;
    let path = format!("/merchants/{}/webhooks", shop.merchant_id);

    for bad in ["http://shop.example/hook", "ftp://127.0.0.1/", "nope", ""] {
        let resp = app.post(&path, Some(&shop.owner.token), json!({"url": bad})).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), vec!["url"]);
    }
    app.post(&path, Some(&staff.token), json!({"url": "https://shop.example/hook"}))
        .await
        .expect(403, Some("forbidden"));
    app.post(
        &path,
        Some(&stranger.token),
        json!({"url": "https://shop.example/hook"}),
    )
    .await
    .expect(403, Some("forbidden"));
    app.post(&path, None, json!({"url": "https://shop.example/hook"}))
        .await
        .expect(401, Some("unauthorized"));
    let (id, secret) = register(&app, &shop.owner.token, shop.merchant_id, "https://shop.example/hook").await;
    assert!(secret.starts_with("whsec_") && secret.len() > 40);

    let listed = app.get(&path, Some(&staff.token)).await;
    let items = listed.expect(200, None)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["url"], "https://shop.example/hook");
    assert!(!listed.text.contains(&secret), "the secret is never listed");
    app.get(&path, Some(&stranger.token))
        .await
        .expect(403, Some("forbidden"));
    app.get(&format!("{path}/{id}/deliveries"), Some(&staff.token))
        .await
        .expect(200, None);

    app.delete(&format!("{path}/{id}"), Some(&staff.token))
        .await
        .expect(403, Some("forbidden"));
    let deleted = app.delete(&format!("{path}/{id}"), Some(&shop.owner.token)).await;
    assert_eq!(deleted.status, 204);
    app.delete(&format!("{path}/{id}"), Some(&shop.owner.token))
        .await
        .expect(404, Some("not_found"));
    let listed = app.get(&path, Some(&shop.owner.token)).await;
    assert_eq!(listed.expect(200, None)["items"], json!([]));

    // Production refuses http even to loopback.
    let strict = TestApp::spawn_with(|s| s.webhooks.allow_http_loopback = false).await;
    let shop = strict.shop(Some(10)).await;
    strict
        .post(
            &format!("/merchants/{}/webhooks", shop.merchant_id),
            Some(&shop.owner.token),
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn pay_redeem_refund_and_cancel_each_deliver_one_signed_event() {
    let app = TestApp::spawn_with(|s| s.orders.sweep_interval_seconds = 1).await;
    let shop = app.shop(Some(50)).await;
    let receiver = Receiver::start(&[]);
    let (webhook_id, secret) = register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    let redeem = format!("/merchants/{}/redemptions", shop.merchant_id);

    let (redeemed, code) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    app.post(&redeem, Some(&shop.owner.token), json!({"code": code}))
        .await
        .expect(200, None);
    let (refunded, _) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    app.action(&format!("/orders/{refunded}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
    let cancelled = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    app.action(&format!("/orders/{cancelled}/cancel"), Some(&buyer.token))
        .await
        .expect(200, None);
    let swept = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    app.make_overdue(swept);
    // Refused moves change nothing and send nothing.
    app.post(&redeem, Some(&shop.owner.token), json!({"code": code}))
        .await
        .expect(409, Some("already_redeemed"));

    let got = receiver.wait_for(6).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.received();
    assert_eq!(
        got_after.len(),
        got.len(),
        "no more than the moves' events: {got_after:#?}"
    );
    let mut seen: Vec<(i64, String)> = Vec::new();
    for r in &got {
        assert!(signature_is_valid(&secret, r), "bad signature: {r:?}");
        let body = r.json();
        assert_eq!(body["id"], r.event_id, "Wenlv-Event-Id is the body's id");
        assert!(body["created_at"].as_str().is_some());
        assert_eq!(body["data"]["merchant_id"], shop.merchant_id);
        assert_eq!(
            body["data"]["redemption_code"],
            json!(null),
            "the code stays the resident's"
        );
        seen.push((
            body["data"]["id"].as_i64().expect("order id"),
            body["type"].as_str().expect("type").to_owned(),
        ));
    }
    seen.sort();
    let mut expected = vec![
        (redeemed, "order.paid".to_owned()),
        (redeemed, "order.redeemed".to_owned()),
        (refunded, "order.paid".to_owned()),
        (refunded, "order.refunded".to_owned()),
        (cancelled, "order.cancelled".to_owned()),
        (swept, "order.cancelled".to_owned()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let redeemed_event = got
        .iter()
        .map(Received::json)
        .find(|b| b["type"] == "order.redeemed")
        .expect("redeemed event");
    assert_eq!(redeemed_event["data"]["status"], "redeemed");

    let log = app
        .get(
            &format!("/merchants/{}/webhooks/{webhook_id}/deliveries", shop.merchant_id),
            Some(&shop.owner.token),
        )
        .await;
    let items = log.expect(200, None)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 6);
    assert!(items.iter().all(|a| a["status_code"] == 200 && a["error"].is_null()));
}

#[tokio::test]
async fn failures_are_retried_with_the_same_event_id() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let receiver = Receiver::start(&[500, 500, 200]);
    let (webhook_id, secret) = register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    app.paid_order(&buyer.token, shop.offer_id, None).await;

    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "500, 500, then 200: {got:#?}");
    assert!(got.iter().all(|r| r.event_id == got[0].event_id));
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body every time");
    assert!(got.iter().all(|r| signature_is_valid(&secret, r)));
    let log = app
        .get(
            &format!("/merchants/{}/webhooks/{webhook_id}/deliveries", shop.merchant_id),
            Some(&shop.owner.token),
        )
        .await;
    let codes: Vec<i64> = log.expect(200, None)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["status_code"].as_i64().expect("status"))
        .collect();
    assert_eq!(codes, vec![200, 500, 500], "newest first");
}

#[tokio::test]
async fn a_change_that_rolls_back_sends_nothing() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let receiver = Receiver::start(&[]);
    register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;

    // An event written inside a transaction that then rolls back.
    let mut conn = app.db();
    let rolled_back: Result<(), diesel::result::Error> = conn.transaction(|c| {
        wenlv::webhooks::outbox::enqueue(
            c,
            shop.merchant_id,
            wenlv::webhooks::models::EventType::OrderPaid,
            json!({"id": -1}),
        )
        .expect("enqueued");
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    // A move refused midway (paying another resident's order) rolls back too.
    let (buyer, _) = app.buyer(&shop).await;
    let other = app.resident().await;
    let order = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    app.action(&format!("/orders/{order}/pay"), Some(&other.token))
        .await
        .expect(404, Some("not_found"));
    // Then a change that commits: its event is the only one.
    app.action(&format!("/orders/{order}/pay"), Some(&buyer.token))
        .await
        .expect(200, None);
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].json()["data"]["id"], order);
}

#[tokio::test]
async fn two_instances_deliver_each_event_once() {
    let app = TestApp::spawn().await;
    let second = TestApp::spawn_on(&app.settings.database.url, |_| {}).await;
    let shop = app.shop(None).await;
    let receiver = Receiver::start(&[]);
    register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    const ORDERS: usize = 30;
    let mut buyers = Vec::new();
    for _ in 0..3 {
        buyers.push(app.buyer(&shop).await.0);
    }
    for i in 0..ORDERS {
        let (instance, buyer) = (if i % 2 == 0 { &app } else { &second }, &buyers[i % 3]);
        instance.paid_order(&buyer.token, shop.offer_id, None).await;
    }
    receiver.wait_for(ORDERS).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = receiver.received();
    let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got {
        *per_event.entry(r.event_id.clone()).or_default() += 1;
    }
    let duplicates: usize = per_event.values().map(|n| n - 1).sum();
    println!(
        "two instances: {} events, {} POSTs, {duplicates} duplicates",
        per_event.len(),
        got.len()
    );
    assert_eq!(per_event.len(), ORDERS, "every event delivered");
    assert_eq!(duplicates, 0, "no event sent twice while leases hold");
    drop(second);
}

#[tokio::test]
async fn closing_a_day_sends_statement_closed_with_the_statement_once() {
    use crate::statement_fixtures::{at, close_through, insert_redeemed, insert_resident, rebuild_rollup};
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let quiet = app.shop(None).await;
    let receiver = Receiver::start(&[]);
    let (_, secret) = register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let mut conn = app.db();
    for (n, s) in [(1, &shop), (2, &shop), (3, &quiet)] {
        let user = insert_resident(&mut conn, n);
        insert_redeemed(&mut conn, s, user, 15_000, at("2026-11-20", 3, n as u32, 0));
    }
    rebuild_rollup(&mut conn);
    assert_eq!(close_through(&mut conn, "2026-11-20"), 2);
    // Closing again writes nothing, so it announces nothing.
    assert_eq!(close_through(&mut conn, "2026-11-20"), 0);

    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver
        .received()
        .into_iter()
        .filter(|r| r.json()["type"] == "statement.closed")
        .collect::<Vec<_>>();
    assert_eq!(got.len(), 1, "one event for the one listening merchant: {got:#?}");
    assert!(signature_is_valid(&secret, &got[0]));
    let event = got[0].json();
    let statement = app
        .statement_of(&shop.admin.token, shop.merchant_id, "2026-11-20")
        .await
        .expect("the statement");
    // The event carries API.md's Statement object, as the admin API shows it.
    assert_eq!(event["data"], statement, "{event}");
    assert_eq!(event["data"]["subsidy_fen"], 2 * crate::order_fixtures::DISCOUNT_FEN);
}

/// The events written for `merchant_id`, oldest first: `(public id, type)`.
fn written_events(app: &TestApp, merchant_id: i64) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use wenlv::db::schema::webhook_events;
    let mut conn = app.db();
    webhook_events::table
        .filter(webhook_events::merchant_id.eq(merchant_id))
        .order(webhook_events::id.asc())
        .select((webhook_events::public_id, webhook_events::event_type))
        .load(&mut conn)
        .expect("events")
}

#[tokio::test]
async fn events_undelivered_at_a_sigkill_are_delivered_after_the_restart() {
    // The in-process app only makes fixtures: its own sender is off, so every
    // attempt comes from the real binary.
    let app = TestApp::spawn_with(|s| s.webhooks.poll_interval_ms = 0).await;
    let shop = app.shop(None).await;
    // The receiver's port is reserved, then let go: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (webhook_id, secret) = register(&app, &shop.owner.token, shop.merchant_id, &url).await;
    let (buyer, _) = app.buyer(&shop).await;

    let mut server = crate::server_process::Server::start(&app.settings.database.url).await;
    let client = reqwest::Client::new();
    const ORDERS: usize = 5;
    for _ in 0..ORDERS {
        let order: Value = client
            .post(format!("{}/api/v1/orders", server.base))
            .bearer_auth(&buyer.token)
            .json(&json!({"offer_id": shop.offer_id, "quantity": 1}))
            .send()
            .await
            .expect("order")
            .json()
            .await
            .expect("json");
        let paid = client
            .post(format!("{}/api/v1/orders/{}/pay", server.base, order["id"]))
            .bearer_auth(&buyer.token)
            .send()
            .await
            .expect("pay");
        assert_eq!(paid.status(), 200);
    }
    // The binary has tried (and failed) before it dies.
    let log_path = format!("/merchants/{}/webhooks/{webhook_id}/deliveries", shop.merchant_id);
    let deadline = Instant::now() + Duration::from_secs(15);
    let failed_before = loop {
        let items = app.get(&log_path, Some(&shop.owner.token)).await.ok()["items"]
            .as_array()
            .expect("items")
            .clone();
        if !items.is_empty() || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !failed_before.is_empty(),
        "the sender tried while the receiver was down"
    );
    assert!(failed_before.iter().all(|a| a["status_code"].is_null()));
    server.kill();

    let written = written_events(&app, shop.merchant_id);
    assert_eq!(written.len(), ORDERS);
    let receiver = Receiver::listen(TcpListener::bind(("127.0.0.1", port)).expect("rebind the port"), &[]);
    let _restarted = crate::server_process::Server::start(&app.settings.database.url).await;
    // A lease the killed binary held lapses after webhooks.lease_ms (5 s in tests).
    let got = receiver.wait_for(ORDERS).await;
    let mut delivered: Vec<String> = got.iter().map(|r| r.event_id.clone()).collect();
    delivered.sort();
    delivered.dedup();
    let mut expected: Vec<String> = written.iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    assert_eq!(delivered, expected, "every event written before the kill, by its id");
    assert!(got.iter().all(|r| signature_is_valid(&secret, r)));
    // The ids the dead binary tried are the ids delivered now.
    for attempt in &failed_before {
        assert!(expected.contains(&attempt["event_id"].as_str().expect("event id").to_owned()));
    }
}

/// Pays `n` orders one after another; the events are order.paid each.
async fn pay_in_turn(app: &TestApp, token: &str, offer_id: i64, n: usize) {
    for _ in 0..n {
        app.paid_order(token, offer_id, None).await;
    }
}

#[tokio::test]
async fn one_endpoint_hears_its_events_in_the_order_they_were_written_even_from_two_instances() {
    let app = TestApp::spawn().await;
    let second = TestApp::spawn_on(&app.settings.database.url, |_| {}).await;
    let shop = app.shop(None).await;
    let receiver = Receiver::start(&[]);
    let (_, secret) = register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    // A backlog first (written faster than one endpoint is sent to), then more
    // while both senders work through it.
    const ORDERS: usize = 24;
    let half = ORDERS / 2;
    pay_in_turn(&app, &buyer.token, shop.offer_id, half).await;
    pay_in_turn(&second, &buyer.token, shop.offer_id, ORDERS - half).await;
    receiver.wait_for(ORDERS).await;
    // Long enough for a duplicate to show up, if one were sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.received();
    let written: Vec<String> = written_events(&app, shop.merchant_id)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let heard: Vec<String> = got.iter().map(|r| r.event_id.clone()).collect();
    assert_eq!(heard, written, "in the order written, each once");
    assert!(got.iter().all(|r| signature_is_valid(&secret, r)));
    drop(second);
}

#[tokio::test]
async fn a_retried_event_is_overtaken_and_the_others_keep_their_order() {
    // "In order as far as retries allow": an event waiting for its retry does not
    // hold the endpoint's later events back for up to 24 hours.
    let app = TestApp::spawn_with(|s| s.webhooks.retry_initial_ms = 3000).await;
    let shop = app.shop(None).await;
    let receiver = Receiver::start(&[500]);
    register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    pay_in_turn(&app, &buyer.token, shop.offer_id, 4).await;
    let got = receiver.wait_for(5).await;
    let written: Vec<String> = written_events(&app, shop.merchant_id)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let heard: Vec<String> = got.iter().map(|r| r.event_id.clone()).collect();
    assert_eq!(heard.len(), 5, "{heard:?}");
    assert_eq!(heard[0], written[0], "the first event was tried first (and got 500)");
    assert_eq!(heard[4], written[0], "its retry came after the later events");
    assert_eq!(&heard[1..4], &written[1..4], "the rest in order");
}

/// The sender's passes, run by the test itself (the app's own sender is off:
/// `webhooks.poll_interval_ms = 0`), so a test decides what happens between them.
struct Passes {
    pool: wenlv::db::Pool,
    client: reqwest::Client,
    settings: wenlv::config::WebhookSettings,
}

impl Passes {
    fn of(app: &TestApp) -> Passes {
        Passes {
            pool: wenlv::webhooks::sender::pool(&app.settings.database, &app.settings.webhooks),
            client: wenlv::webhooks::sender::client(&app.settings.webhooks).expect("client"),
            settings: app.settings.webhooks.clone(),
        }
    }

    /// One pass; how many deliveries it attempted.
    async fn run(&self) -> usize {
        wenlv::webhooks::sender::send_once(&self.pool, &self.client, &self.settings)
            .await
            .expect("a pass")
    }
}

#[tokio::test]
async fn an_event_goes_to_the_endpoints_its_merchant_had_when_it_was_written() {
    // No sender of its own: the test runs the passes, so an endpoint can be
    // registered and another deleted between an event's write and its first pass
    // (on SQLite, where the pass writes the deliveries: webhooks::fanout).
    let app = TestApp::spawn_with(|s| s.webhooks.poll_interval_ms = 0).await;
    let shop = app.shop(None).await;
    let (before, after, gone) = (Receiver::start(&[]), Receiver::start(&[]), Receiver::start(&[]));
    register(&app, &shop.owner.token, shop.merchant_id, &before.url).await;
    let (gone_id, _) = register(&app, &shop.owner.token, shop.merchant_id, &gone.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    let (first, _) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    register(&app, &shop.owner.token, shop.merchant_id, &after.url).await;
    let deleted = app
        .delete(
            &format!("/merchants/{}/webhooks/{gone_id}", shop.merchant_id),
            Some(&shop.owner.token),
        )
        .await;
    assert_eq!(deleted.status, 204);
    let (second, _) = app.paid_order(&buyer.token, shop.offer_id, None).await;

    let passes = Passes::of(&app);
    let mut attempted = 0;
    for _ in 0..3 {
        attempted += passes.run().await;
    }
    assert_eq!(attempted, 3, "two events to the first endpoint, one to the new one");
    let ids = |r: &Receiver| -> Vec<Value> {
        r.received()
            .iter()
            .map(|got| got.json()["data"]["id"].clone())
            .collect()
    };
    assert_eq!(ids(&before), vec![json!(first), json!(second)]);
    assert_eq!(ids(&after), vec![json!(second)], "registered after the first event");
    assert!(ids(&gone).is_empty(), "deleted before any pass");
}

/// How many endpoints a pass holds.
fn leased_endpoints(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use wenlv::db::schema::webhooks as w;
    w::table
        .filter(w::leased_until.is_not_null())
        .count()
        .get_result(&mut app.db())
        .expect("count")
}

/// Sets the lease of every endpoint, as another instance's pass would hold it.
fn lease_endpoints(app: &TestApp, until: Option<chrono::NaiveDateTime>) {
    use diesel::prelude::*;
    use wenlv::db::schema::webhooks as w;
    diesel::update(w::table)
        .set(w::leased_until.eq(until))
        .execute(&mut app.db())
        .expect("lease");
}

#[tokio::test]
async fn an_endpoint_leased_by_another_pass_is_skipped_until_its_lease_lapses() {
    let app = TestApp::spawn_with(|s| s.webhooks.poll_interval_ms = 0).await;
    let shop = app.shop(None).await;
    let receiver = Receiver::start(&[]);
    register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    app.paid_order(&buyer.token, shop.offer_id, None).await;

    let passes = Passes::of(&app);
    lease_endpoints(&app, Some(wenlv::time::now() + chrono::Duration::seconds(60)));
    assert_eq!(passes.run().await, 0, "another pass holds the endpoint");
    assert!(receiver.received().is_empty());

    lease_endpoints(&app, Some(wenlv::time::now() - chrono::Duration::seconds(1)));
    assert_eq!(passes.run().await, 1, "the lease lapsed: this pass takes the endpoint");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(leased_endpoints(&app), 0, "the record released it");
}

#[tokio::test]
async fn a_pass_sends_what_fits_in_its_lease_and_hands_the_rest_back_in_order() {
    // A POST may take 300 ms and a lease lasts 1.5 s: a pass starts POSTs only in
    // its first 0.9 s (a timeout's worth for the last POST, one for the record).
    let app = TestApp::spawn_with(|s| {
        s.webhooks.poll_interval_ms = 0;
        s.webhooks.timeout_ms = 300;
        s.webhooks.lease_ms = 1500;
    })
    .await;
    let shop = app.shop(None).await;
    let receiver = Receiver::slow(Duration::from_millis(200));
    register(&app, &shop.owner.token, shop.merchant_id, &receiver.url).await;
    let (buyer, _) = app.buyer(&shop).await;
    const ORDERS: usize = 10;
    let mut paid = Vec::new();
    for _ in 0..ORDERS {
        paid.push(json!(app.paid_order(&buyer.token, shop.offer_id, None).await.0));
    }

    let passes = Passes::of(&app);
    let first = passes.run().await;
    assert!(
        (2..ORDERS).contains(&first),
        "the lease held ten, the pass had time for {first}"
    );
    // The unsent ones were handed back, not left leased until the lease lapses:
    // the record released the endpoint, so the next pass (of any instance) may
    // send them at once.
    assert_eq!(leased_endpoints(&app), 0);
    let started = Instant::now();
    let mut attempted = first;
    while attempted < ORDERS && started.elapsed() < Duration::from_secs(10) {
        attempted += passes.run().await;
    }
    assert_eq!(attempted, ORDERS);
    let order: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["id"].clone())
        .collect();
    assert_eq!(order, paid, "each once, in the order written");
}
