//! Stock shards (`vouchers::stock`, issue 11 item 4): a batch made with
//! `claims.stock_shards` > 1 keeps its stock in several rows whose sum is
//! `remaining`. On both engines (the knob is set explicitly, so SQLite runs the
//! sharded path too): a storm over three instances drains exactly the quantity, the
//! batch object shows the sum, a resident hammering from two instances gets exactly
//! `per_user_limit`, and `sold_out` comes only when every shard is empty.

use std::collections::BTreeMap;

use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;
use wenlv::config::Settings;
use wenlv::db::schema::{batch_stock_shards, voucher_batches, vouchers};

use crate::campaigns_fixtures::{batch_body, campaign_body, listed_batch};
use crate::helpers::{Actor, TestApp};
use crate::vouchers::remaining;

const SHARDS: usize = 4;

fn sharded(settings: &mut Settings) {
    settings.claims.stock_shards = Some(SHARDS);
}

/// The batch's shards, shard → remaining.
fn shards(app: &TestApp, batch: i64) -> BTreeMap<i64, i64> {
    batch_stock_shards::table
        .filter(batch_stock_shards::batch_id.eq(batch))
        .select((batch_stock_shards::shard, batch_stock_shards::remaining))
        .load::<(i64, i64)>(&mut app.db())
        .expect("shards")
        .into_iter()
        .collect()
}

/// The batch's own `remaining` column (0 once its stock is in shards).
fn own_column(app: &TestApp, batch: i64) -> i64 {
    voucher_batches::table
        .find(batch)
        .select(voucher_batches::remaining)
        .first(&mut app.db())
        .expect("batch")
}

/// Vouchers of the batch per resident.
fn holdings(app: &TestApp, batch: i64) -> BTreeMap<i64, i64> {
    vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .group_by(vouchers::user_id)
        .select((vouchers::user_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(&mut app.db())
        .expect("holdings")
        .into_iter()
        .collect()
}

fn codes(answers: &[Result<wenlv::vouchers::models::VoucherRow, wenlv::error::AppError>]) -> Vec<&'static str> {
    answers
        .iter()
        .map(|a| match a {
            Ok(_) => "201",
            Err(e) => e.code().as_str(),
        })
        .collect()
}

#[tokio::test]
async fn a_sharded_batch_is_made_with_its_stock_in_shards_and_shows_their_sum() {
    let app = TestApp::spawn_with(sharded).await;
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let made = app.batch(&admin, campaign, batch_body(10, 2)).await.clone();
    let batch = made["id"].as_i64().expect("batch id");
    assert_eq!(made["remaining"], json!(10), "the created batch shows its stock");
    assert_eq!(shards(&app, batch), BTreeMap::from([(0, 3), (1, 3), (2, 2), (3, 2)]));
    assert_eq!(own_column(&app, batch), 0, "the whole stock is in the shards");
    let people = app.residents(3).await;
    for who in &people {
        app.claim(who, batch).await.expect(201, None);
    }
    assert_eq!(remaining(&app, batch), 7);
    assert_eq!(shards(&app, batch).values().sum::<i64>(), 7);
    assert_eq!(listed_batch(&app, campaign, batch).await["remaining"], json!(7));
    let listed = app.get("/campaigns", None).await.ok().clone();
    let in_list = listed["items"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == json!(campaign)).cloned())
        .expect("the campaign is listed");
    assert_eq!(in_list["batches"][0]["remaining"], json!(7));
    // A lottery batch is issued by its draw alone: never sharded.
    let lottery = app
        .batch(
            &admin,
            campaign,
            crate::campaigns_fixtures::with(batch_body(10, 1), json!({ "allocation": "lottery" })),
        )
        .await["id"]
        .as_i64()
        .expect("lottery batch id");
    assert!(shards(&app, lottery).is_empty());
    assert_eq!(own_column(&app, lottery), 10);
}

#[tokio::test]
async fn one_stock_shard_keeps_the_stock_in_the_batch_row() {
    let app = TestApp::spawn_with(|s| s.claims.stock_shards = Some(1)).await;
    let admin = app.admin().await;
    let batch = app.claimable_batch(&admin, 10, 1).await;
    assert!(shards(&app, batch).is_empty());
    app.claim(&app.resident().await, batch).await.expect(201, None);
    assert_eq!(own_column(&app, batch), 9);
}

#[tokio::test]
async fn a_storm_over_three_instances_drains_a_sharded_batch_exactly() {
    let app = TestApp::spawn_with(sharded).await;
    let second = app.spawn_sharing(sharded).await;
    let third = app.spawn_sharing(sharded).await;
    let instances = [&app, &second, &third];
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let batch = app.batch(&admin, campaign, batch_body(90, 2)).await["id"]
        .as_i64()
        .expect("batch id");
    let people = app.residents(120).await;
    // Every resident claims twice, each claim through the next instance: 240 claims
    // for 90 vouchers, from 48 parallel clients.
    let claims: Vec<(usize, &Actor)> = people.iter().chain(people.iter()).enumerate().collect();
    let clients = claims.chunks(5).map(|share| async move {
        let mut answers = Vec::new();
        for &(i, who) in share {
            let resp = instances[i % 3].claim(who, batch).await;
            answers.push((resp.status, resp.body["code"].as_str().unwrap_or("").to_owned()));
        }
        answers
    });
    let answers: Vec<(u16, String)> = join_all(clients).await.into_iter().flatten().collect();
    assert!(answers.iter().all(|a| a.0 < 500), "no 5xx: {answers:?}");
    let created = answers.iter().filter(|a| a.0 == 201).count();
    assert_eq!(created, 90, "{answers:?}");
    assert!(answers
        .iter()
        .all(|a| a.0 == 201 || (a.0 == 409 && (a.1 == "sold_out" || a.1 == "claim_limit_reached"))));
    let held = holdings(&app, batch);
    assert_eq!(
        held.values().sum::<i64>(),
        90,
        "exactly the quantity, counted in the database"
    );
    assert!(held.values().all(|&n| n <= 2), "nobody beyond the limit");
    assert!(shards(&app, batch).values().all(|&n| n == 0), "every shard is empty");
    assert_eq!(remaining(&app, batch), 0);
    for instance in instances {
        assert_eq!(listed_batch(instance, campaign, batch).await["remaining"], json!(0));
    }
    let late = app.resident().await;
    second.claim(&late, batch).await.expect(409, Some("sold_out"));
    crate::order_fixtures::check_invariants(&mut app.db(), &std::collections::HashMap::new());
}

#[tokio::test]
async fn one_resident_hammering_from_two_instances_gets_the_limit_exactly() {
    let app = TestApp::spawn_with(sharded).await;
    let other = app.spawn_sharing(sharded).await;
    let admin = app.admin().await;
    let batch = app.claimable_batch(&admin, 100, 3).await;
    let resident = app.resident().await;
    let results = join_all((0..24).map(|i| if i % 2 == 0 { &app } else { &other }.claim(&resident, batch))).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let limited = results
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "claim_limit_reached")
        .count();
    assert_eq!(
        (created, limited),
        (3, 21),
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(holdings(&app, batch), BTreeMap::from([(resident.id, 3)]));
    assert_eq!(remaining(&app, batch), 97);
    assert_eq!(shards(&app, batch).values().sum::<i64>(), 97);
}

#[tokio::test]
async fn sold_out_comes_only_when_every_shard_is_empty() {
    let app = TestApp::spawn_with(sharded).await;
    let admin = app.admin().await;
    // Four vouchers, one in each shard.
    let batch = app.claimable_batch(&admin, 4, 1).await;
    assert_eq!(shards(&app, batch), BTreeMap::from([(0, 1), (1, 1), (2, 1), (3, 1)]));
    let ids: Vec<i64> = app.residents(6).await.iter().map(|p| p.id).collect();
    let mut db = app.db();
    // A group of three: no single shard has three, so they spill over the shards in
    // shard order, leaving the last one.
    let three = wenlv::vouchers::repo::group::claim_group(&mut db, &app.clock, batch, &ids[..3]).expect("group");
    assert_eq!(codes(&three.answers), ["201", "201", "201"]);
    assert_eq!(shards(&app, batch), BTreeMap::from([(0, 0), (1, 0), (2, 0), (3, 1)]));
    assert_eq!(three.seen.map(|s| s.remaining), Some(1), "not seen sold out");
    // Three empty shards are not sold out: the single claim finds the last voucher.
    let fourth = wenlv::vouchers::repo::claim(&mut db, &app.clock, batch, ids[3]);
    assert!(fourth.is_ok(), "{fourth:?}");
    assert!(shards(&app, batch).values().all(|&n| n == 0));
    // Now every shard is empty: sold out, one at a time and in a group.
    let fifth = wenlv::vouchers::repo::claim(&mut db, &app.clock, batch, ids[4]);
    assert_eq!(fifth.err().map(|e| e.code().as_str()), Some("sold_out"));
    let last = wenlv::vouchers::repo::group::claim_group(&mut db, &app.clock, batch, &ids[5..]).expect("group");
    assert_eq!(codes(&last.answers), ["sold_out"]);
    assert_eq!(last.seen.map(|s| s.remaining), Some(0), "seen sold out");
    assert_eq!(holdings(&app, batch).values().sum::<i64>(), 4);
}

#[tokio::test]
async fn a_single_claim_takes_from_a_shard_with_stock_left() {
    // One transaction per claim (claims.enabled = false) takes the sharded path of
    // `vouchers::repo::claim`; the last voucher is found in whichever shard holds it.
    let app = TestApp::spawn_with(|s| {
        sharded(s);
        s.claims.enabled = false;
    })
    .await;
    let admin = app.admin().await;
    let batch = app.claimable_batch(&admin, 4, 1).await;
    let people = app.residents(5).await;
    for who in &people[..4] {
        app.claim(who, batch).await.expect(201, None);
    }
    app.claim(&people[4], batch).await.expect(409, Some("sold_out"));
    assert!(shards(&app, batch).values().all(|&n| n == 0));
}
