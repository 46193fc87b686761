//! The campaign report at a million orders.
//!
//! `cargo bench --bench report -- [--engine sqlite|postgres] [--orders 1000000] [--requests 30]`
//!
//! Set-up (not timed): 2,035 merchants with an offer each, 10,000 residents, one
//! campaign whose batch issued a voucher per order, and `--orders` paid or redeemed
//! orders spread over the campaign's 90 days, plus 5% orders without a voucher;
//! the rollup is rebuilt from the orders the way `rollup::rebuild` does after a
//! bulk import. Then `GET /admin/campaigns/{id}/report` is timed through the
//! service, next to the same report computed directly against the database (the
//! service's own `reports::repo::campaign_report`, one connection). Goal: < 200 ms.

mod common;

use std::time::Instant;

use chrono::Duration;
use common::{ms, Args, BenchDb, Stats};
use diesel::connection::SimpleConnection;
use wenlv::db::DbConnection;

const MERCHANTS: i64 = 2_035;
const RESIDENTS: i64 = 10_000;
const ROWS_PER_INSERT: i64 = 500;
const CATEGORIES: [&str; 6] = [
    "bookstore",
    "cinema",
    "performance",
    "scenic_spot",
    "museum",
    "heritage_craft",
];
const DISTRICTS: [&str; 4] = ["guangyang", "anci", "sanhe", "bazhou"];

fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Inserts `count` rows made by `row(i)` in multi-row INSERTs inside one transaction.
fn bulk(conn: &mut DbConnection, table_and_columns: &str, count: i64, row: impl Fn(i64) -> String) {
    conn.batch_execute("BEGIN").expect("begin");
    let mut i = 0;
    while i < count {
        let end = (i + ROWS_PER_INSERT).min(count);
        let values: Vec<String> = (i..end).map(&row).collect();
        conn.batch_execute(&format!("INSERT INTO {table_and_columns} VALUES {}", values.join(",")))
            .expect("bulk insert");
        i = end;
    }
    conn.batch_execute("COMMIT").expect("commit");
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
    let db = BenchDb::fresh(args.engine());
    let mut settings = common::settings(&db);
    println!(
        "report benchmark: {:?}, {orders} orders with vouchers (+5% without), {requests} requests",
        db.engine
    );

    let address = common::spawn(settings.clone());
    let tz = settings.timezone();
    let mut conn = db.connect();
    let started = Instant::now();
    let campaign = populate(&mut conn, orders);
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
    assert_eq!(body["orders"], orders, "every order counted");
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
            .entry(if report.orders == orders { "ok" } else { "wrong" }.to_owned())
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
