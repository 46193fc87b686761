//! The resident journey: claim a voucher → order with it → pay, per second.
//!
//! `cargo bench --bench journey -- [--engine sqlite|postgres] [--residents 2000]
//! [--clients 64] [--connections 8]`
//!
//! Timed: C concurrent clients, every resident runs the journey once over HTTP
//! (`POST /batches/{id}/claim`, `POST /orders` with the voucher,
//! `POST /orders/{id}/pay`). Then, in the same run, the same three transactions
//! (`vouchers::repo::claim`, `orders::repo::create`, the sandbox provider and
//! `orders::repo::pay`) are driven straight against the database with as many
//! connections as the service's pool, on a second batch and offer of the same
//! campaign and merchant. Prints journeys/s of both and the ratio, and checks that
//! every journey completed on each side.

mod common;

use std::sync::Arc;

use common::{drive_direct, drive_http, Args, BenchDb};
use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::{merchant_members, merchants, offers, orders};
use wenlv::db::DbConnection;
use wenlv::orders::repo::OrderRequest;
use wenlv::payments::{MoneyMovement, PaymentKind, PaymentProvider, Sandbox};

const PRICE_FEN: i64 = 15_000;

/// An approved theatre owned by `owner` with two offers of ample stock.
fn insert_merchant_and_offers(conn: &mut DbConnection, owner: i64) -> (i64, i64, i64) {
    let now = wenlv::time::now();
    let merchant: i64 = diesel::insert_into(merchants::table)
        .values((
            merchants::name.eq("Langfang Grand Theatre"),
            merchants::license_no.eq("91131000MA0000001X"),
            merchants::category.eq("performance"),
            merchants::district.eq("guangyang"),
            merchants::address.eq("广阳区新华路 1 号"),
            merchants::contact_phone.eq("0316-1234567"),
            merchants::status.eq("approved"),
            merchants::owner_id.eq(owner),
            merchants::search_text.eq("langfang grand theatre"),
            merchants::created_at.eq(now),
        ))
        .returning(merchants::id)
        .get_result(conn)
        .expect("merchant");
    diesel::insert_into(merchant_members::table)
        .values((
            merchant_members::merchant_id.eq(merchant),
            merchant_members::user_id.eq(owner),
            merchant_members::role.eq("owner"),
            merchant_members::created_at.eq(now),
        ))
        .execute(conn)
        .expect("owner");
    let mut offer = || -> i64 {
        diesel::insert_into(offers::table)
            .values((
                offers::merchant_id.eq(merchant),
                offers::title.eq("《茶馆》 Evening Show"),
                offers::description.eq(""),
                offers::price_fen.eq(PRICE_FEN),
                offers::stock.eq(Some(10_000_000_i64)),
                offers::status.eq("active"),
                offers::search_text.eq("《茶馆》 evening show\n"),
                offers::created_at.eq(now),
                offers::updated_at.eq(now),
            ))
            .returning(offers::id)
            .get_result(conn)
            .expect("offer")
    };
    let (http_offer, direct_offer) = (offer(), offer());
    (merchant, http_offer, direct_offer)
}

fn paid_orders(conn: &mut DbConnection, offer_id: i64) -> i64 {
    orders::table
        .filter(orders::offer_id.eq(offer_id))
        .filter(orders::status.eq("paid"))
        .count()
        .get_result(conn)
        .expect("count")
}

/// One journey over HTTP; "ok" or the step and status that failed.
async fn http_journey(client: &reqwest::Client, api: &str, token: &str, batch: i64, offer: i64) -> String {
    let step = |name: &str, response: Result<reqwest::Response, reqwest::Error>, want: u16| {
        let name = name.to_owned();
        async move {
            match response {
                Ok(r) if r.status().as_u16() == want => r.json::<Value>().await.map_err(|_| format!("{name} body")),
                Ok(r) => Err(format!("{name} {}", r.status().as_u16())),
                Err(_) => Err(format!("{name} error")),
            }
        }
    };
    let claim = client
        .post(format!("{api}/batches/{batch}/claim"))
        .bearer_auth(token)
        .send()
        .await;
    let voucher = match step("claim", claim, 201).await {
        Ok(v) => v["id"].as_i64().unwrap_or_default(),
        Err(e) => return e,
    };
    let order = client
        .post(format!("{api}/orders"))
        .bearer_auth(token)
        .json(&json!({"offer_id": offer, "quantity": 1, "voucher_id": voucher}))
        .send()
        .await;
    let order = match step("order", order, 201).await {
        Ok(o) => o["id"].as_i64().unwrap_or_default(),
        Err(e) => return e,
    };
    let pay = client
        .post(format!("{api}/orders/{order}/pay"))
        .bearer_auth(token)
        .send()
        .await;
    match step("pay", pay, 200).await {
        Ok(_) => "ok".to_owned(),
        Err(e) => e,
    }
}

/// The same three transactions, straight against the database.
fn direct_journey(c: &mut DbConnection, tz: chrono_tz::Tz, batch: i64, offer: i64, user: i64) -> String {
    let voucher = match wenlv::vouchers::repo::claim(c, &wenlv::time::Clock::system(tz), batch, user) {
        Ok(v) => v.id,
        Err(e) => return format!("claim {}", e.code().as_str()),
    };
    let request = OrderRequest {
        user_id: user,
        offer_id: offer,
        quantity: 1,
        voucher_id: Some(voucher),
        payment_timeout: 900,
        max_unpaid: i64::MAX,
        timezone: tz,
    };
    let order = match wenlv::orders::repo::create(c, request, None) {
        Ok(o) => o,
        Err(e) => return format!("order {}", e.code().as_str()),
    };
    let sandbox = Sandbox::default();
    let answer = match sandbox.start(&MoneyMovement {
        order_id: order.id,
        amount_fen: order.payable_fen,
        kind: PaymentKind::Payment,
    }) {
        Ok(a) => a,
        Err(_) => return "pay provider".to_owned(),
    };
    match wenlv::orders::repo::pay(c, tz, user, order.id, sandbox.name(), &answer, None) {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("pay {}", e.code().as_str()),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    let residents: usize = args.get("residents", 2_000);
    let clients: usize = args.get("clients", 64);
    let db = BenchDb::fresh(args.engine());
    let mut settings = common::settings(&db);
    settings.database.max_connections = args.get("connections", settings.database.max_connections);
    // No sweeper passes during the run.
    settings.orders.sweep_interval_seconds = 0;
    let connections = settings.database.max_connections as usize;
    let tz = settings.timezone();
    println!(
        "journey (claim → order with voucher → pay): {:?}, {residents} residents, {clients} clients, \
         pool of {connections} connections, {} HTTP workers",
        db.engine, settings.server.workers
    );
    let address = common::spawn(settings.clone());

    // --- set-up, not timed
    let mut conn = db.connect();
    let admin = common::insert_users(&mut conn, 1, "admin", 0)[0];
    let owner = common::insert_users(&mut conn, 1, "resident", 1)[0];
    let user_ids = common::insert_users(&mut conn, residents, "resident", 2);
    let tokens = common::tokens_for(&settings, &user_ids);
    let (_merchant, http_offer, direct_offer) = insert_merchant_and_offers(&mut conn, owner);
    let (http_batch, direct_batch) = common::campaign_with_twin_batches(
        &mut conn,
        admin,
        "journey",
        residents as i64,
        settings.claims.stock_shards_on(db.engine),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 8)
        .build()
        .expect("client");
    let api = Arc::new(format!("{address}/api/v1"));
    let tokens = Arc::new(tokens);

    // --- timed: the service
    let service = drive_http(clients, residents, move |i| {
        let (client, api, tokens) = (client.clone(), api.clone(), tokens.clone());
        async move { http_journey(&client, &api, &tokens[i], http_batch, http_offer).await }
    })
    .await;

    // --- timed: the same transactions, straight against the database
    let ids = user_ids.clone();
    let baseline = tokio::task::block_in_place(|| {
        drive_direct(&db, connections, residents, |i, c| {
            direct_journey(c, tz, direct_batch, direct_offer, ids[i])
        })
    });

    println!();
    common::report(
        "journeys/s (claim + order + pay): service (HTTP) vs the same transactions direct",
        &service,
        &baseline,
        0.5,
    );
    println!(
        "  transactions/s: service {:.0}, direct {:.0} (3 per journey)",
        service.rate() * 3.0,
        baseline.rate() * 3.0
    );
    let (http_paid, direct_paid) = (paid_orders(&mut conn, http_offer), paid_orders(&mut conn, direct_offer));
    println!("  paid orders: service {http_paid}, direct {direct_paid}");
    assert_eq!(
        service.count("ok"),
        residents,
        "every HTTP journey completes: {:?}",
        service.outcomes
    );
    assert_eq!(
        baseline.count("ok"),
        residents,
        "every direct journey completes: {:?}",
        baseline.outcomes
    );
    assert_eq!((http_paid, direct_paid), (residents as i64, residents as i64));
}
