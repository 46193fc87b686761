//! Crash safety of the closing job: `wenlv close-statements` (the real binary) is
//! killed with SIGKILL again and again at growing delays while it closes a month of
//! statements. After every kill each merchant and day has either no statement or a
//! whole one (its lines sum to its figures, its day is recorded as closed with
//! exactly its statements), and once a run completes the money reconciles with the
//! orders to the fen.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use wenlv::db::schema::{statement_days, statement_lines, statements};
use wenlv::db::DbConnection;

use crate::helpers::TestApp;
use crate::statement_fixtures::{
    at, insert_redeemed, insert_resident, owed_from_orders, rebuild_rollup, statement_sums,
};

const DAYS: u32 = 20;
const THROUGH: &str = "2026-11-20";

/// Every statement is whole, and every closed day holds exactly its statements.
fn check_whole(conn: &mut DbConnection) {
    type Figures = (i64, String, i64, i64, i64);
    let rows: Vec<Figures> = statements::table
        .select((
            statements::id,
            statements::day,
            statements::orders,
            statements::subsidy_fen,
            statements::clawback_fen,
        ))
        .load(conn)
        .expect("statements");
    let lines: Vec<(Option<i64>, i64)> = statement_lines::table
        .select((statement_lines::statement_id, statement_lines::amount_fen))
        .load(conn)
        .expect("lines");
    let mut sums: HashMap<i64, (i64, i64)> = HashMap::new();
    for (statement, amount) in lines {
        let statement = statement.expect("no pending clawbacks in this test");
        let e = sums.entry(statement).or_default();
        *e = (e.0 + 1, e.1 + amount);
    }
    let mut per_day: HashMap<String, i64> = HashMap::new();
    for (id, day, orders, subsidy, clawback) in rows {
        assert_eq!(
            sums.get(&id).copied().unwrap_or_default(),
            (orders, subsidy - clawback),
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
