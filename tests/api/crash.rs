//! Crash safety (DESIGN.md invariant 7): the real `wenlv` binary is killed with
//! SIGKILL in the middle of a stream of claims, orders, payments, cancellations and
//! refunds, restarted on the same database, and DESIGN.md's invariants 1–6 are
//! checked directly in the database, before and after more traffic.
//!
//! In the order stream claims are made by direct inserts; everything else goes over
//! HTTP to the binary. The claim storm test kills the binary while coalesced claim
//! groups commit: every voucher answered 201 before the kill must exist, and no
//! batch may issue beyond its quantity or a resident beyond the limit; the batch has
//! a daily cap, whose day counter must still count exactly the vouchers issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::{batch_day_claims, orders, vouchers};

use crate::campaigns_fixtures::batch_body;
use crate::helpers::{Actor, TestApp};
use crate::order_fixtures::{check_invariants, insert_voucher};
use crate::server_process::Server;

const STOCK: i64 = 400;

/// POST returning `(status, body)`, or `None` when the server is gone.
async fn post(client: &reqwest::Client, url: String, token: &str, body: Option<Value>) -> Option<(u16, Value)> {
    let mut request = client.post(url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Some((status, body))
}

/// One resident's stream: claim, order with the voucher, then pay, pay and refund,
/// cancel, or leave unpaid, round after round until the server dies (or `rounds`).
async fn resident_stream(
    base: String,
    database_url: String,
    token: String,
    user_id: i64,
    offer_id: i64,
    batch_id: i64,
    rounds: usize,
) -> usize {
    let client = reqwest::Client::new();
    let api = format!("{base}/api/v1");
    let mut done = 0;
    for round in 0..rounds {
        let url = database_url.clone();
        let voucher = tokio::task::spawn_blocking(move || {
            let mut conn = wenlv::db::ConnectionManager::new(&url, 5000).establish().expect("db");
            insert_voucher(&mut conn, batch_id, user_id)
        })
        .await
        .expect("claim");
        let body = json!({"offer_id": offer_id, "quantity": 1 + round % 2, "voucher_id": voucher});
        let Some((status, order)) = post(&client, format!("{api}/orders"), &token, Some(body)).await else {
            break;
        };
        if status != 201 {
            continue;
        }
        let id = order["id"].as_i64().expect("order id");
        let step = |path: &str| post(&client, format!("{api}/orders/{id}/{path}"), &token, None);
        let alive = match round % 4 {
            0 => step("pay").await.is_some(),
            1 => step("pay").await.is_some() && step("refund").await.is_some(),
            2 => step("cancel").await.is_some(),
            _ => true,
        };
        if !alive {
            break;
        }
        done += 1;
    }
    done
}

#[tokio::test]
async fn a_killed_server_leaves_a_consistent_database() {
    let app = TestApp::spawn_with(|s| s.orders.sweep_interval_seconds = 0).await;
    let shop = app.shop(Some(STOCK)).await;
    let database_url = app.settings.database.url.clone();
    let mut residents = Vec::new();
    for _ in 0..6 {
        residents.push(app.resident().await);
    }

    let mut server = Server::start(&database_url).await;
    let streams: Vec<_> = residents
        .iter()
        .map(|r| {
            tokio::spawn(resident_stream(
                server.base.clone(),
                database_url.clone(),
                r.token.clone(),
                r.id,
                shop.offer_id,
                shop.batch_id,
                1_000,
            ))
        })
        .collect();
    // Kill it once the stream is well under way.
    let mut seen = 0;
    for _ in 0..1_200 {
        seen = orders::table.count().get_result::<i64>(&mut app.db()).expect("count");
        if seen >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(seen >= 40, "the stream got going ({seen} orders)");
    server.kill();
    for stream in streams {
        stream.await.expect("stream task");
    }
    let initial = HashMap::from([(shop.offer_id, STOCK)]);
    check_invariants(&mut app.db(), &initial);

    // Restarted on the same database, it serves on, and the books still balance.
    let server = Server::start(&database_url).await;
    let streams: Vec<_> = residents
        .iter()
        .map(|r| {
            tokio::spawn(resident_stream(
                server.base.clone(),
                database_url.clone(),
                r.token.clone(),
                r.id,
                shop.offer_id,
                shop.batch_id,
                4,
            ))
        })
        .collect();
    let mut completed = 0;
    for stream in streams {
        completed += stream.await.expect("stream task");
    }
    assert_eq!(
        completed,
        4 * residents.len(),
        "every round after the restart completed"
    );
    check_invariants(&mut app.db(), &initial);
}

/// Claims for `residents` round-robin against `base` until the server dies (or,
/// with `until_refused`, until every one of them is refused); the ids of vouchers
/// answered 201 go to `answered`.
async fn claim_stream(
    base: String,
    batch_id: i64,
    tokens: Vec<String>,
    answered: Arc<Mutex<Vec<i64>>>,
    until_refused: bool,
) {
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/batches/{batch_id}/claim");
    let mut refused = vec![false; tokens.len()];
    for turn in 0.. {
        let i = turn % tokens.len();
        if until_refused && refused.iter().all(|r| *r) {
            break;
        }
        if !until_refused && turn > 100_000 {
            break;
        }
        let Some((status, body)) = post(&client, url.clone(), &tokens[i], None).await else {
            break;
        };
        match status {
            201 => answered
                .lock()
                .expect("answered")
                .push(body["id"].as_i64().expect("voucher id")),
            409 => refused[i] = true,
            503 => tokio::time::sleep(Duration::from_millis(10)).await,
            other => panic!("claim answered {other}: {body}"),
        }
    }
}

/// Vouchers of the batch, its remaining, and the most one resident holds.
fn claim_books(app: &TestApp, batch_id: i64) -> (Vec<i64>, i64, i64) {
    let mut db = app.db();
    let ids: Vec<i64> = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .select(vouchers::id)
        .load(&mut db)
        .expect("vouchers");
    let remaining = wenlv::vouchers::stock::remaining(&mut db, batch_id).expect("batch");
    let most = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .group_by(vouchers::user_id)
        .select(diesel::dsl::count_star())
        .load::<i64>(&mut db)
        .expect("per user")
        .into_iter()
        .max()
        .unwrap_or(0);
    (ids, remaining, most)
}

#[tokio::test]
async fn a_server_killed_mid_claim_storm_keeps_every_answered_voucher() {
    const QUANTITY: i64 = 2_000;
    const LIMIT: i64 = 30;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app
        .active_campaign(&admin, crate::campaigns_fixtures::campaign_body())
        .await;
    // A daily cap as large as the stock: the day's counter must survive the kill
    // exactly as the stock does (it moves in the same transactions).
    let body = crate::campaigns_fixtures::with(batch_body(QUANTITY, LIMIT), json!({ "daily_quantity": QUANTITY }));
    let batch_id = app.batch(&admin, campaign, body).await["id"]
        .as_i64()
        .expect("batch id");
    let mut residents: Vec<Actor> = Vec::new();
    for _ in 0..4 {
        residents.extend(futures_util::future::join_all((0..25).map(|_| app.resident())).await);
    }
    let database_url = app.settings.database.url.clone();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let streams = |base: &str, until_refused: bool| -> Vec<tokio::task::JoinHandle<()>> {
        (0..32)
            .map(|c| {
                let tokens = residents.iter().skip(c).step_by(32).map(|r| r.token.clone()).collect();
                tokio::spawn(claim_stream(
                    base.to_owned(),
                    batch_id,
                    tokens,
                    answered.clone(),
                    until_refused,
                ))
            })
            .collect()
    };

    let mut server = Server::start(&database_url).await;
    let running = streams(&server.base, false);
    let mut issued = 0;
    for _ in 0..2_000 {
        issued = claim_books(&app, batch_id).0.len();
        if issued >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(issued >= 300, "the storm got going ({issued} vouchers)");
    server.kill();
    for stream in running {
        stream.await.expect("claim stream");
    }
    let check = |answered: &[i64]| {
        let (ids, remaining, most) = claim_books(&app, batch_id);
        assert!(
            ids.len() as i64 <= QUANTITY,
            "{} vouchers beyond the quantity",
            ids.len()
        );
        assert_eq!(remaining, QUANTITY - ids.len() as i64, "remaining = quantity - issued");
        assert!(most <= LIMIT, "a resident holds {most}");
        let counted: Vec<i64> = batch_day_claims::table
            .filter(batch_day_claims::batch_id.eq(batch_id))
            .select(batch_day_claims::claimed)
            .load(&mut app.db())
            .expect("day rows");
        assert_eq!(
            counted.iter().sum::<i64>(),
            ids.len() as i64,
            "the days count every voucher"
        );
        let missing: Vec<&i64> = answered.iter().filter(|id| !ids.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "vouchers answered 201 but not in the database: {missing:?}"
        );
        ids.len()
    };
    let before = answered.lock().expect("answered").clone();
    let at_kill = check(&before);
    assert!(at_kill as i64 <= QUANTITY && !before.is_empty());
    check_invariants(&mut app.db(), &HashMap::new());

    // Restarted on the same database, it drains the batch exactly.
    let server = Server::start(&database_url).await;
    for stream in streams(&server.base, true) {
        stream.await.expect("claim stream");
    }
    let after = answered.lock().expect("answered").clone();
    assert_eq!(
        check(&after) as i64,
        QUANTITY,
        "the batch drains exactly after the restart"
    );
    check_invariants(&mut app.db(), &HashMap::new());
}
