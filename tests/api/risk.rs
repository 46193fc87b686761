//! Risk signals (API.md, Risk) on hand-made merchants of the same volume: one
//! honest, one gaming the voucher threshold, one with a ring of repeat pairs, one
//! with a redemption burst. The queue finds each planted case with the right
//! evidence and stays silent on the honest one; closing holds the flagged
//! merchants' statements with the signals as the hold reason.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::order_fixtures::Shop;
use crate::statement_fixtures::{at, insert_redeemed, insert_resident, rebuild_rollup};

const ORDERS: i64 = 12;

fn minute(i: i64) -> NaiveDateTime {
    at("2026-11-20", 2, 0, 0) + chrono::Duration::minutes(10 * i)
}

#[tokio::test]
async fn planted_fraud_is_found_with_its_evidence_and_honest_merchants_are_not() {
    let app = TestApp::spawn_with(|s| {
        s.risk.threshold_gaming_min_orders = 10;
        s.risk.repeat_pair_orders = 5;
        s.risk.burst_redemptions = 10;
        s.risk.hold_score = 1.0;
    })
    .await;
    let honest = app.shop(None).await;
    let gaming = app.shop(None).await;
    let ring = app.shop(None).await;
    let burst = app.shop(None).await;
    let admin = honest.admin.clone();
    let mut conn = app.db();
    let mut n = 0;
    let mut resident = |conn: &mut _| {
        n += 1;
        insert_resident(conn, n)
    };
    let mut planted: HashMap<&str, Vec<i64>> = HashMap::new();
    let place = |conn: &mut _, shop: &Shop, user, gross, when| insert_redeemed(conn, shop, user, gross, when);
    for i in 0..ORDERS {
        // Honest: distinct residents, 150 yuan on a 100-yuan minimum, ten minutes apart.
        let u = resident(&mut conn);
        place(&mut conn, &honest, u, 15_000, minute(i));
        // Threshold gaming: 100.00–104.99 yuan on a 100-yuan minimum.
        let u = resident(&mut conn);
        let id = place(&mut conn, &gaming, u, 10_000 + 99 * (i % 6), minute(i));
        planted.entry("threshold_gaming").or_default().push(id);
    }
    // A ring: one resident orders six times at the same merchant, others once.
    let ringleader = resident(&mut conn);
    for i in 0..ORDERS {
        let u = if i < 6 { ringleader } else { resident(&mut conn) };
        let id = place(&mut conn, &ring, u, 15_000, minute(i));
        if i < 6 {
            planted.entry("repeat_pairs").or_default().push(id);
        }
    }
    // A burst: ten redemptions within 45 seconds, the rest spread out.
    for i in 0..ORDERS {
        let u = resident(&mut conn);
        let when = if i < 10 {
            at("2026-11-20", 9, 0, 5 * i as u32)
        } else {
            minute(i)
        };
        let id = place(&mut conn, &burst, u, 15_000, when);
        if i < 10 {
            planted.entry("redemption_burst").or_default().push(id);
        }
    }
    rebuild_rollup(&mut conn);

    // Nothing scanned yet: the queue reads the stored scan.
    let before = app.get("/admin/risk/merchants", Some(&admin.token)).await;
    assert_eq!(before.expect(200, None)["items"], serde_json::json!([]));
    app.action("/admin/risk/scan", Some(&honest.owner.token))
        .await
        .expect(403, Some("forbidden"));
    app.action("/admin/risk/scan", Some(&admin.token))
        .await
        .expect(200, None);
    let queue = app.get("/admin/risk/merchants", Some(&admin.token)).await;
    let items = queue.expect(200, None)["items"].as_array().expect("items").clone();
    let by_merchant: HashMap<i64, &Value> = items
        .iter()
        .map(|i| (i["merchant_id"].as_i64().expect("id"), i))
        .collect();
    assert!(
        !by_merchant.contains_key(&honest.merchant_id),
        "honest merchant flagged: {items:?}"
    );
    assert_eq!(items.len(), 3, "{items:?}");
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().expect("score")).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "by score descending: {scores:?}"
    );
    for (shop, kind) in [
        (&gaming, "threshold_gaming"),
        (&ring, "repeat_pairs"),
        (&burst, "redemption_burst"),
    ] {
        let flagged = by_merchant[&shop.merchant_id];
        assert!(flagged["name"].is_string());
        let signals = flagged["signals"].as_array().expect("signals");
        assert_eq!(signals.len(), 1, "{kind}: {signals:?}");
        let signal = &signals[0];
        assert_eq!(signal["kind"], kind);
        assert!(signal["value"].as_f64() >= signal["threshold"].as_f64(), "{signal}");
        let mut expected = planted[kind].clone();
        expected.sort_unstable();
        let evidence: Vec<i64> = signal["order_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_i64().expect("id"))
            .collect();
        assert_eq!(evidence, expected, "{kind}");
    }

    // Closing holds the flagged merchants' new statements, with the signals as reason.
    let closed = wenlv::statements::closer::close_now_through(
        &mut conn,
        &app.settings,
        crate::statement_fixtures::date("2026-11-20"),
    )
    .expect("closing");
    assert_eq!(closed, 4);
    for (shop, kind) in [
        (&honest, None),
        (&gaming, Some("threshold_gaming")),
        (&ring, Some("repeat_pairs")),
        (&burst, Some("redemption_burst")),
    ] {
        let statement = app
            .statement_of(&admin.token, shop.merchant_id, "2026-11-20")
            .await
            .expect("statement");
        match kind {
            None => {
                assert_eq!(statement["status"], "closed");
                assert_eq!(statement["hold_reason"], Value::Null);
            }
            Some(kind) => {
                assert_eq!(statement["status"], "held", "{statement}");
                assert!(statement["hold_reason"].as_str().expect("reason").contains(kind));
            }
        }
    }
}

/// Merchant → the kinds of the signals it is flagged for.
type FlagKinds = HashMap<i64, Vec<String>>;

/// Seeds the small demo city as of `now`, plants its fraud, scans: the planted
/// merchants with their patterns, the flags found, the flags themselves.
fn plant_and_scan(
    app: &TestApp,
    conn: &mut wenlv::db::DbConnection,
    now: chrono::NaiveDateTime,
) -> (FlagKinds, FlagKinds, Vec<wenlv::risk::scan::Flag>) {
    wenlv::demo::seed_as_of(conn, &app.settings, &crate::demo::options(), now).expect("seeded");
    let planted = wenlv::risk::plant::plant(conn, app.settings.timezone(), now).expect("planted");
    let flags = wenlv::risk::repo::refresh(conn, &app.settings.risk).expect("scan");
    let found: FlagKinds = flags
        .iter()
        .map(|f| (f.merchant_id, f.signals.iter().map(|s| s.kind.to_string()).collect()))
        .collect();
    let expected = HashMap::from([
        (planted.threshold_gaming, vec!["threshold_gaming".to_owned()]),
        (planted.repeat_pairs, vec!["repeat_pairs".to_owned()]),
        (planted.redemption_burst, vec!["redemption_burst".to_owned()]),
    ]);
    (expected, found, flags)
}

#[tokio::test]
async fn the_demo_city_plants_fraud_that_the_scan_finds_and_no_honest_merchant_is_flagged() {
    let app = TestApp::spawn().await;
    let mut conn = app.db();
    let (expected, found, flags) = plant_and_scan(&app, &mut conn, wenlv::time::now());
    assert_eq!(found, expected, "exactly the planted merchants, each for its pattern");
    // Every planted order is evidence of its merchant's signal (up to the evidence limit).
    for flag in &flags {
        assert!(!flag.signals[0].order_ids.is_empty());
    }
    // The books still balance after planting.
    let admin = app.admin().await;
    let queue = app.get("/admin/risk/merchants", Some(&admin.token)).await;
    assert_eq!(queue.expect(200, None)["items"].as_array().map(Vec::len), Some(3));
}

/// The demo city is generated relative to the moment it is seeded, and the moment
/// steers its random stream (the lottery's orders and the planted ones included):
/// at eight moments across a week, the scan finds exactly the planted merchants.
#[tokio::test]
async fn at_any_moment_of_seeding_the_scan_finds_exactly_the_planted_merchants() {
    for now in crate::demo::seeding_moments() {
        let app = TestApp::spawn().await;
        let (expected, found, _) = plant_and_scan(&app, &mut app.db(), now);
        assert_eq!(found, expected, "seeded as of {now}");
    }
}

/// Several instances refresh the stored flags at once (each closing pass does): no
/// refresh fails, and the queue holds one merchant's row once, the scan's picture.
/// On PostgreSQL two unserialized DELETE-then-INSERT refreshes collide on the
/// flags' key and one fails; the advisory lock makes them take turns. SQLite's
/// `BEGIN IMMEDIATE` serializes them anyway.
#[tokio::test]
async fn refreshes_racing_from_several_instances_all_succeed_and_agree() {
    let app = TestApp::spawn_with(|s| s.risk.repeat_pair_orders = 5).await;
    let ring = app.shop(None).await;
    let mut conn = app.db();
    let ringleader = insert_resident(&mut conn, 1);
    for i in 0..6 {
        insert_redeemed(&mut conn, &ring, ringleader, 15_000, minute(i));
    }
    rebuild_rollup(&mut conn);
    let settings = app.settings.risk.clone();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (url, settings) = (app.settings.database.url.clone(), settings.clone());
            std::thread::spawn(move || {
                let mut conn = wenlv::db::ConnectionManager::new(&url, 5000)
                    .establish()
                    .expect("connection");
                (0..25)
                    .map(|_| wenlv::risk::repo::refresh(&mut conn, &settings).map(|_| ()))
                    .filter_map(Result::err)
                    .map(|e| e.to_string())
                    .collect::<Vec<String>>()
            })
        })
        .collect();
    let failures: Vec<String> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
    assert!(failures.is_empty(), "refreshes failed: {failures:?}");
    let queue = wenlv::risk::repo::queue(&mut conn, 0, 100).expect("queue");
    let merchants: Vec<i64> = queue.iter().map(|f| f.merchant_id).collect();
    assert_eq!(merchants, vec![ring.merchant_id]);
}
