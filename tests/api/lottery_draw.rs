//! The draw of a lottery batch (API.md, Fair release): the commitment before, the
//! seed after, winners recomputed here independently (HMAC-SHA256 ranked by hex, in
//! this file, not the service's ranking), one voucher per winner and none per
//! loser, exactly once with several drawers, resumed after an interruption, drawn by
//! the job on its own, checked by `wenlv verify-draw` and by the README's Python.

use std::collections::{HashMap, HashSet};
use std::process::Command;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wenlv::db::schema::{batch_entries, voucher_batches, vouchers};

use crate::campaigns_fixtures::{at, batch_body, campaign_body, with};
use crate::helpers::{Actor, TestApp};

/// The winners as an auditor computes them: rank every entry number by the hex of
/// HMAC-SHA256(seed, decimal entry_no), take the first `quantity`, ascending.
pub fn recompute_winners(seed_hex: &str, entries: i64, quantity: i64) -> Vec<i64> {
    let seed = hex::decode(seed_hex).expect("seed is hex");
    let mut ranked: Vec<(String, i64)> = (1..=entries)
        .map(|n| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&seed).expect("key");
            mac.update(n.to_string().as_bytes());
            (hex::encode(mac.finalize().into_bytes()), n)
        })
        .collect();
    ranked.sort();
    let mut won: Vec<i64> = ranked.into_iter().take(quantity as usize).map(|(_, n)| n).collect();
    won.sort_unstable();
    won
}

impl TestApp {
    /// An active campaign with one lottery batch of `quantity` prizes, entries open.
    async fn lottery_batch(&self, admin: &Actor, quantity: i64) -> i64 {
        let campaign = self.active_campaign(admin, campaign_body()).await;
        let body = with(batch_body(quantity, 1), json!({"allocation": "lottery"}));
        self.batch(admin, campaign, body).await["id"]
            .as_i64()
            .expect("batch id")
    }

    /// `n` new residents, each entered into `batch_id`, in entry order.
    async fn entrants(&self, batch_id: i64, n: usize) -> Vec<Actor> {
        let mut people = Vec::with_capacity(n);
        for _ in 0..n {
            let resident = self.resident().await;
            self.action(&format!("/batches/{batch_id}/entries"), Some(&resident.token))
                .await
                .expect(201, None);
            people.push(resident);
        }
        people
    }

    /// Ends the entry window now (as time passing would).
    fn close_entries(&self, batch_id: i64) {
        let mut conn = self.db();
        diesel::update(voucher_batches::table.find(batch_id))
            .set(voucher_batches::claim_ends_at.eq(Utc::now().naive_utc() - Duration::seconds(1)))
            .execute(&mut conn)
            .expect("close the entry window");
    }

    async fn draw_of(&self, batch_id: i64) -> Value {
        self.get(&format!("/batches/{batch_id}/draw"), None)
            .await
            .expect(200, None)
            .clone()
    }

    /// Every winning entry number, following the cursor with pages of `limit`.
    async fn winner_list(&self, batch_id: i64, limit: usize) -> Vec<i64> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/batches/{batch_id}/draw/winners?limit={limit}"),
                Some(c) => format!("/batches/{batch_id}/draw/winners?limit={limit}&cursor={c}"),
            };
            let page = self.get(&path, None).await.expect(200, None).clone();
            all.extend(
                page["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|n| n.as_i64().expect("entry_no")),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return all,
            }
        }
    }
}

/// Each entrant's (status, voucher of the batch held) straight from the tables.
fn outcome(app: &TestApp, batch_id: i64) -> HashMap<i64, (String, Option<i64>, i64)> {
    let mut conn = app.db();
    let entries: Vec<(i64, String, Option<i64>)> = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .select((batch_entries::user_id, batch_entries::status, batch_entries::voucher_id))
        .load(&mut conn)
        .expect("entries");
    let held: Vec<i64> = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .select(vouchers::user_id)
        .load(&mut conn)
        .expect("vouchers");
    let mut count: HashMap<i64, i64> = HashMap::new();
    for user in held {
        *count.entry(user).or_default() += 1;
    }
    entries
        .into_iter()
        .map(|(user, status, voucher)| (user, (status, voucher, count.get(&user).copied().unwrap_or(0))))
        .collect()
}

/// Winners hold exactly one voucher each (the one their entry names), losers none,
/// and nobody else holds one.
fn assert_one_voucher_per_winner(app: &TestApp, batch_id: i64, winners: usize) {
    let by_user = outcome(app, batch_id);
    let won: Vec<_> = by_user.values().filter(|(s, _, _)| s == "won").collect();
    assert_eq!(won.len(), winners);
    for (status, voucher, held) in by_user.values() {
        match status.as_str() {
            "won" => assert!(
                voucher.is_some() && *held == 1,
                "a winner holds one voucher: {voucher:?} {held}"
            ),
            "lost" => assert!(voucher.is_none() && *held == 0, "a loser holds none"),
            other => panic!("after the draw no entry is {other}"),
        }
    }
    let mut conn = app.db();
    let issued: i64 = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(issued, winners as i64, "no voucher beyond the winners'");
}

#[actix_rt::test]
async fn the_draw_publishes_a_seed_matching_the_commitment_and_winners_anyone_can_recompute() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = app.lottery_batch(&admin, 5).await;
    let people = app.entrants(batch, 12).await;

    let before = app.draw_of(batch).await;
    assert_eq!(before["algorithm"], "hmac-sha256-rank-v1");
    assert_eq!(before["entries"], 12);
    assert_eq!(before["quantity"], 5);
    assert_eq!(before["winners"], 0);
    assert_eq!(before["seed"], Value::Null, "the seed is secret until the draw");
    assert_eq!(before["drawn_at"], Value::Null);
    let commitment = before["commitment"].as_str().expect("commitment").to_owned();
    assert_eq!(commitment.len(), 64);

    let draw_path = format!("/admin/batches/{batch}/draw");
    app.action(&draw_path, Some(&admin.token))
        .await
        .expect(409, Some("invalid_state"));
    app.action(&draw_path, Some(&people[0].token))
        .await
        .expect(403, Some("forbidden"));

    app.close_entries(batch);
    let drawn = app
        .action(&draw_path, Some(&admin.token))
        .await
        .expect(200, None)
        .clone();
    let seed = drawn["seed"].as_str().expect("seed published").to_owned();
    assert_eq!(
        hex::encode(Sha256::digest(hex::decode(&seed).expect("hex"))),
        commitment,
        "seed matches commitment"
    );
    assert_eq!(drawn["winners"], 5);
    assert!(drawn["drawn_at"].is_string());
    assert_eq!(app.draw_of(batch).await, drawn, "GET shows the same draw");

    let expected = recompute_winners(&seed, 12, 5);
    assert_eq!(
        app.winner_list(batch, 2).await,
        expected,
        "paged winners = the recomputation"
    );
    assert_one_voucher_per_winner(&app, batch, 5);

    // Each resident sees their own outcome; winners' vouchers are dated at the draw.
    let shown_campaign = app.get(&format!("/campaigns/{}", campaign_of(&app, batch)), None).await;
    let shown_batch = shown_campaign.expect(200, None)["batches"][0].clone();
    assert_eq!(shown_batch["remaining"], 0);
    assert_eq!(shown_batch["draw"], drawn);
    for (i, person) in people.iter().enumerate() {
        let entry_no = i as i64 + 1;
        let mine = app
            .get("/me/entries", Some(&person.token))
            .await
            .expect(200, None)
            .clone();
        let status = mine["items"][0]["status"].as_str().expect("status").to_owned();
        let vouchers = app
            .get("/me/vouchers", Some(&person.token))
            .await
            .expect(200, None)
            .clone();
        let held = vouchers["items"].as_array().expect("items").len();
        if expected.contains(&entry_no) {
            assert_eq!((status.as_str(), held), ("won", 1), "entry {entry_no}");
            assert_eq!(vouchers["items"][0]["claimed_at"], drawn["drawn_at"]);
        } else {
            assert_eq!((status.as_str(), held), ("lost", 0), "entry {entry_no}");
        }
    }

    app.action(&draw_path, Some(&admin.token))
        .await
        .expect(409, Some("invalid_state"));
    let late = app.resident().await;
    app.action(&format!("/batches/{batch}/entries"), Some(&late.token))
        .await
        .expect(409, Some("claim_ended"));
    app.action(&format!("/batches/{batch}/claim"), Some(&late.token))
        .await
        .expect(409, Some("wrong_allocation"));

    // The auditor's command line finds the same winners from the public figures.
    let out = Command::new(env!("CARGO_BIN_EXE_wenlv"))
        .args([
            "verify-draw",
            "--commitment",
            &commitment,
            "--seed",
            &seed,
            "--entries",
            "12",
            "--quantity",
            "5",
        ])
        .output()
        .expect("verify-draw runs");
    assert!(out.status.success());
    let printed: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(printed, expected);
    let wrong_seed = "00".repeat(32);
    let out = Command::new(env!("CARGO_BIN_EXE_wenlv"))
        .args([
            "verify-draw",
            "--commitment",
            &commitment,
            "--seed",
            &wrong_seed,
            "--entries",
            "12",
            "--quantity",
            "5",
        ])
        .output()
        .expect("verify-draw runs");
    assert!(!out.status.success(), "a seed that does not match fails");
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .all(|l| l.trim().parse::<i64>().is_err()));
}

fn campaign_of(app: &TestApp, batch_id: i64) -> i64 {
    let mut conn = app.db();
    voucher_batches::table
        .find(batch_id)
        .select(voucher_batches::campaign_id)
        .first(&mut conn)
        .expect("campaign")
}

#[actix_rt::test]
async fn with_fewer_entries_than_prizes_everyone_wins_and_the_rest_stays_remaining() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = app.lottery_batch(&admin, 10).await;
    app.entrants(batch, 3).await;
    app.close_entries(batch);
    let drawn = app
        .action(&format!("/admin/batches/{batch}/draw"), Some(&admin.token))
        .await
        .expect(200, None)
        .clone();
    assert_eq!(drawn["winners"], 3);
    assert_eq!(app.winner_list(batch, 20).await, vec![1, 2, 3]);
    assert_one_voucher_per_winner(&app, batch, 3);
    let mut conn = app.db();
    let remaining: i64 = voucher_batches::table
        .find(batch)
        .select(voucher_batches::remaining)
        .first(&mut conn)
        .expect("remaining");
    assert_eq!(remaining, 7, "remaining = quantity − winners");
}

#[actix_rt::test]
async fn draw_endpoints_answer_for_first_come_and_unknown_batches() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let first_come = app.claimable_batch(&admin, 5, 1).await;
    app.get(&format!("/batches/{first_come}/draw"), None)
        .await
        .expect(409, Some("wrong_allocation"));
    app.action(&format!("/admin/batches/{first_come}/draw"), Some(&admin.token))
        .await
        .expect(409, Some("wrong_allocation"));
    app.get("/batches/999999/draw", None)
        .await
        .expect(404, Some("not_found"));
    app.get("/batches/999999/draw/winners", None)
        .await
        .expect(404, Some("not_found"));
    app.action("/admin/batches/999999/draw", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));

    // A draft campaign's lottery batch is not public; an administrator sees it.
    let draft = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    let hidden = app
        .batch(&admin, draft, with(batch_body(3, 1), json!({"allocation": "lottery"})))
        .await["id"]
        .as_i64()
        .expect("id");
    app.get(&format!("/batches/{hidden}/draw"), None)
        .await
        .expect(404, Some("not_found"));
    app.get(&format!("/batches/{hidden}/draw"), Some(&admin.token))
        .await
        .expect(200, None);
    let first = app.lottery_batch(&admin, 3).await;
    let empty = app
        .get(&format!("/batches/{first}/draw/winners"), None)
        .await
        .expect(200, None)
        .clone();
    assert_eq!(empty["items"], json!([]), "no winners before the draw");
}

#[actix_rt::test]
async fn several_drawers_racing_issue_each_winner_exactly_one_voucher() {
    // Two instances with their draw jobs on and small chunks, and two administrators'
    // draws at once: whoever gets there, the draw happens once.
    let fast_job = |s: &mut wenlv::config::Settings| {
        s.lottery.draw_interval_ms = 5;
        s.lottery.draw_after_close_ms = 0;
        s.lottery.winners_per_transaction = 7;
    };
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = app.lottery_batch(&admin, 60).await;
    let people = app.entrants(batch, 150).await;
    assert_eq!(people.len(), 150);
    let one = app.spawn_sharing(fast_job).await;
    let two = app.spawn_sharing(fast_job).await;
    app.close_entries(batch);
    let path = format!("/admin/batches/{batch}/draw");
    let answers = join_all([
        one.action(&path, Some(&admin.token)),
        two.action(&path, Some(&admin.token)),
    ])
    .await;
    for answer in &answers {
        assert!(
            answer.status == 200 || answer.body["code"] == "invalid_state",
            "a racing drawer either finishes the draw or finds it done: {:?}",
            answer.body
        );
    }
    let drawn = wait_until_drawn(&app, batch).await;
    assert_eq!(drawn["winners"], 60);
    let seed = drawn["seed"].as_str().expect("seed");
    assert_eq!(app.winner_list(batch, 100).await, recompute_winners(seed, 150, 60));
    assert_one_voucher_per_winner(&app, batch, 60);
    let mut conn = app.db();
    let draws: i64 = wenlv::db::schema::audit_log::table
        .filter(wenlv::db::schema::audit_log::action.eq("batch.draw"))
        .count()
        .get_result(&mut conn)
        .expect("audit");
    // The jobs may finish before either administrator's call arrives (both then get
    // 409); each call that took part in the draw is audited.
    let took_part = answers.iter().filter(|a| a.status == 200).count() as i64;
    assert!(
        draws >= took_part && draws <= 2,
        "an administrator's draw is audited: {draws} for {took_part}"
    );
}

async fn wait_until_drawn(app: &TestApp, batch: i64) -> Value {
    for _ in 0..200 {
        let draw = app.draw_of(batch).await;
        if draw["drawn_at"].is_string() {
            return draw;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("batch {batch} was not drawn within 10 s");
}

#[actix_rt::test]
async fn an_interrupted_draw_is_resumed_without_issuing_anything_twice() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = app.lottery_batch(&admin, 20).await;
    app.entrants(batch, 45).await;
    app.close_entries(batch);
    let mut settings = app.settings.lottery.clone();
    settings.winners_per_transaction = 6;
    let mut conn = app.db();
    let stopped = wenlv::lottery::draw::draw_interrupted_after(&mut conn, &settings, batch, 2).expect("draw");
    assert!(stopped.is_none(), "stopped before finishing");
    let halfway = outcome(&app, batch);
    assert_eq!(
        halfway.values().filter(|(s, _, _)| s == "won").count(),
        12,
        "two chunks of six committed"
    );
    let shown = app.draw_of(batch).await;
    assert_eq!(shown["seed"], Value::Null, "an unfinished draw publishes nothing");
    app.action(&format!("/batches/{batch}/entries"), Some(&app.resident().await.token))
        .await
        .expect(409, Some("claim_ended"));

    // The job of a (restarted) instance picks it up and finishes it.
    let restarted = app
        .spawn_sharing(|s| {
            s.lottery.draw_interval_ms = 10;
            s.lottery.winners_per_transaction = 6;
        })
        .await;
    let drawn = wait_until_drawn(&restarted, batch).await;
    assert_eq!(drawn["winners"], 20);
    assert_eq!(
        app.winner_list(batch, 50).await,
        recompute_winners(drawn["seed"].as_str().expect("seed"), 45, 20)
    );
    assert_one_voucher_per_winner(&app, batch, 20);
    let dates: HashSet<String> = vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .select(vouchers::claimed_at)
        .load::<chrono::NaiveDateTime>(&mut conn)
        .expect("dates")
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(dates.len(), 1, "every winner's voucher carries the one draw time");
}

#[actix_rt::test]
async fn the_job_draws_by_itself_once_the_window_closes() {
    let app = TestApp::spawn_with(|s| {
        s.lottery.draw_interval_ms = 50;
        s.lottery.draw_after_close_ms = 200;
    })
    .await;
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let body = with(
        batch_body(2, 1),
        json!({"allocation": "lottery", "claim_ends_at": at(Duration::seconds(3))}),
    );
    let batch = app.batch(&admin, campaign, body).await["id"].as_i64().expect("id");
    app.entrants(batch, 4).await;
    let drawn = wait_until_drawn(&app, batch).await;
    assert_eq!(drawn["winners"], 2);
    assert_one_voucher_per_winner(&app, batch, 2);
}

/// The README's Python recipe, run as an auditor would (skipped, loudly, where no
/// python3 is installed).
#[actix_rt::test]
async fn the_readme_python_recipe_reproduces_the_winners() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme
        .find("## Fair release: lottery batches")
        .expect("the README's lottery section");
    let start = section + readme[section..].find("```python\n").expect("a python block there") + "```python\n".len();
    let recipe = &readme[start..start + readme[start..].find("```").expect("block end")];
    assert!(recipe.lines().count() <= 12, "the recipe stays about ten lines");
    let seed = "3f".repeat(32);
    let commitment = hex::encode(Sha256::digest(hex::decode(&seed).expect("hex")));
    let run = Command::new("python3")
        .arg("-c")
        .arg(recipe)
        .args([&commitment, &seed, "40", "9"])
        .output();
    let Ok(out) = run else {
        eprintln!("python3 is not installed: the README recipe was not run");
        return;
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(printed, recompute_winners(&seed, 40, 9));
    let bad = Command::new("python3")
        .arg("-c")
        .arg(recipe)
        .args([&commitment, &"00".repeat(32), "40", "9"])
        .output()
        .expect("python3 runs");
    assert!(!bad.status.success(), "the recipe refuses a seed that does not match");
}
