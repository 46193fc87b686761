//! Causal leverage in the campaign report (API.md, Fair release), checked to the fen
//! against figures recomputed here from the tables, with nothing shared with the
//! service's code: who won and lost, each entrant's counted gross paid from the first
//! draw to the campaign's end, the subsidy on the winners' vouchers, Welch's interval
//! with a t quantile computed here by a different method (numerical integration).
//!
//! The draw itself is not what is tested: a "drawn lottery batch" is made by entering
//! residents over the API and then writing the draw's outcome into the database the
//! way a finished draw leaves it (entries won/lost, one voucher per winner with the
//! batch's terms claimed at the draw time, `remaining = quantity − winners`,
//! `draw_started_at = drawn_at` = the draw time).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::{batch_entries, campaigns, orders, voucher_batches, vouchers};

use crate::campaigns_fixtures::{batch_body, campaign_body, with};
use crate::helpers::{Actor, TestApp};
use crate::merchants_fixtures::application;

const PRICE_A: i64 = 12_800;
const PRICE_B: i64 = 4_550;

fn lottery_body(quantity: i64) -> Value {
    with(batch_body(quantity, 1), json!({"allocation": "lottery"}))
}

struct Venues {
    admin: Actor,
    /// Merchant A's owner and id, to redeem at.
    owner_a: Actor,
    merchant_a: i64,
    offer_a: i64,
    offer_b: i64,
}

/// Two approved merchants in different categories, one offer each.
async fn venues(app: &TestApp) -> Venues {
    let admin = app.admin().await;
    let mut shops = Vec::new();
    for (n, (category, price)) in [("bookstore", PRICE_A), ("cinema", PRICE_B)].into_iter().enumerate() {
        let owner = app.resident().await;
        let body = with(application(n as u32 + 1), json!({"category": category}));
        let merchant = app.approved_merchant_with(&admin, &owner, body).await;
        let offer = app
            .offer_with(
                &owner,
                merchant,
                json!({"title": format!("票 {n}"), "price_fen": price}),
            )
            .await;
        shops.push((owner, merchant, offer["id"].as_i64().expect("offer id")));
    }
    let (_, _, offer_b) = shops.pop().expect("B");
    let (owner_a, merchant_a, offer_a) = shops.pop().expect("A");
    Venues {
        admin,
        owner_a,
        merchant_a,
        offer_a,
        offer_b,
    }
}

async fn enter(app: &TestApp, who: &Actor, batch: i64) {
    app.action(&format!("/batches/{batch}/entries"), Some(&who.token))
        .await
        .expect(201, None);
}

/// Orders and pays; returns the order id and its redemption code.
async fn paid(app: &TestApp, who: &Actor, offer: i64, quantity: i64, voucher: Option<i64>) -> (i64, String) {
    let body = json!({"offer_id": offer, "quantity": quantity, "voucher_id": voucher});
    let id = app.post("/orders", Some(&who.token), body).await.expect(201, None)["id"]
        .as_i64()
        .expect("order id");
    let answer = app.action(&format!("/orders/{id}/pay"), Some(&who.token)).await;
    let code = answer.expect(200, None)["redemption_code"]
        .as_str()
        .expect("code")
        .to_owned();
    (id, code)
}

/// Writes a finished draw of `batch` at `at`: `winners` (user ids) won, every other
/// entrant lost, one voucher per winner with the batch's terms.
/// Returns each winner's voucher id.
fn record_draw(app: &TestApp, batch: i64, winners: &[i64], at: NaiveDateTime) -> BTreeMap<i64, i64> {
    let mut conn = app.db();
    conn.transaction(|c| {
        let (campaign_id, discount, min_spend, valid_days, quantity): (i64, i64, i64, i64, i64) =
            voucher_batches::table
                .find(batch)
                .select((
                    voucher_batches::campaign_id,
                    voucher_batches::discount_fen,
                    voucher_batches::min_spend_fen,
                    voucher_batches::valid_days,
                    voucher_batches::quantity,
                ))
                .first(c)?;
        let ends_at: NaiveDateTime = campaigns::table.find(campaign_id).select(campaigns::ends_at).first(c)?;
        let mut issued = BTreeMap::new();
        for &user in winners {
            let voucher: i64 = diesel::insert_into(vouchers::table)
                .values((
                    vouchers::code.eq(format!("L{}", hex::encode(rand::random::<[u8; 8]>()).to_uppercase())),
                    vouchers::batch_id.eq(batch),
                    vouchers::campaign_id.eq(campaign_id),
                    vouchers::user_id.eq(user),
                    vouchers::slot.eq(1_i64),
                    vouchers::discount_fen.eq(discount),
                    vouchers::min_spend_fen.eq(min_spend),
                    vouchers::status.eq("available"),
                    vouchers::claimed_at.eq(at),
                    vouchers::expires_at.eq((at + Duration::days(valid_days)).min(ends_at)),
                ))
                .returning(vouchers::id)
                .get_result(c)?;
            let marked = diesel::update(
                batch_entries::table
                    .filter(batch_entries::batch_id.eq(batch))
                    .filter(batch_entries::user_id.eq(user)),
            )
            .set((
                batch_entries::status.eq("won"),
                batch_entries::voucher_id.eq(Some(voucher)),
            ))
            .execute(c)?;
            assert_eq!(marked, 1, "every winner entered");
            issued.insert(user, voucher);
        }
        diesel::update(
            batch_entries::table
                .filter(batch_entries::batch_id.eq(batch))
                .filter(batch_entries::status.eq("entered")),
        )
        .set(batch_entries::status.eq("lost"))
        .execute(c)?;
        diesel::update(voucher_batches::table.find(batch))
            .set((
                voucher_batches::remaining.eq(quantity - winners.len() as i64),
                voucher_batches::draw_started_at.eq(Some(at)),
                voucher_batches::drawn_at.eq(Some(at)),
            ))
            .execute(c)?;
        Ok::<_, diesel::result::Error>(issued)
    })
    .expect("draw recorded")
}

/// P(T ≤ t) for Student's t with `df` ≥ 1, by integrating over θ = atan(x/√df):
/// the density becomes cos^(df−1) θ up to a constant, so the distribution function
/// is the ratio of two finite integrals (composite Simpson), with no gamma function.
fn t_cdf(t: f64, df: f64) -> f64 {
    let integral = |upper: f64| {
        let steps = 20_000;
        let h = upper / steps as f64;
        let f = |theta: f64| theta.cos().powf(df - 1.0);
        let mut sum = f(0.0) + f(upper);
        for i in 1..steps {
            sum += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        sum * h / 3.0
    };
    let half = integral(std::f64::consts::FRAC_PI_2);
    let part = integral((t.abs() / df.sqrt()).atan());
    0.5 + t.signum() * 0.5 * part / half
}

fn t_975(df: f64) -> f64 {
    let (mut low, mut high) = (0.0, 100.0);
    for _ in 0..80 {
        let mid = 0.5 * (low + high);
        if t_cdf(mid, df) < 0.975 {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// `a / b` to the nearest integer, halves up (a ≥ 0, b > 0).
fn round_div(a: i64, b: i64) -> i64 {
    (a * 2 + b) / (b * 2)
}

/// user, voucher, gross, subsidy, status, paid_at.
type OrderFacts = (i64, Option<i64>, i64, i64, String, Option<NaiveDateTime>);

/// The causal figures as API.md defines them, from the tables.
fn expected(app: &TestApp, campaign: i64) -> Value {
    let mut conn = app.db();
    let drawn: Vec<(i64, Option<NaiveDateTime>)> = voucher_batches::table
        .filter(voucher_batches::campaign_id.eq(campaign))
        .filter(voucher_batches::allocation.eq("lottery"))
        .filter(voucher_batches::drawn_at.is_not_null())
        .select((voucher_batches::id, voucher_batches::draw_started_at))
        .load(&mut conn)
        .expect("batches");
    let Some(first_draw) = drawn.iter().filter_map(|d| d.1).min() else {
        return Value::Null;
    };
    let ends_at: NaiveDateTime = campaigns::table
        .find(campaign)
        .select(campaigns::ends_at)
        .first(&mut conn)
        .expect("campaign");
    let ids: Vec<i64> = drawn.iter().map(|d| d.0).collect();
    let entries: Vec<(i64, String, Option<i64>)> = batch_entries::table
        .filter(batch_entries::batch_id.eq_any(&ids))
        .select((batch_entries::user_id, batch_entries::status, batch_entries::voucher_id))
        .load(&mut conn)
        .expect("entries");
    // user → won anywhere?
    let mut won: BTreeMap<i64, bool> = BTreeMap::new();
    let mut winners_vouchers = Vec::new();
    for (user, status, voucher) in &entries {
        let w = won.entry(*user).or_insert(false);
        *w |= status == "won";
        if status == "won" {
            winners_vouchers.extend(*voucher);
        }
    }
    let all: Vec<OrderFacts> = orders::table
        .select((
            orders::user_id,
            orders::voucher_id,
            orders::gross_fen,
            orders::subsidy_fen,
            orders::status,
            orders::paid_at,
        ))
        .load(&mut conn)
        .expect("orders");
    let counted = |status: &str| status == "paid" || status == "redeemed";
    let mut spent: BTreeMap<i64, i64> = won.keys().map(|&u| (u, 0)).collect();
    let mut subsidy = 0;
    for (user, voucher, gross, sub, status, paid_at) in &all {
        if !counted(status) {
            continue;
        }
        if let (Some(total), Some(at)) = (spent.get_mut(user), paid_at) {
            if *at >= first_draw && *at < ends_at {
                *total += gross;
            }
        }
        if voucher.is_some_and(|v| winners_vouchers.contains(&v)) {
            subsidy += sub;
        }
    }
    let group = |w: bool| -> Vec<i64> { spent.iter().filter(|(u, _)| won[u] == w).map(|(_, &c)| c).collect() };
    let (winners, losers) = (group(true), group(false));
    if winners.len() < 2 || losers.len() < 2 {
        return Value::Null;
    }
    let (nw, nl) = (winners.len() as i64, losers.len() as i64);
    let mean_w = round_div(winners.iter().sum(), nw);
    let mean_l = round_div(losers.iter().sum(), nl);
    let incremental = mean_w - mean_l;
    let per_winner = round_div(subsidy, nw);
    // Exact sample variances: (n Σx² − (Σx)²) / (n (n − 1)), in i128.
    let variance = |xs: &[i64]| {
        let n = xs.len() as i128;
        let s: i128 = xs.iter().map(|&x| x as i128).sum();
        let ss: i128 = xs.iter().map(|&x| (x as i128) * (x as i128)).sum();
        (n * ss - s * s) as f64 / (n * (n - 1)) as f64
    };
    let (vw, vl) = (variance(&winners) / nw as f64, variance(&losers) / nl as f64);
    let se = (vw + vl).sqrt();
    let df = (vw + vl).powi(2) / (vw * vw / (nw - 1) as f64 + vl * vl / (nl - 1) as f64);
    let half = if se == 0.0 { 0.0 } else { t_975(df) * se };
    let ratio = |x: f64| {
        if per_winner == 0 {
            Value::Null
        } else {
            json!(x / per_winner as f64)
        }
    };
    json!({
        "winners": nw,
        "losers": nl,
        "winners_mean_consumption_fen": mean_w,
        "losers_mean_consumption_fen": mean_l,
        "incremental_per_winner_fen": incremental,
        "subsidy_per_winner_fen": per_winner,
        "causal_leverage": ratio(incremental as f64),
        "ci95_low": ratio(incremental as f64 - half),
        "ci95_high": ratio(incremental as f64 + half),
    })
}

/// Fen and counts exactly; ratios to 1e-6 relative (the two t quantiles are found
/// by different methods).
fn assert_causal(actual: &Value, expected: &Value) {
    if expected.is_null() {
        assert_eq!(actual, &Value::Null);
        return;
    }
    let fields = [
        "winners",
        "losers",
        "winners_mean_consumption_fen",
        "losers_mean_consumption_fen",
        "incremental_per_winner_fen",
        "subsidy_per_winner_fen",
    ];
    for field in fields {
        assert_eq!(actual[field], expected[field], "{field}: {actual}");
    }
    for field in ["causal_leverage", "ci95_low", "ci95_high"] {
        match (actual[field].as_f64(), expected[field].as_f64()) {
            (Some(a), Some(e)) => assert!((a - e).abs() <= 1e-6 * e.abs().max(1.0), "{field}: {a} vs {e}"),
            (a, e) => assert_eq!(a, e, "{field}: {actual}"),
        }
    }
    assert_eq!(
        actual.as_object().map(|o| o.len()),
        Some(9),
        "exactly the fields of API.md"
    );
}

async fn causal_of(app: &TestApp, admin: &Actor, campaign: i64) -> Value {
    let report = app
        .get(&format!("/admin/campaigns/{campaign}/report"), Some(&admin.token))
        .await;
    report.expect(200, None)["causal"].clone()
}

/// The lines of `report.csv{query}` after the byte-order mark (no trailing empty line).
async fn csv_of(app: &TestApp, admin: &Actor, campaign: i64, query: &str) -> Vec<String> {
    let resp = app
        .send(
            app.client
                .get(app.url(&format!("/admin/campaigns/{campaign}/report.csv{query}")))
                .bearer_auth(&admin.token),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert!(resp.text.starts_with('\u{feff}'), "byte-order mark first");
    let text = resp.text.trim_start_matches('\u{feff}');
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[actix_rt::test]
async fn causal_figures_match_a_recomputation_from_the_tables() {
    let app = TestApp::spawn().await;
    let v = venues(&app).await;
    let admin = &v.admin;
    let campaign = app.active_campaign(admin, campaign_body()).await;
    let first = app.batch(admin, campaign, lottery_body(3)).await["id"]
        .as_i64()
        .expect("id");
    let second = app.batch(admin, campaign, lottery_body(1)).await["id"]
        .as_i64()
        .expect("id");
    let undrawn = app.batch(admin, campaign, lottery_body(5)).await["id"]
        .as_i64()
        .expect("id");
    let mut r = Vec::new();
    for _ in 0..10 {
        r.push(app.resident().await);
    }
    for who in &r[0..6] {
        enter(&app, who, first).await;
    }
    for i in [5, 0, 6, 7] {
        enter(&app, &r[i], second).await;
    }
    enter(&app, &r[8], undrawn).await;
    assert_eq!(causal_of(&app, admin, campaign).await, Value::Null, "nothing drawn yet");

    // Before the first draw: not counted.
    paid(&app, &r[3], v.offer_a, 2, None).await;
    paid(&app, &r[0], v.offer_b, 1, None).await;

    // First draw: residents 0, 1, 2 win; 3, 4, 5 lose.
    let ids = |is: &[usize]| is.iter().map(|&i| r[i].id).collect::<Vec<_>>();
    let first_vouchers = record_draw(&app, first, &ids(&[0, 1, 2]), wenlv::time::now());
    paid(&app, &r[0], v.offer_a, 1, Some(first_vouchers[&r[0].id])).await;
    let (_, code) = paid(&app, &r[1], v.offer_a, 3, Some(first_vouchers[&r[1].id])).await;
    app.post(
        &format!("/merchants/{}/redemptions", v.merchant_a),
        Some(&v.owner_a.token),
        json!({"code": code}),
    )
    .await
    .expect(200, None);
    let (refunded, _) = paid(&app, &r[2], v.offer_a, 1, Some(first_vouchers[&r[2].id])).await;
    app.action(&format!("/orders/{refunded}/refund"), Some(&r[2].token))
        .await
        .expect(200, None);
    paid(&app, &r[2], v.offer_b, 2, None).await;
    paid(&app, &r[3], v.offer_b, 5, None).await;
    paid(&app, &r[8], v.offer_b, 1, None).await; // entered an undrawn batch only
    paid(&app, &r[9], v.offer_a, 4, None).await; // never entered

    // Second draw: resident 5 (a loser of the first) wins, so counts as a winner;
    // resident 0 loses here but won the first; 6 and 7 lose.
    let second_vouchers = record_draw(&app, second, &ids(&[5]), wenlv::time::now());
    paid(&app, &r[5], v.offer_a, 2, Some(second_vouchers[&r[5].id])).await;
    paid(&app, &r[6], v.offer_b, 1, None).await;
    paid(&app, &r[7], v.offer_a, 1, None).await;
    let unpaid = json!({"offer_id": v.offer_b, "quantity": 3});
    app.post("/orders", Some(&r[7].token), unpaid).await.expect(201, None);
    let (last, _) = paid(&app, &r[0], v.offer_b, 2, None).await;

    let expected_now = expected(&app, campaign);
    // Winners 0, 1, 2, 5; losers 3, 4, 6, 7; three counted voucher orders of 30 yuan.
    assert_eq!(expected_now["winners"], 4);
    assert_eq!(expected_now["losers"], 4);
    assert_eq!(expected_now["subsidy_per_winner_fen"], 9_000 / 4);
    assert_eq!(
        expected_now["winners_mean_consumption_fen"],
        round_div(PRICE_A + 3 * PRICE_A + 2 * PRICE_B + 2 * PRICE_A + 2 * PRICE_B, 4),
        "the test's own arithmetic agrees with its recomputation"
    );
    let shown = causal_of(&app, admin, campaign).await;
    assert_causal(&shown, &expected_now);
    let (low, high) = (shown["ci95_low"].as_f64(), shown["ci95_high"].as_f64());
    let point = shown["causal_leverage"].as_f64().expect("a ratio");
    assert!(low.expect("low") < point && point < high.expect("high"));

    // The same figures as CSV (?table=causal): one header, one row of numbers.
    let csv = csv_of(&app, admin, campaign, "?table=causal").await;
    assert_eq!(
        csv[0],
        "winners,losers,winners_mean_consumption_fen,losers_mean_consumption_fen,\
         incremental_per_winner_fen,subsidy_per_winner_fen,causal_leverage,ci95_low,ci95_high"
    );
    let cells: Vec<&str> = csv[1].split(',').collect();
    assert_eq!(cells.len(), 9);
    for (i, field) in [
        "winners",
        "losers",
        "winners_mean_consumption_fen",
        "losers_mean_consumption_fen",
    ]
    .into_iter()
    .chain(["incremental_per_winner_fen", "subsidy_per_winner_fen"])
    .enumerate()
    {
        assert_eq!(cells[i], shown[field].to_string(), "{field}");
    }
    for (i, field) in [(6, "causal_leverage"), (7, "ci95_low"), (8, "ci95_high")] {
        let written: f64 = cells[i].parse().expect("a number");
        assert!(
            (written - shown[field].as_f64().expect("ratio")).abs() <= 0.00005,
            "{field}: {written}"
        );
    }
    assert_eq!(csv.len(), 2, "one row");
    // The default table is still the by-merchant one; an unknown table is refused.
    let by_merchant = csv_of(&app, admin, campaign, "").await;
    assert_eq!(
        by_merchant[0],
        "merchant_id,name,orders,consumption_fen,subsidy_fen,leverage"
    );
    let bogus = app
        .get(
            &format!("/admin/campaigns/{campaign}/report.csv?table=bogus"),
            Some(&admin.token),
        )
        .await;
    bogus.expect(422, Some("validation_failed"));
    assert_eq!(bogus.error_fields(), vec!["table".to_owned()]);

    // A campaign that ended before the last order: that order falls outside.
    let last_paid: NaiveDateTime = orders::table
        .find(last)
        .select(orders::paid_at.assume_not_null())
        .first(&mut app.db())
        .expect("paid");
    diesel::update(campaigns::table.find(campaign))
        .set(campaigns::ends_at.eq(last_paid))
        .execute(&mut app.db())
        .expect("ends_at");
    let expected_ended = expected(&app, campaign);
    assert_ne!(
        expected_ended["winners_mean_consumption_fen"], expected_now["winners_mean_consumption_fen"],
        "the window's end matters here"
    );
    assert_causal(&causal_of(&app, admin, campaign).await, &expected_ended);
}

#[actix_rt::test]
async fn causal_is_null_without_a_drawn_lottery_of_two_winners_and_two_losers() {
    let app = TestApp::spawn().await;
    let v = venues(&app).await;
    let admin = &v.admin;
    let mut r = Vec::new();
    for _ in 0..6 {
        r.push(app.resident().await);
    }

    // First come only, with a counted voucher order: no control group.
    let plain = app.active_campaign(admin, campaign_body()).await;
    let batch = app.batch(admin, plain, batch_body(10, 1)).await["id"]
        .as_i64()
        .expect("id");
    let voucher = app.claim(&r[0], batch).await.expect(201, None)["id"].as_i64();
    paid(&app, &r[0], v.offer_a, 1, voucher).await;
    assert_eq!(causal_of(&app, admin, plain).await, Value::Null);

    // A lottery entered but not drawn.
    let lottery = app.active_campaign(admin, campaign_body()).await;
    let batch = app.batch(admin, lottery, lottery_body(1)).await["id"]
        .as_i64()
        .expect("id");
    for who in &r[0..4] {
        enter(&app, who, batch).await;
    }
    assert_eq!(causal_of(&app, admin, lottery).await, Value::Null, "undrawn");
    // Drawn with one winner and three losers.
    record_draw(&app, batch, &[r[0].id], wenlv::time::now());
    paid(&app, &r[1], v.offer_b, 1, None).await;
    assert_eq!(expected(&app, lottery), Value::Null);
    assert_eq!(causal_of(&app, admin, lottery).await, Value::Null, "one winner");
    assert_eq!(
        csv_of(&app, admin, lottery, "?table=causal").await.len(),
        1,
        "the header alone"
    );

    // Two winners and two losers, but no winner has used a voucher yet: the figures
    // are there, the ratios null (no subsidy per winner to divide by).
    let idle = app.active_campaign(admin, campaign_body()).await;
    let batch = app.batch(admin, idle, lottery_body(2)).await["id"]
        .as_i64()
        .expect("id");
    for who in &r[0..4] {
        enter(&app, who, batch).await;
    }
    record_draw(&app, batch, &[r[2].id, r[3].id], wenlv::time::now());
    paid(&app, &r[2], v.offer_a, 2, None).await;
    paid(&app, &r[0], v.offer_b, 3, None).await;
    let shown = causal_of(&app, admin, idle).await;
    let expected_idle = expected(&app, idle);
    assert_eq!(shown["subsidy_per_winner_fen"], 0);
    assert_eq!(shown["causal_leverage"], Value::Null);
    assert_eq!(shown["ci95_low"], Value::Null);
    assert_causal(&shown, &expected_idle);
    assert_eq!(
        shown["incremental_per_winner_fen"],
        round_div(2 * PRICE_A, 2) - round_div(3 * PRICE_B, 2)
    );
}
