//! Lottery entries under a storm (issue 12 item 3, issue 11's coalescing): entries
//! of one batch commit in groups that take the batch's entry counter once, yet every
//! resident enters at most once, `entry_no` runs 1..=n without a gap on any number of
//! instances, a drawer's fixed count is never overtaken, and a full queue answers
//! 503 `overloaded` with `Retry-After` and changes nothing.

use std::collections::BTreeSet;

use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;
use wenlv::db::schema::{batch_entries, voucher_batches};

use crate::campaigns_fixtures::{batch_body, with};
use crate::helpers::{Actor, TestApp};

/// An open lottery batch of `winners`; returns its id.
async fn lottery_batch(app: &TestApp, admin: &Actor, winners: i64) -> i64 {
    let campaign = app
        .active_campaign(admin, crate::campaigns_fixtures::campaign_body())
        .await;
    let body = with(batch_body(winners, 1), json!({"allocation": "lottery"}));
    app.batch(admin, campaign, body).await["id"].as_i64().expect("batch id")
}

async fn enter(app: &TestApp, who: &Actor, batch: i64) -> crate::helpers::Resp {
    app.action(&format!("/batches/{batch}/entries"), Some(&who.token)).await
}

/// (entry numbers, the batch's `entries` counter, distinct entrants) in the database.
fn entries_in_db(app: &TestApp, batch: i64) -> (Vec<i64>, i64, i64) {
    let mut conn = app.db();
    let numbers: Vec<i64> = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch))
        .select(batch_entries::entry_no)
        .order(batch_entries::entry_no)
        .load(&mut conn)
        .expect("entries");
    let counter: i64 = voucher_batches::table
        .find(batch)
        .select(voucher_batches::entries)
        .first(&mut conn)
        .expect("batch");
    let entrants: i64 = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch))
        .select(diesel::dsl::count(batch_entries::user_id).aggregate_distinct())
        .first(&mut conn)
        .expect("entrants");
    (numbers, counter, entrants)
}

#[tokio::test]
async fn an_entry_storm_over_two_instances_numbers_every_resident_once_without_gaps() {
    let app = TestApp::spawn().await;
    let other = app.spawn_sharing(|_| {}).await;
    let admin = app.admin().await;
    let batch = lottery_batch(&app, &admin, 10).await;
    let people = app.residents(150).await;
    // Every resident enters twice at once, through both instances: many groups hold
    // the same resident twice, and instances race for the same residents.
    let requests = people
        .iter()
        .flat_map(|who| [(&app, who), (&other, who)])
        .map(|(to, who)| async move {
            let resp = enter(to, who, batch).await;
            (
                resp.status,
                resp.body["code"].as_str().unwrap_or("").to_owned(),
                resp.body["entry_no"].as_i64(),
            )
        });
    let answers = join_all(requests).await;
    assert!(answers.iter().all(|a| a.0 < 500), "no 5xx: {answers:?}");
    let numbers: BTreeSet<i64> = answers.iter().filter(|a| a.0 == 201).filter_map(|a| a.2).collect();
    let again = answers
        .iter()
        .filter(|a| a.0 == 409 && a.1 == "already_entered")
        .count();
    assert_eq!((numbers.len(), again), (150, 150), "{answers:?}");
    assert_eq!(numbers, (1..=150).collect(), "answered numbers are 1..=150");
    let (stored, counter, entrants) = entries_in_db(&app, batch);
    assert_eq!(stored, (1..=150).collect::<Vec<_>>(), "stored numbers have no gap");
    assert_eq!((counter, entrants), (150, 150));
}

#[tokio::test]
async fn entries_after_a_draw_started_are_claim_ended_and_take_no_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = lottery_batch(&app, &admin, 5).await;
    let people = app.residents(20).await;
    for who in &people[..10] {
        enter(&app, who, batch).await.expect(201, None);
    }
    // What a drawer does first: fix the count (src/lottery, d3a368b's guard).
    diesel::update(voucher_batches::table.find(batch))
        .set(voucher_batches::draw_started_at.eq(Some(wenlv::time::now())))
        .execute(&mut app.db())
        .expect("draw started");
    let late = join_all(people[10..].iter().map(|who| enter(&app, who, batch))).await;
    for resp in &late {
        resp.expect(409, Some("claim_ended"));
    }
    let (stored, counter, _) = entries_in_db(&app, batch);
    assert_eq!((stored.len(), counter), (10, 10));
}

#[tokio::test]
async fn a_full_entry_queue_answers_overloaded_and_changes_nothing() {
    let app = TestApp::spawn_with(|s| {
        s.claims.max_queue = 1;
        s.claims.max_group = 1;
    })
    .await;
    let admin = app.admin().await;
    let batch = lottery_batch(&app, &admin, 10).await;
    let people = app.residents(300).await;
    let (mut overloaded, mut created) = (0, 0);
    for wave in people.chunks(60) {
        for resp in join_all(wave.iter().map(|who| enter(&app, who, batch))).await {
            match resp.status {
                201 => created += 1,
                503 => {
                    resp.expect(503, Some("overloaded"));
                    assert_eq!(resp.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
                    overloaded += 1;
                }
                other => panic!("unexpected {other}: {}", resp.text),
            }
        }
        if overloaded > 0 {
            break;
        }
    }
    assert!(overloaded > 0, "a queue of one never overflowed");
    let (stored, counter, entrants) = entries_in_db(&app, batch);
    assert_eq!(stored, (1..=created).collect::<Vec<_>>());
    assert_eq!((counter, entrants), (created, created));
}

#[tokio::test]
async fn entries_one_at_a_time_keep_the_same_rules() {
    let app = TestApp::spawn_with(|s| s.claims.enabled = false).await;
    let admin = app.admin().await;
    let batch = lottery_batch(&app, &admin, 10).await;
    let people = app.residents(30).await;
    let answers = join_all(people.iter().chain(people.iter()).map(|who| enter(&app, who, batch))).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 30);
    assert!(answers
        .iter()
        .all(|r| r.status == 201 || r.body["code"] == json!("already_entered")));
    let (stored, counter, _) = entries_in_db(&app, batch);
    assert_eq!((stored, counter), ((1..=30).collect::<Vec<_>>(), 30));
}
