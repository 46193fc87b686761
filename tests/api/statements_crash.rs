//! Crash safety of the closing job: `wenlv close-statements` (the real binary) is
//! killed with SIGKILL again and again at growing delays while it closes a month of
//! statements. After every kill each merchant and day has either no statement or a
//! whole one (its lines sum to its figures, its day is recorded as closed with
//! exactly its statements), and once a run completes the money reconciles with the
//! orders to the fen.
//!
//! The same with the server: the real binary's own closing job is killed at growing
//! delays until a run completes (with reversed orders on closed days, so clawbacks
//! and a carried negative balance are in play), and two servers on one database
//! both run it: each merchant and day is closed, and announced, exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use wenlv::db::schema::{statement_days, statement_lines, statements};
use wenlv::db::DbConnection;
use wenlv::statements::models::StatementLineKind;
use wenlv::webhooks::models::EventType;

use crate::helpers::TestApp;
use crate::server_process::Server;
use crate::statement_fixtures::{
    at, close_through, insert_redeemed, insert_resident, owed_from_orders, rebuild_rollup, statement_sums,
};

const DAYS: u32 = 20;
const THROUGH: &str = "2026-11-20";

/// Every statement is whole, and every closed day holds exactly its statements.
pub fn check_whole(conn: &mut DbConnection) {
    type Figures = (i64, String, i64, i64, i64, i64);
    let rows: Vec<Figures> = statements::table
        .select((
            statements::id,
            statements::day,
            statements::orders,
            statements::subsidy_fen,
            statements::clawback_fen,
            statements::carried_in_fen,
        ))
        .load(conn)
        .expect("statements");
    let lines: Vec<(Option<i64>, i64)> = statement_lines::table
        .select((statement_lines::statement_id, statement_lines::amount_fen))
        .load(conn)
        .expect("lines");
    let mut sums: HashMap<i64, (i64, i64)> = HashMap::new();
    for (statement, amount) in lines {
        // A pending clawback is on no statement yet: the merchant's next takes it.
        let Some(statement) = statement else { continue };
        let e = sums.entry(statement).or_default();
        *e = (e.0 + 1, e.1 + amount);
    }
    let clawback_lines: HashMap<i64, i64> = statement_lines::table
        .filter(statement_lines::kind.eq(StatementLineKind::Clawback.as_str()))
        .filter(statement_lines::statement_id.is_not_null())
        .group_by(statement_lines::statement_id)
        .select((statement_lines::statement_id, diesel::dsl::count_star()))
        .load::<(Option<i64>, i64)>(conn)
        .expect("clawback lines")
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, n)))
        .collect();
    let mut per_day: HashMap<String, i64> = HashMap::new();
    for (id, day, orders, subsidy, clawback, carried_in) in rows {
        // Lines: one per subsidy order plus the clawbacks; the carried-in debt is
        // part of the clawbacks but not a line.
        assert_eq!(
            sums.get(&id).copied().unwrap_or_default(),
            (
                orders + clawback_lines.get(&id).copied().unwrap_or(0),
                subsidy - clawback - carried_in
            ),
            "statement {id}"
        );
        *per_day.entry(day).or_default() += 1;
    }
    let days: Vec<(String, i64)> = statement_days::table
        .select((statement_days::day, statement_days::statements))
        .load(conn)
        .expect("days");
    let closed: HashMap<String, i64> = days.into_iter().collect();
    for (day, n) in &per_day {
        assert_eq!(
            closed.get(day),
            Some(n),
            "day {day}: its statements and its closing row"
        );
    }
}

#[tokio::test]
async fn a_killed_closing_leaves_no_statement_or_a_whole_one() {
    let app = TestApp::spawn().await;
    let mut shops = Vec::new();
    for _ in 0..4 {
        shops.push(app.shop(None).await);
    }
    let mut conn = app.db();
    let mut n = 0;
    for d in 1..=DAYS {
        let day = format!("2026-11-{d:02}");
        for shop in &shops {
            for minute in 0..6 {
                n += 1;
                let user = insert_resident(&mut conn, n);
                insert_redeemed(&mut conn, shop, user, 15_000, at(&day, 3, minute, 0));
            }
        }
    }
    rebuild_rollup(&mut conn);

    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut delay_ms = 5;
    let mut kills = 0;
    // Kills that landed after the first day closed and before the last.
    let mut partial = 0;
    loop {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wenlv"))
            .args(["close-statements", "--through", THROUGH])
            .env("WENLV_CONFIG_DIR", &config_dir)
            .env("WENLV_ENV", "test")
            .env("DATABASE_URL", &app.settings.database.url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the wenlv binary starts");
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let finished = child.try_wait().expect("status").is_some_and(|s| s.success());
        if !finished {
            // std's kill is SIGKILL on Unix: no shutdown code runs.
            let _ = child.kill();
            let _ = child.wait();
            kills += 1;
        }
        check_whole(&mut app.db());
        let days: i64 = statement_days::table.count().get_result(&mut app.db()).expect("count");
        if !finished && days > 0 && days < i64::from(DAYS) {
            partial += 1;
        }
        if finished || delay_ms > 20_000 {
            break;
        }
        delay_ms = delay_ms * 3 / 2;
    }
    // Whatever the kills left, a last run completes the month.
    let status = Command::new(env!("CARGO_BIN_EXE_wenlv"))
        .args(["close-statements", "--through", THROUGH])
        .env("WENLV_CONFIG_DIR", &config_dir)
        .env("WENLV_ENV", "test")
        .env("DATABASE_URL", &app.settings.database.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert!(status.success());
    assert!(kills > 0, "at least one run was killed");
    eprintln!("{kills} runs killed, {partial} of them mid-month");
    check_whole(&mut conn);
    let closed: i64 = statements::table.count().get_result(&mut conn).expect("count");
    assert_eq!(closed, i64::from(DAYS) * shops.len() as i64);
    let expected = owed_from_orders(&mut conn, THROUGH);
    assert_eq!(statement_sums(&mut conn), (expected, expected));
}

/// The servers' settings for these tests: the closing job every second, no holding
/// days (so every past day is due at once).
const CLOSING_NOW: [(&str, &str); 2] = [
    ("WENLV__SETTLEMENT__CLOSE_INTERVAL_SECONDS", "1"),
    ("WENLV__SETTLEMENT__HOLDING_DAYS", "0"),
];

/// `shops` with `per_day` redeemed voucher orders each (distinct residents) at noon
/// Shanghai on each of the `days` days before today; returns the first and last day.
fn past_days_of_orders(
    conn: &mut DbConnection,
    shops: &[crate::order_fixtures::Shop],
    days: u64,
    per_day: u32,
) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let tz = crate::statement_fixtures::tz();
    let today = wenlv::time::now().and_utc().with_timezone(&tz).date_naive();
    let day = |back| today.checked_sub_days(chrono::Days::new(back)).expect("day");
    let mut n = 0;
    for back in 1..=days {
        let noon = day(back).and_hms_opt(4, 0, 0).expect("04:00 UTC");
        for shop in shops {
            for i in 0..per_day {
                n += 1;
                let user = insert_resident(conn, n);
                insert_redeemed(conn, shop, user, 15_000, noon + chrono::Duration::seconds(i64::from(i)));
            }
        }
    }
    rebuild_rollup(conn);
    (day(days), day(1))
}

/// Statements per (merchant, day), and the most any pair has.
fn most_per_merchant_day(conn: &mut DbConnection) -> i64 {
    statements::table
        .group_by((statements::merchant_id, statements::day))
        .select(diesel::dsl::count_star())
        .load::<i64>(conn)
        .expect("counts")
        .into_iter()
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_server_killed_during_its_closing_job_leaves_no_statement_or_a_whole_one() {
    const DAYS: u64 = 24;
    let app = TestApp::spawn().await;
    let mut shops = Vec::new();
    for _ in 0..6 {
        shops.push(app.shop(None).await);
    }
    let mut conn = app.db();
    let (first, last) = past_days_of_orders(&mut conn, &shops, DAYS, 8);
    // The first days close before the crashes; then the first shop is found out:
    // twelve of its orders on them are reversed, so its next statement takes twelve
    // clawbacks against eight subsidies (a negative net), and the one after that
    // takes the debt in as a clawback.
    let early = first.checked_add_days(chrono::Days::new(1)).expect("day");
    let early_text = early.format("%Y-%m-%d").to_string();
    close_through(&mut conn, &early_text);
    let fraud: Vec<i64> = statement_lines::table
        .inner_join(statements::table.on(statement_lines::statement_id.eq(statements::id.nullable())))
        .filter(statements::merchant_id.eq(shops[0].merchant_id))
        .select(statement_lines::order_id)
        .order(statement_lines::order_id.asc())
        .limit(12)
        .load(&mut conn)
        .expect("the first shop's closed orders");
    assert_eq!(fraud.len(), 12);
    // Through the service's reversal directly: the set-up above outlasts the
    // in-process server's keep-alive, and a reused idle connection can be cut.
    let admin = wenlv::domain::Caller {
        id: shops[0].admin.id,
        role: wenlv::domain::Role::Admin,
    };
    for &order_id in &fraud {
        wenlv::statements::reversal::reverse(&mut conn, app.settings.timezone(), admin, order_id, "fake orders")
            .expect("reversed");
    }

    let database_url = app.settings.database.url.clone();
    let days_closed =
        |conn: &mut DbConnection| -> i64 { statement_days::table.count().get_result(conn).expect("count") };
    let mut delay_ms = 150;
    let (mut kills, mut partial) = (0, 0);
    loop {
        let mut server = Server::spawn(&database_url, &CLOSING_NOW);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        server.kill();
        kills += 1;
        let mut check = app.db();
        check_whole(&mut check);
        let closed = days_closed(&mut check);
        if closed == DAYS as i64 {
            break;
        }
        if closed > 2 {
            partial += 1;
        }
        assert!(
            delay_ms < 20_000,
            "the closing job never finished ({closed} days closed)"
        );
        delay_ms = delay_ms * 3 / 2;
    }
    eprintln!("{kills} servers killed, {partial} of them after some days closed");
    check_whole(&mut conn);
    assert_eq!(most_per_merchant_day(&mut conn), 1);
    let closed: i64 = statements::table.count().get_result(&mut conn).expect("count");
    assert_eq!(closed, DAYS as i64 * shops.len() as i64);
    let carried: Vec<(i64, i64)> = statements::table
        .filter(statements::merchant_id.eq(shops[0].merchant_id))
        .filter(statements::day.gt(&early_text))
        .order(statements::day.asc())
        .limit(2)
        .select((statements::net_fen, statements::carried_in_fen))
        .load(&mut conn)
        .expect("the first shop's statements after the reversals");
    let d = crate::order_fixtures::DISCOUNT_FEN;
    assert_eq!(carried, vec![(-4 * d, 0), (4 * d, -4 * d)]);
    let expected = owed_from_orders(&mut conn, &last.format("%Y-%m-%d").to_string());
    assert_eq!(statement_sums(&mut conn), (expected, expected));
}

#[tokio::test]
async fn two_servers_closing_on_one_database_close_each_merchant_day_once() {
    const DAYS: u64 = 10;
    let app = TestApp::spawn().await;
    let mut shops = Vec::new();
    for _ in 0..4 {
        shops.push(app.shop(None).await);
    }
    // One merchant listens: each of its statements is announced exactly once.
    app.post(
        &format!("/merchants/{}/webhooks", shops[0].merchant_id),
        Some(&shops[0].owner.token),
        serde_json::json!({"url": "http://127.0.0.1:9/statements"}),
    )
    .await
    .expect(201, None);
    let mut conn = app.db();
    let (_, last) = past_days_of_orders(&mut conn, &shops, DAYS, 5);

    let database_url = app.settings.database.url.clone();
    let servers = [
        Server::spawn(&database_url, &CLOSING_NOW),
        Server::spawn(&database_url, &CLOSING_NOW),
    ];
    let mut closed = 0;
    for _ in 0..600 {
        closed = statement_days::table
            .count()
            .get_result::<i64>(&mut conn)
            .expect("count");
        if closed == DAYS as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A pass or two more, in which both find nothing left to close.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut servers = servers;
    for server in &mut servers {
        assert!(server.is_running(), "a closing server died");
        server.kill();
    }
    assert_eq!(closed, DAYS as i64);
    check_whole(&mut conn);
    assert_eq!(most_per_merchant_day(&mut conn), 1);
    let statements_written: i64 = statements::table.count().get_result(&mut conn).expect("count");
    assert_eq!(statements_written, DAYS as i64 * shops.len() as i64);
    let announced: i64 = wenlv::db::schema::webhook_events::table
        .filter(wenlv::db::schema::webhook_events::merchant_id.eq(shops[0].merchant_id))
        .filter(wenlv::db::schema::webhook_events::event_type.eq(EventType::StatementClosed.as_str()))
        .count()
        .get_result(&mut conn)
        .expect("events");
    assert_eq!(announced, DAYS as i64);
    let expected = owed_from_orders(&mut conn, &last.format("%Y-%m-%d").to_string());
    assert_eq!(statement_sums(&mut conn), (expected, expected));
}
