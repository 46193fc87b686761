//! The campaign report at a million orders.
//!
//! `cargo bench --bench report -- [--engine sqlite|postgres] [--orders 1000000] [--requests 30] [--entrants 200000]`
//!
//! Set-up (not timed): 2,035 merchants with an offer each, 10,000 residents, one
//! campaign whose batch issued a voucher per order, and `--orders` paid or redeemed
//! orders spread over the campaign's 90 days, plus 5% orders without a voucher;
//! and a drawn lottery batch of the same campaign with `--entrants` more residents
//! (a quarter win), so the report computes its causal figures: 80% of the winners
//! use their voucher, every entrant has 0–2 orders without one after the draw, and
//! one in seven an order before it (which the causal window leaves out).
//! The rollup is rebuilt from the orders the way `rollup::rebuild` does after a
//! bulk import. Then `GET /admin/campaigns/{id}/report` is timed through the
//! service, next to the same report computed directly against the database (the
//! service's own `reports::repo::campaign_report`, one connection). Goal: < 200 ms.

mod common;

use std::time::Instant;

use chrono::Duration;
use common::{bulk, ms, ts, Args, BenchDb, Stats};
use diesel::connection::SimpleConnection;
use wenlv::db::DbConnection;

const MERCHANTS: i64 = 2_035;
const RESIDENTS: i64 = 10_000;
const CATEGORIES: [&str; 6] = [
    "bookstore",
    "cinema",
    "performance",
    "scenic_spot",
    "museum",
    "heritage_craft",
];
const DISTRICTS: [&str; 4] = ["guangyang", "anci", "sanhe", "bazhou"];

/// What the lottery part of the set-up made.
struct Lottery {
    /// Counted orders with the lottery's vouchers (they count in the campaign too).
    voucher_orders: i64,
}

/// A drawn lottery batch (id 2) of campaign 1 with `entrants` new residents, user
/// ids from `first_user`; vouchers from id `first_voucher`, orders from `first_order`.
fn populate_lottery(
    conn: &mut DbConnection,
    entrants: i64,
    first_user: i64,
    first_voucher: i64,
    first_order: i64,
) -> Lottery {
    let now = wenlv::time::now();
    let (drawn, ends) = (now - Duration::days(30), now + Duration::days(10));
    let (at, drawn_at, expires) = (ts(now), ts(drawn), ts(ends));
    let winners = (entrants + 3) / 4;
    let is_winner = |j: i64| j % 4 == 0;
    bulk(
        conn,
        "users (id, phone, password_hash, display_name, role, created_at)",
        entrants,
        |j| format!("({}, '1370{:07}', 'x', 'r', 'resident', '{at}')", first_user + j, j),
    );
    conn.batch_execute(&format!(
        "INSERT INTO voucher_batches (id, campaign_id, name, discount_fen, min_spend_fen, quantity, remaining, per_user_limit,
         claim_starts_at, claim_ends_at, valid_days, created_at, allocation, entries, draw_started_at, drawn_at)
         VALUES (2, 1, '摇号 满100减30', 3000, 10000, {winners}, 0, 1, '{}', '{drawn_at}', 366, '{at}', 'lottery', {entrants},
         '{drawn_at}', '{drawn_at}');
         UPDATE campaigns SET budget_fen = budget_fen + {face}, reserved_fen = reserved_fen + {face} WHERE id = 1;",
        ts(drawn - Duration::days(5)),
        face = winners * 3000,
    ))
    .expect("lottery batch");
    // Winner j holds voucher first_voucher + j / 4.
    bulk(
        conn,
        "vouchers (id, code, batch_id, campaign_id, user_id, slot, discount_fen, min_spend_fen, status, claimed_at, expires_at, order_id)",
        winners,
        |w| {
            let id = first_voucher + w;
            let used = w % 5 != 4;
            let (status, order) = if used { ("used", (first_order + w).to_string()) } else { ("available", "NULL".to_owned()) };
            format!("({id}, 'L{id:019}', 2, 1, {user}, 1, 3000, 10000, '{status}', '{drawn_at}', '{expires}', {order})", user = first_user + w * 4)
        },
    );
    bulk(
        conn,
        "batch_entries (batch_id, user_id, entry_no, entered_at, status, voucher_id)",
        entrants,
        |j| {
            let (status, voucher) = if is_winner(j) {
                ("won", (first_voucher + j / 4).to_string())
            } else {
                ("lost", "NULL".to_owned())
            };
            format!(
                "(2, {}, {}, '{drawn_at}', '{status}', {voucher})",
                first_user + j,
                j + 1
            )
        },
    );
    // Orders: the winners' voucher orders (order id first_order + w for voucher w),
    // then per entrant j: j % 3 orders without a voucher after the draw, and one
    // before the draw when j % 7 == 0.
    let mut rows: Vec<(i64, i64, Option<i64>, i64, chrono::NaiveDateTime)> = Vec::new();
    for w in 0..winners {
        if w % 5 != 4 {
            let merchant = 1 + (w * 7919) % MERCHANTS;
            rows.push((
                first_user + w * 4,
                merchant,
                Some(first_voucher + w),
                first_order + w,
                drawn + Duration::seconds(1 + (w * 104_729) % (29 * 86_400)),
            ));
        }
    }
    let voucher_orders = rows.len() as i64;
    let mut next = first_order + winners;
    for j in 0..entrants {
        let mut times: Vec<chrono::NaiveDateTime> = (0..j % 3)
            .map(|k| drawn + Duration::seconds(1 + ((j * 3 + k) * 7_919) % (29 * 86_400)))
            .collect();
        if j % 7 == 0 {
            times.push(drawn - Duration::days(2));
        }
        for paid in times {
            rows.push((first_user + j, 1 + (j * 31) % MERCHANTS, None, next, paid));
            next += 1;
        }
    }
    bulk(
        conn,
        "orders (id, user_id, merchant_id, offer_id, quantity, voucher_id, campaign_id, gross_fen, subsidy_fen, payable_fen, \
         status, redemption_code, created_at, payment_due_at, paid_at, redeemed_at)",
        rows.len() as i64,
        |i| {
            let (user, merchant, voucher, id, paid) = rows[i as usize];
            let gross = 10_000 + (merchant - 1) % 20 * 1_000;
            let (voucher, campaign, subsidy) = match voucher {
                Some(v) => (v.to_string(), "1", 3000),
                None => ("NULL".to_owned(), "NULL", 0),
            };
            let paid = ts(paid);
            format!(
                "({id}, {user}, {merchant}, {merchant}, 1, {voucher}, {campaign}, {gross}, {subsidy}, {payable}, 'paid', \
                 '{id:012}', '{paid}', '{paid}', '{paid}', NULL)",
                payable = gross - subsidy,
            )
        },
    );
    Lottery { voucher_orders }
}

fn populate(conn: &mut DbConnection, orders: i64) -> i64 {
    let now = wenlv::time::now();
    let starts = now - Duration::days(90);
    let ends = now + Duration::days(10);
    let at = ts(now);
    bulk(
        conn,
        "users (id, phone, password_hash, display_name, role, created_at)",
        RESIDENTS + MERCHANTS + 1,
        |i| {
            let role = if i == 0 { "admin" } else { "resident" };
            format!("({}, '1390{:07}', 'x', 'r', '{role}', '{at}')", i + 1, i)
        },
    );
    bulk(
        conn,
        "merchants (id, name, license_no, category, district, address, contact_phone, status, owner_id, search_text, created_at)",
        MERCHANTS,
        |i| {
            let (c, d) = (CATEGORIES[i as usize % 6], DISTRICTS[i as usize % 4]);
            format!(
                "({id}, '商户 {id}', 'L{id:017}', '{c}', '{d}', '地址', '0316-1234567', 'approved', {owner}, '商户 {id}', '{at}')",
                id = i + 1,
                owner = RESIDENTS + 2 + i
            )
        },
    );
    bulk(
        conn,
        "offers (id, merchant_id, title, description, price_fen, stock, status, search_text, created_at, updated_at)",
        MERCHANTS,
        |i| {
            format!(
                "({id}, {id}, '票', '', {}, NULL, 'active', '票', '{at}', '{at}')",
                10_000 + (i % 20) * 1_000,
                id = i + 1
            )
        },
    );
    conn.batch_execute(&format!(
        "INSERT INTO campaigns (id, name, description, status, budget_fen, reserved_fen, target_leverage, starts_at, \
         ends_at, eligible_categories, eligible_districts, require_real_name, refund_returns_voucher, created_by, created_at) \
         VALUES (1, '百万订单', '', 'active', {budget}, {budget}, 10, '{}', '{}', '', '', FALSE, FALSE, 1, '{at}');
         INSERT INTO voucher_batches (id, campaign_id, name, discount_fen, min_spend_fen, quantity, remaining, per_user_limit,
         claim_starts_at, claim_ends_at, valid_days, created_at)
         VALUES (1, 1, '满100减30', 3000, 10000, {orders}, 0, 100, '{}', '{}', 366, '{at}');",
        ts(starts),
        ts(ends),
        ts(starts),
        ts(ends),
        budget = orders * 3000,
    ))
    .expect("campaign");
    let expires = ts(ends);
    bulk(
        conn,
        "vouchers (id, code, batch_id, campaign_id, user_id, slot, discount_fen, min_spend_fen, status, claimed_at, expires_at, order_id)",
        orders,
        |i| {
            format!(
                "({id}, 'V{id:019}', 1, 1, {user}, {slot}, 3000, 10000, 'used', '{at}', '{expires}', {id})",
                id = i + 1,
                user = 2 + i % RESIDENTS,
                slot = 1 + i / RESIDENTS
            )
        },
    );
    let seconds = (ends - starts).num_seconds().min(90 * 86_400);
    let no_voucher = orders / 20;
    bulk(
        conn,
        "orders (id, user_id, merchant_id, offer_id, quantity, voucher_id, campaign_id, gross_fen, subsidy_fen, payable_fen, \
         status, redemption_code, created_at, payment_due_at, paid_at, redeemed_at)",
        orders + no_voucher,
        |i| {
            let merchant = 1 + (i * 7919) % MERCHANTS;
            let gross = 10_000 + (merchant - 1) % 20 * 1_000;
            let paid = ts(starts + Duration::seconds((i * 104_729) % seconds));
            let with_voucher = i < orders;
            let (voucher, campaign, subsidy) = if with_voucher { ((i + 1).to_string(), "1", 3000) } else { ("NULL".to_owned(), "NULL", 0) };
            let (status, redeemed) = if i % 3 == 0 { ("redeemed", format!("'{paid}'")) } else { ("paid", "NULL".to_owned()) };
            format!(
                "({id}, {user}, {merchant}, {merchant}, 1, {voucher}, {campaign}, {gross}, {subsidy}, {payable}, '{status}', \
                 '{code:012}', '{paid}', '{paid}', '{paid}', {redeemed})",
                id = i + 1,
                user = 2 + i % RESIDENTS,
                payable = gross - subsidy,
                code = i + 1,
            )
        },
    );
    1
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let orders: i64 = args.get("orders", 1_000_000);
    let requests: usize = args.get("requests", 30);
    let entrants: i64 = args.get("entrants", 200_000);
    let db = BenchDb::fresh(args.engine());
    let mut settings = common::settings(&db);
    println!(
        "report benchmark: {:?}, {orders} orders with vouchers (+5% without), a drawn lottery of {entrants} entrants, {requests} requests",
        db.engine
    );

    let address = common::spawn(settings.clone());
    let tz = settings.timezone();
    let mut conn = db.connect();
    let started = Instant::now();
    let campaign = populate(&mut conn, orders);
    // `--entrants 0`: no lottery, the report as before it had causal figures.
    let lottery = if entrants > 0 {
        populate_lottery(
            &mut conn,
            entrants,
            RESIDENTS + MERCHANTS + 2,
            orders + 1,
            orders + orders / 20 + 1,
        )
    } else {
        Lottery { voucher_orders: 0 }
    };
    let counted = orders + lottery.voucher_orders;
    let loaded = started.elapsed();
    let started = Instant::now();
    wenlv::reports::rollup::rebuild(&mut conn, tz).expect("rollup");
    // What autovacuum does after a bulk load on a live PostgreSQL (statistics, and
    // the visibility map that lets index-only scans skip the heap); SQLite's
    // equivalent is ANALYZE.
    let maintenance = match conn {
        DbConnection::Postgresql(_) => "VACUUM ANALYZE",
        DbConnection::Sqlite(_) => "ANALYZE",
    };
    conn.batch_execute(maintenance).expect("maintenance");
    println!(
        "set-up: data {:.1} s, rollup rebuilt in {:.1} s (not timed below)",
        loaded.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // An admin token, minted with the service's own keys.
    settings.auth.access_token_ttl_seconds = 900;
    let token = wenlv::auth::jwt::TokenKeys::new(&settings.auth)
        .issue(1, wenlv::domain::Role::Admin)
        .expect("token");
    let client = reqwest::Client::new();
    let url = format!("{address}/api/v1/admin/campaigns/{campaign}/report");

    let first = client.get(&url).bearer_auth(&token).send().await.expect("report");
    assert_eq!(first.status().as_u16(), 200);
    let body: serde_json::Value = first.json().await.expect("json");
    assert_eq!(body["orders"], counted, "every order counted");
    println!(
        "report: {} orders, consumption {} fen, subsidy {} fen, leverage {:.3}, merchant-wide leverage {:.3}, {} merchants, {} days",
        body["orders"],
        body["consumption_fen"],
        body["subsidy_fen"],
        body["leverage"].as_f64().unwrap_or(0.0),
        body["merchant_wide_leverage"].as_f64().unwrap_or(0.0),
        body["by_merchant"].as_array().map_or(0, Vec::len),
        body["by_day"].as_array().map_or(0, Vec::len),
    );
    let causal = &body["causal"];
    println!(
        "causal: {} winners, {} losers, means {} vs {} fen, {} fen more per winner, subsidy {} fen per winner, \
         causal leverage {:.3} (95% {:.3} to {:.3})",
        causal["winners"],
        causal["losers"],
        causal["winners_mean_consumption_fen"],
        causal["losers_mean_consumption_fen"],
        causal["incremental_per_winner_fen"],
        causal["subsidy_per_winner_fen"],
        causal["causal_leverage"].as_f64().unwrap_or(f64::NAN),
        causal["ci95_low"].as_f64().unwrap_or(f64::NAN),
        causal["ci95_high"].as_f64().unwrap_or(f64::NAN),
    );
    if entrants >= 8 {
        assert_eq!(
            causal["winners"],
            (entrants + 3) / 4,
            "every winner in the causal figures"
        );
    }

    let mut service = Stats::default();
    let started = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        let status = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        service.latencies.push(t.elapsed());
        *service.outcomes.entry(status.to_string()).or_default() += 1;
    }
    service.elapsed = started.elapsed();

    let mut direct = Stats::default();
    let started = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        let report =
            wenlv::reports::repo::campaign_report(&mut conn, tz, campaign, wenlv::time::now()).expect("report");
        direct.latencies.push(t.elapsed());
        *direct
            .outcomes
            .entry(if report.orders == counted { "ok" } else { "wrong" }.to_owned())
            .or_default() += 1;
    }
    direct.elapsed = started.elapsed();

    println!();
    common::report(
        "campaign report at a million orders: service vs the same queries direct",
        &service,
        &direct,
        0.5,
    );
    let p99 = ms(service.percentile(0.99));
    println!(
        "service p99 {p99:.1} ms (goal < 200 ms: {})",
        if p99 < 200.0 { "met" } else { "NOT met" }
    );
}
