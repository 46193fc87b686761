//! Daily statements (API.md, Money to merchants): the money reconciles to the fen
//! with the orders, recomputed independently here, across day boundaries in
//! Shanghai, the holding period, reversals before and after closing, negative
//! balances carried forward and two closing jobs racing; the lifecycle and its
//! 409s; merchants see their own; the CSV's digest.

use diesel::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wenlv::db::schema::{orders, statement_days, statement_lines, statements};

use crate::helpers::TestApp;
use crate::order_fixtures::DISCOUNT_FEN;
use crate::statement_fixtures::{
    at, close_through, insert_redeemed, insert_resident, owed_from_orders, rebuild_rollup, statement_sums,
};

const GROSS: i64 = 15_000;

async fn reverse(app: &TestApp, token: &str, order_id: i64) -> crate::helpers::Resp {
    app.post(
        &format!("/admin/orders/{order_id}/reverse"),
        Some(token),
        json!({"reason": "fake orders found by the district office"}),
    )
    .await
}

#[tokio::test]
async fn money_reconciles_across_days_reversals_and_carried_balances() {
    let app = TestApp::spawn().await;
    let a = app.shop(None).await;
    let b = app.shop(None).await;
    let c = app.shop(None).await;
    let admin = &a.admin;
    let mut conn = app.db();
    let mut n = 0;
    let mut buyer = |conn: &mut _| {
        n += 1;
        insert_resident(conn, n)
    };
    // 15:59 UTC is 23:59 in Shanghai, 16:01 UTC 00:01 the next day.
    let u = buyer(&mut conn);
    let a1 = insert_redeemed(&mut conn, &a, u, GROSS, at("2026-11-20", 15, 59, 0));
    let u = buyer(&mut conn);
    let a2 = insert_redeemed(&mut conn, &a, u, GROSS, at("2026-11-20", 16, 1, 0));
    let u = buyer(&mut conn);
    let _a3 = insert_redeemed(&mut conn, &a, u, GROSS, at("2026-11-21", 10, 0, 0));
    let u = buyer(&mut conn);
    let b1 = insert_redeemed(&mut conn, &b, u, GROSS, at("2026-11-20", 3, 0, 0));
    let u = buyer(&mut conn);
    let _b2 = insert_redeemed(&mut conn, &b, u, GROSS, at("2026-11-21", 3, 0, 0));
    let u = buyer(&mut conn);
    let c1 = insert_redeemed(&mut conn, &c, u, GROSS, at("2026-11-20", 3, 0, 0));
    rebuild_rollup(&mut conn);

    // Reversed before closing: it never reaches a statement, and no clawback.
    reverse(&app, &admin.token, b1).await.expect(200, None);
    assert_eq!(close_through(&mut conn, "2026-11-20"), 2);
    let a_20 = app
        .statement_of(&admin.token, a.merchant_id, "2026-11-20")
        .await
        .expect("A's 20th");
    assert_eq!(
        (a_20["orders"].as_i64(), a_20["subsidy_fen"].as_i64()),
        (Some(1), Some(DISCOUNT_FEN))
    );
    assert_eq!(a_20["status"], "closed");
    assert!(app
        .statement_of(&admin.token, b.merchant_id, "2026-11-20")
        .await
        .is_none());
    // Closing again is a no-op: closed days stay closed exactly once.
    assert_eq!(close_through(&mut conn, "2026-11-20"), 0);

    // Reversed after closing: a clawback on the merchant's next statement.
    reverse(&app, &admin.token, a1).await.expect(200, None);
    reverse(&app, &admin.token, c1).await.expect(200, None);
    let u = buyer(&mut conn);
    let _c2 = insert_redeemed(&mut conn, &c, u, GROSS, at("2026-11-22", 3, 0, 0));
    rebuild_rollup(&mut conn);
    assert_eq!(close_through(&mut conn, "2026-11-22"), 4);

    let a_21 = app
        .statement_of(&admin.token, a.merchant_id, "2026-11-21")
        .await
        .expect("A's 21st");
    assert_eq!(a_21["orders"], 2, "{a_21}");
    assert_eq!(a_21["subsidy_fen"], 2 * DISCOUNT_FEN);
    assert_eq!(a_21["clawback_fen"], DISCOUNT_FEN);
    assert_eq!(a_21["net_fen"], DISCOUNT_FEN);
    assert_eq!(a_21["payout_fen"], DISCOUNT_FEN);
    let detail = app
        .get(&format!("/admin/statements/{}", a_21["id"]), Some(&admin.token))
        .await;
    let lines = detail.expect(200, None)["lines"].as_array().expect("lines").clone();
    let kinds: Vec<(i64, &str, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["order_id"].as_i64().unwrap_or(0),
                l["kind"].as_str().unwrap_or(""),
                l["amount_fen"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(kinds[0], (a2, "subsidy", DISCOUNT_FEN));
    assert_eq!(kinds[2], (a1, "clawback", -DISCOUNT_FEN));
    assert_eq!(lines[0]["redeemed_at"], "2026-11-20T16:01:00Z");

    // C: nothing redeemed on the 21st but a clawback: a negative statement, carried
    // into the 22nd's, whose payout it absorbs.
    let c_21 = app
        .statement_of(&admin.token, c.merchant_id, "2026-11-21")
        .await
        .expect("C's 21st");
    assert_eq!(
        (c_21["subsidy_fen"].as_i64(), c_21["net_fen"].as_i64()),
        (Some(0), Some(-DISCOUNT_FEN))
    );
    assert_eq!(c_21["payout_fen"], 0);
    let c_22 = app
        .statement_of(&admin.token, c.merchant_id, "2026-11-22")
        .await
        .expect("C's 22nd");
    // API.md: the negative net comes in as a clawback; the CSV shows it too.
    assert_eq!(c_22["subsidy_fen"], DISCOUNT_FEN);
    assert_eq!(c_22["carried_in_fen"], -DISCOUNT_FEN);
    assert_eq!(c_22["clawback_fen"], DISCOUNT_FEN);
    assert_eq!(c_22["net_fen"], 0);
    assert_eq!(c_22["payout_fen"], 0);
    let csv = app
        .get(&format!("/admin/statements/{}.csv", c_22["id"]), Some(&admin.token))
        .await;
    assert!(
        csv.text.contains(&format!(",carried_in,,'-{DISCOUNT_FEN},")),
        "{}",
        csv.text
    );

    // The money, to the fen: Σ net = Σ subsidy redeemed − Σ reversed; and with no
    // balance left outstanding, Σ payouts is the same.
    let expected = owed_from_orders(&mut conn, "2026-11-22");
    // a2, a3, b2, c2 remain redeemed.
    assert_eq!(expected, 4 * DISCOUNT_FEN);
    assert_eq!(statement_sums(&mut conn), (expected, expected));

    // The reversed orders left the reports.
    let report = app
        .get(
            &format!("/admin/campaigns/{}/report", a.campaign_id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(report.expect(200, None)["subsidy_fen"], 2 * DISCOUNT_FEN);
    let settlements = app
        .get(
            &format!("/admin/settlements?campaign_id={}", b.campaign_id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(settlements.expect(200, None)["total_subsidy_fen"], DISCOUNT_FEN);
}

#[tokio::test]
async fn closed_statements_wait_for_the_holding_days_in_platform_time() {
    let app = TestApp::spawn_with(|s| s.settlement.holding_days = 2).await;
    let shop = app.shop(None).await;
    let mut conn = app.db();
    let now = wenlv::time::now();
    let tz = crate::statement_fixtures::tz();
    let today = now.and_utc().with_timezone(&tz).date_naive();
    // One order at noon Shanghai on each of the last four days.
    for back in 1..=4_u64 {
        let day = today.checked_sub_days(chrono::Days::new(back)).expect("day");
        let noon_utc = day.and_hms_opt(4, 0, 0).expect("time");
        let user = insert_resident(&mut conn, back);
        insert_redeemed(&mut conn, &shop, user, GROSS, noon_utc);
    }
    rebuild_rollup(&mut conn);
    let closed = wenlv::statements::closer::run_pass(&mut conn, &app.settings).expect("pass");
    // T+2: yesterday and the day before still wait; the two days before are due.
    assert_eq!(closed, 2);
    let days: Vec<String> = statements::table
        .select(statements::day)
        .order(statements::day.asc())
        .load(&mut conn)
        .expect("days");
    let due = |back| {
        today
            .checked_sub_days(chrono::Days::new(back))
            .expect("day")
            .format("%Y-%m-%d")
            .to_string()
    };
    assert_eq!(days, [due(4), due(3)]);
    // The CLI's catch-up ignores the holding period, but not the days still running.
    let closed = wenlv::statements::closer::close_now_through(&mut conn, &app.settings, today).expect("catch-up");
    assert_eq!(closed, 2);
    let open: i64 = statement_days::table
        .filter(statement_days::day.ge(today.format("%Y-%m-%d").to_string()))
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(open, 0, "today has not ended");
}

#[tokio::test]
async fn two_closing_jobs_racing_close_each_day_once() {
    let app = TestApp::spawn().await;
    let mut shops = Vec::new();
    for _ in 0..4 {
        shops.push(app.shop(None).await);
    }
    let mut conn = app.db();
    let mut n = 0;
    for day in ["2026-11-20", "2026-11-21", "2026-11-22"] {
        for shop in &shops {
            for minute in 0..5 {
                n += 1;
                let user = insert_resident(&mut conn, n);
                insert_redeemed(&mut conn, shop, user, GROSS, at(day, 2, minute, 0));
            }
        }
    }
    rebuild_rollup(&mut conn);
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let mut c = app.db();
            std::thread::spawn(move || close_through(&mut c, "2026-11-22"))
        })
        .collect();
    let written: usize = racers.into_iter().map(|r| r.join().expect("closer")).sum();
    assert_eq!(written, 12, "4 merchants × 3 days, each written by exactly one closer");
    let count: i64 = statements::table.count().get_result(&mut conn).expect("count");
    assert_eq!(count, 12);
    let lines: i64 = statement_lines::table.count().get_result(&mut conn).expect("count");
    assert_eq!(lines, 60);
    let expected = owed_from_orders(&mut conn, "2026-11-22");
    assert_eq!(expected, 60 * DISCOUNT_FEN);
    assert_eq!(statement_sums(&mut conn), (expected, expected));
}

#[tokio::test]
async fn the_lifecycle_moves_and_refuses_the_rest_with_409() {
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let admin = &shop.admin;
    let mut conn = app.db();
    let user = insert_resident(&mut conn, 1);
    insert_redeemed(&mut conn, &shop, user, GROSS, at("2026-11-20", 3, 0, 0));
    close_through(&mut conn, "2026-11-20");
    let id = app.statements(&admin.token, "").await[0]["id"].as_i64().expect("id");
    let path = |action: &str| format!("/admin/statements/{id}/{action}");
    let hold = |reason: &'static str| json!({ "reason": reason });

    // Residents and merchants may not move statements; unknown ones are 404.
    app.action(&path("approve"), Some(&shop.owner.token))
        .await
        .expect(403, Some("forbidden"));
    app.action("/admin/statements/999999/approve", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));
    app.post(&path("hold"), Some(&admin.token), json!({}))
        .await
        .expect(422, Some("validation_failed"));
    app.action(&path("release"), Some(&admin.token))
        .await
        .expect(409, Some("invalid_state"));
    app.action(&path("paid"), Some(&admin.token))
        .await
        .expect(415, Some("unsupported_media_type"));
    app.post(&path("paid"), Some(&admin.token), json!({"payout_reference": ""}))
        .await
        .expect(422, Some("validation_failed"));

    let held = app
        .post(&path("hold"), Some(&admin.token), hold("checking a complaint"))
        .await;
    assert_eq!(held.expect(200, None)["status"], "held");
    assert_eq!(held.body["hold_reason"], "checking a complaint");
    app.post(&path("hold"), Some(&admin.token), hold("still checking"))
        .await
        .expect(200, None);
    app.action(&path("approve"), Some(&admin.token))
        .await
        .expect(409, Some("invalid_state"));
    let released = app.action(&path("release"), Some(&admin.token)).await;
    assert_eq!(released.expect(200, None)["status"], "closed");
    assert_eq!(released.body["hold_reason"], Value::Null);
    let approved = app.action(&path("approve"), Some(&admin.token)).await;
    assert_eq!(approved.expect(200, None)["status"], "approved");
    assert!(approved.body["approved_at"].is_string());
    app.post(&path("hold"), Some(&admin.token), hold("too late"))
        .await
        .expect(409, Some("invalid_state"));
    app.action(&path("approve"), Some(&admin.token))
        .await
        .expect(409, Some("invalid_state"));
    let paid = app
        .post(
            &path("paid"),
            Some(&admin.token),
            json!({"payout_reference": "ICBC-20261122-0001"}),
        )
        .await;
    assert_eq!(paid.expect(200, None)["status"], "paid");
    assert_eq!(paid.body["payout_reference"], "ICBC-20261122-0001");
    app.post(&path("paid"), Some(&admin.token), json!({"payout_reference": "again"}))
        .await
        .expect(409, Some("invalid_state"));
    // The figures never moved.
    assert_eq!(paid.body["net_fen"], DISCOUNT_FEN);

    let log = app
        .get(
            &format!("/admin/audit-log?target_type=statement&target_id={id}"),
            Some(&admin.token),
        )
        .await;
    let actions: Vec<&str> = log.expect(200, None)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "statement.paid",
            "statement.approve",
            "statement.release",
            "statement.hold",
            "statement.hold"
        ]
    );
    let filtered = app.statements(&admin.token, "status=paid").await;
    assert_eq!(filtered.len(), 1);
    app.get("/admin/statements?status=bogus", Some(&admin.token))
        .await
        .expect(422, Some("validation_failed"));
    app.get("/admin/statements?day=20261120", Some(&admin.token))
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn merchants_see_their_own_statements_and_the_csv_matches_its_digest() {
    let app = TestApp::spawn().await;
    let a = app.shop(None).await;
    let b = app.shop(None).await;
    let mut conn = app.db();
    diesel::update(wenlv::db::schema::merchants::table.find(a.merchant_id))
        .set(wenlv::db::schema::merchants::name.eq("=HYPERLINK(\"http://x\"),书店"))
        .execute(&mut conn)
        .expect("renamed");
    for (i, shop) in [&a, &b].into_iter().enumerate() {
        let user = insert_resident(&mut conn, i as u64 + 1);
        insert_redeemed(&mut conn, shop, user, GROSS, at("2026-11-20", 3, 0, 0));
    }
    close_through(&mut conn, "2026-11-20");

    let own = app
        .get(
            &format!("/merchants/{}/statements", a.merchant_id),
            Some(&a.owner.token),
        )
        .await;
    let items = own.expect(200, None)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["merchant_id"], a.merchant_id);
    app.get(
        &format!("/merchants/{}/statements", a.merchant_id),
        Some(&b.owner.token),
    )
    .await
    .expect(404, Some("not_found"));
    app.get("/merchants/999999/statements", Some(&a.owner.token))
        .await
        .expect(404, Some("not_found"));
    app.get(&format!("/admin/statements/{}", items[0]["id"]), Some(&a.owner.token))
        .await
        .expect(403, Some("forbidden"));

    let csv = app
        .get(
            &format!("/admin/statements/{}.csv", items[0]["id"]),
            Some(&a.admin.token),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.content_type().starts_with("text/csv"));
    assert!(csv.text.starts_with('\u{feff}'));
    assert_eq!(
        hex::encode(Sha256::digest(csv.text.as_bytes())),
        items[0]["digest"].as_str().expect("digest")
    );
    assert!(
        csv.text.contains("\"'=HYPERLINK(\"\"http://x\"\"),书店\""),
        "{}",
        csv.text
    );
    assert!(csv.text.contains(&format!(",subsidy,{},{DISCOUNT_FEN},", {
        let id: i64 = orders::table
            .filter(orders::merchant_id.eq(a.merchant_id))
            .select(orders::id)
            .first(&mut conn)
            .expect("order");
        id
    })));
}

#[tokio::test]
async fn only_redeemed_orders_can_be_reversed_by_admins_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let admin = &shop.admin;
    let (buyer, voucher) = app.buyer(&shop).await;
    let (paid, code) = app.paid_order(&buyer.token, shop.offer_id, Some(voucher)).await;
    reverse(&app, &admin.token, paid)
        .await
        .expect(409, Some("invalid_state"));
    reverse(&app, &buyer.token, paid).await.expect(403, Some("forbidden"));
    reverse(&app, &admin.token, 999_999)
        .await
        .expect(404, Some("not_found"));
    app.post(
        &format!("/admin/orders/{paid}/reverse"),
        Some(&admin.token),
        json!({"reason": " "}),
    )
    .await
    .expect(422, Some("validation_failed"));
    app.post(
        &format!("/merchants/{}/redemptions", shop.merchant_id),
        Some(&shop.owner.token),
        json!({ "code": code }),
    )
    .await
    .expect(200, None);
    let reversed = reverse(&app, &admin.token, paid).await;
    assert_eq!(reversed.expect(200, None)["status"], "reversed");
    reverse(&app, &admin.token, paid)
        .await
        .expect(409, Some("invalid_state"));
    let seen = app.get(&format!("/orders/{paid}"), Some(&buyer.token)).await;
    assert_eq!(seen.expect(200, None)["status"], "reversed");
    let log = app
        .get(
            &format!("/admin/audit-log?target_type=order&target_id={paid}"),
            Some(&admin.token),
        )
        .await;
    let row = log.expect(200, None)["items"][0].clone();
    assert_eq!(row["action"], "order.reverse");
    assert_eq!(row["reason"], "fake orders found by the district office");
    let report = app
        .get(
            &format!("/admin/campaigns/{}/report", shop.campaign_id),
            Some(&admin.token),
        )
        .await;
    assert_eq!(report.expect(200, None)["subsidy_fen"], 0);
    assert_eq!(report.body["orders"], 0);
}

#[tokio::test]
async fn the_background_job_closes_due_days_by_itself() {
    let app = TestApp::spawn_with(|s| s.settlement.close_interval_seconds = 1).await;
    let shop = app.shop(None).await;
    let mut conn = app.db();
    let user = insert_resident(&mut conn, 1);
    let three_days_ago = wenlv::time::now() - chrono::Duration::days(3);
    insert_redeemed(&mut conn, &shop, user, GROSS, three_days_ago);
    rebuild_rollup(&mut conn);
    for _ in 0..100 {
        if !app.statements(&shop.admin.token, "").await.is_empty() {
            let items = app.statements(&shop.admin.token, "").await;
            assert_eq!(items.len(), 1);
            assert_eq!(items[0]["subsidy_fen"], DISCOUNT_FEN);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the closing job closed nothing in 10 s");
}

#[tokio::test]
async fn reversals_racing_with_the_closing_are_each_clawed_back_or_left_off_exactly_once() {
    let app = TestApp::spawn().await;
    let mut shops = Vec::new();
    for _ in 0..3 {
        shops.push(app.shop(None).await);
    }
    let admin = shops[0].admin.clone();
    let mut conn = app.db();
    let mut ids = Vec::new();
    let mut n = 0;
    for shop in &shops {
        for minute in 0..20 {
            n += 1;
            let user = insert_resident(&mut conn, n);
            ids.push(insert_redeemed(
                &mut conn,
                shop,
                user,
                GROSS,
                at("2026-11-20", 2, minute, 0),
            ));
        }
    }
    rebuild_rollup(&mut conn);
    let closer = {
        let mut c = app.db();
        std::thread::spawn(move || close_through(&mut c, "2026-11-20"))
    };
    let reversals: Vec<_> = ids
        .iter()
        .step_by(2)
        .map(|id| reverse(&app, &admin.token, *id))
        .collect();
    for r in futures_util::future::join_all(reversals).await {
        r.expect(200, None);
    }
    closer.join().expect("closer");
    // The clawbacks of the orders reversed after the closing land on the next day's statements.
    close_through(&mut conn, "2026-11-21");
    let expected = owed_from_orders(&mut conn, "2026-11-21");
    assert_eq!(expected, 30 * DISCOUNT_FEN);
    assert_eq!(statement_sums(&mut conn).0, expected);
    let pending: i64 = statement_lines::table
        .filter(statement_lines::statement_id.is_null())
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(pending, 0);
    // Every reversed order is either absent from the statements or clawed back once.
    let reversed: Vec<i64> = orders::table
        .filter(orders::status.eq("reversed"))
        .select(orders::id)
        .load(&mut conn)
        .expect("reversed");
    for id in reversed {
        let kinds: Vec<String> = statement_lines::table
            .filter(statement_lines::order_id.eq(id))
            .select(statement_lines::kind)
            .order(statement_lines::kind.desc())
            .load(&mut conn)
            .expect("lines");
        assert!(
            kinds.is_empty() || kinds == ["subsidy", "clawback"],
            "order {id}: {kinds:?}"
        );
    }
}
