//! Fixtures of the orders tests: merchants, offers, campaigns, batches and vouchers
//! inserted straight into the test's database as valid rows (the way their own
//! features would write them), so the orders tests need no other feature's
//! endpoints; plus order calls over HTTP and a checker of DESIGN.md's invariants.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::{
    batch_stock_shards, campaigns, merchant_day_stats, merchant_members, merchants, offers, orders, payments,
    voucher_batches, vouchers,
};
use wenlv::db::DbConnection;
use wenlv::time::now;

use crate::helpers::{credit_code, Actor, Resp, TestApp};

/// An approved merchant with one offer, and an active campaign with one batch.
pub struct Shop {
    pub owner: Actor,
    pub admin: Actor,
    pub merchant_id: i64,
    pub offer_id: i64,
    pub campaign_id: i64,
    pub batch_id: i64,
}

/// How a campaign fixture is made; `Default` is an active campaign open to all,
/// running from a day ago for 30 days.
#[derive(Clone)]
pub struct CampaignSpec {
    pub status: &'static str,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub eligible_categories: &'static str,
    pub eligible_districts: &'static str,
    pub refund_returns_voucher: bool,
    pub budget_fen: i64,
}

impl Default for CampaignSpec {
    fn default() -> Self {
        CampaignSpec {
            status: "active",
            starts_at: now() - Duration::days(1),
            ends_at: now() + Duration::days(30),
            eligible_categories: "",
            eligible_districts: "",
            refund_returns_voucher: false,
            budget_fen: 100_000_000,
        }
    }
}

/// Vouchers of the default batch: spend 100 yuan, get 30 off.
pub const DISCOUNT_FEN: i64 = 3_000;
pub const MIN_SPEND_FEN: i64 = 10_000;
/// The default offer: a 150-yuan theatre ticket.
pub const PRICE_FEN: i64 = 15_000;

static MERCHANT_COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

impl TestApp {
    /// A merchant owned by `owner_id` with the given status, category and district.
    pub fn insert_merchant(&self, owner_id: i64, status: &str, category: &str, district: &str) -> i64 {
        let mut conn = self.db();
        let n = MERCHANT_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("Langfang Grand Theatre {n}");
        let created_at = now();
        let id: i64 = diesel::insert_into(merchants::table)
            .values((
                merchants::name.eq(&name),
                merchants::license_no.eq(credit_code(n + 1000)),
                merchants::category.eq(category),
                merchants::district.eq(district),
                merchants::address.eq("广阳区新华路 1 号"),
                merchants::contact_phone.eq("0316-1234567"),
                merchants::status.eq(status),
                merchants::review_note.eq(None::<String>),
                merchants::owner_id.eq(owner_id),
                merchants::search_text.eq(name.to_lowercase()),
                merchants::created_at.eq(created_at),
            ))
            .returning(merchants::id)
            .get_result(&mut conn)
            .expect("merchant inserted");
        self.add_member(id, owner_id, "owner");
        id
    }

    pub fn add_member(&self, merchant_id: i64, user_id: i64, role: &str) {
        diesel::insert_into(merchant_members::table)
            .values((
                merchant_members::merchant_id.eq(merchant_id),
                merchant_members::user_id.eq(user_id),
                merchant_members::role.eq(role),
                merchant_members::created_at.eq(now()),
            ))
            .execute(&mut self.db())
            .expect("member inserted");
    }

    pub fn set_merchant_status(&self, merchant_id: i64, status: &str) {
        diesel::update(merchants::table.find(merchant_id))
            .set(merchants::status.eq(status))
            .execute(&mut self.db())
            .expect("merchant updated");
    }

    /// An active offer of `merchant_id`; `stock` `None` is unlimited.
    pub fn insert_offer(&self, merchant_id: i64, price_fen: i64, stock: Option<i64>) -> i64 {
        let title = "《茶馆》 Evening Show";
        let description = "Beijing People's Art Theatre on tour";
        let at = now();
        diesel::insert_into(offers::table)
            .values((
                offers::merchant_id.eq(merchant_id),
                offers::title.eq(title),
                offers::description.eq(description),
                offers::price_fen.eq(price_fen),
                offers::stock.eq(stock),
                offers::status.eq("active"),
                offers::search_text.eq(format!("{title}\n{description}").to_lowercase()),
                offers::created_at.eq(at),
                offers::updated_at.eq(at),
            ))
            .returning(offers::id)
            .get_result(&mut self.db())
            .expect("offer inserted")
    }

    pub fn set_offer_status(&self, offer_id: i64, status: &str) {
        diesel::update(offers::table.find(offer_id))
            .set(offers::status.eq(status))
            .execute(&mut self.db())
            .expect("offer updated");
    }

    pub fn offer_stock(&self, offer_id: i64) -> Option<i64> {
        offers::table
            .find(offer_id)
            .select(offers::stock)
            .first(&mut self.db())
            .expect("offer")
    }

    pub fn insert_campaign(&self, created_by: i64, spec: &CampaignSpec) -> i64 {
        diesel::insert_into(campaigns::table)
            .values((
                campaigns::name.eq("2026 廊坊文旅消费季"),
                campaigns::description.eq("Spend at the city's venues"),
                campaigns::status.eq(spec.status),
                campaigns::budget_fen.eq(spec.budget_fen),
                campaigns::reserved_fen.eq(0_i64),
                campaigns::target_leverage.eq(10.0),
                campaigns::starts_at.eq(spec.starts_at),
                campaigns::ends_at.eq(spec.ends_at),
                campaigns::eligible_categories.eq(spec.eligible_categories),
                campaigns::eligible_districts.eq(spec.eligible_districts),
                campaigns::require_real_name.eq(false),
                campaigns::refund_returns_voucher.eq(spec.refund_returns_voucher),
                campaigns::created_by.eq(created_by),
                campaigns::created_at.eq(now()),
            ))
            .returning(campaigns::id)
            .get_result(&mut self.db())
            .expect("campaign inserted")
    }

    pub fn set_campaign_status(&self, campaign_id: i64, status: &str) {
        diesel::update(campaigns::table.find(campaign_id))
            .set(campaigns::status.eq(status))
            .execute(&mut self.db())
            .expect("campaign updated");
    }

    /// A batch whose whole face value is reserved from its campaign, as the
    /// vouchers feature makes them; its claim window is the campaign's.
    pub fn insert_batch(&self, campaign_id: i64, discount_fen: i64, min_spend_fen: i64, quantity: i64) -> i64 {
        let mut conn = self.db();
        let (starts_at, ends_at): (NaiveDateTime, NaiveDateTime) = campaigns::table
            .find(campaign_id)
            .select((campaigns::starts_at, campaigns::ends_at))
            .first(&mut conn)
            .expect("campaign");
        conn.transaction(|c| {
            diesel::update(campaigns::table.find(campaign_id))
                .set(campaigns::reserved_fen.eq(campaigns::reserved_fen + discount_fen * quantity))
                .execute(c)?;
            diesel::insert_into(voucher_batches::table)
                .values((
                    voucher_batches::campaign_id.eq(campaign_id),
                    voucher_batches::name.eq("满100减30"),
                    voucher_batches::discount_fen.eq(discount_fen),
                    voucher_batches::min_spend_fen.eq(min_spend_fen),
                    voucher_batches::quantity.eq(quantity),
                    voucher_batches::remaining.eq(quantity),
                    voucher_batches::per_user_limit.eq(100_i64),
                    voucher_batches::claim_starts_at.eq(starts_at),
                    voucher_batches::claim_ends_at.eq(ends_at),
                    voucher_batches::valid_days.eq(7_i64),
                    voucher_batches::created_at.eq(now()),
                ))
                .returning(voucher_batches::id)
                .get_result(c)
        })
        .expect("batch inserted")
    }

    /// A voucher of `batch_id` claimed by `user_id`, as the claim endpoint makes one.
    pub fn insert_voucher(&self, batch_id: i64, user_id: i64) -> i64 {
        insert_voucher(&mut self.db(), batch_id, user_id)
    }

    pub fn set_voucher_expiry(&self, voucher_id: i64, expires_at: NaiveDateTime) {
        diesel::update(vouchers::table.find(voucher_id))
            .set(vouchers::expires_at.eq(expires_at))
            .execute(&mut self.db())
            .expect("voucher updated");
    }

    /// The voucher's stored status and order.
    pub fn voucher_state(&self, voucher_id: i64) -> (String, Option<i64>) {
        vouchers::table
            .find(voucher_id)
            .select((vouchers::status, vouchers::order_id))
            .first(&mut self.db())
            .expect("voucher")
    }

    pub fn campaign_reserved(&self, campaign_id: i64) -> i64 {
        campaigns::table
            .find(campaign_id)
            .select(campaigns::reserved_fen)
            .first(&mut self.db())
            .expect("campaign")
    }

    /// An approved performance venue in Guangyang selling 150-yuan tickets
    /// (`stock`), and an active campaign with a "100 off 30" batch of 1,000.
    pub async fn shop(&self, stock: Option<i64>) -> Shop {
        self.shop_with(stock, &CampaignSpec::default()).await
    }

    pub async fn shop_with(&self, stock: Option<i64>, spec: &CampaignSpec) -> Shop {
        let owner = self.resident().await;
        let admin = self.admin().await;
        let merchant_id = self.insert_merchant(owner.id, "approved", "performance", "guangyang");
        let offer_id = self.insert_offer(merchant_id, PRICE_FEN, stock);
        let campaign_id = self.insert_campaign(admin.id, spec);
        let batch_id = self.insert_batch(campaign_id, DISCOUNT_FEN, MIN_SPEND_FEN, 1_000);
        Shop {
            owner,
            admin,
            merchant_id,
            offer_id,
            campaign_id,
            batch_id,
        }
    }

    /// A new resident holding one voucher of the shop's batch.
    pub async fn buyer(&self, shop: &Shop) -> (Actor, i64) {
        let buyer = self.resident().await;
        let voucher_id = self.insert_voucher(shop.batch_id, buyer.id);
        (buyer, voucher_id)
    }

    /// `POST /orders`.
    pub async fn order(&self, token: &str, offer_id: i64, quantity: i64, voucher_id: Option<i64>) -> Resp {
        self.post(
            "/orders",
            Some(token),
            json!({"offer_id": offer_id, "quantity": quantity, "voucher_id": voucher_id}),
        )
        .await
    }

    /// POST with a JSON body (or none) and an `Idempotency-Key`.
    pub async fn post_with_key(&self, path: &str, token: &str, body: Option<Value>, key: &str) -> Resp {
        let mut request = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Creates an order and returns its id (asserting 201).
    pub async fn order_id(&self, token: &str, offer_id: i64, quantity: i64, voucher_id: Option<i64>) -> i64 {
        self.order(token, offer_id, quantity, voucher_id)
            .await
            .expect(201, None)["id"]
            .as_i64()
            .expect("order id")
    }

    /// Creates and pays an order; returns `(id, redemption_code)`.
    pub async fn paid_order(&self, token: &str, offer_id: i64, voucher_id: Option<i64>) -> (i64, String) {
        let id = self.order_id(token, offer_id, 1, voucher_id).await;
        let paid = self.action(&format!("/orders/{id}/pay"), Some(token)).await;
        let code = paid.expect(200, None)["redemption_code"]
            .as_str()
            .expect("redemption code")
            .to_owned();
        (id, code)
    }

    /// `action` with owned arguments, for futures collected from an iterator.
    pub async fn action_owned(&self, path: String, token: String) -> Resp {
        self.action(&path, Some(&token)).await
    }

    pub fn make_overdue(&self, order_id: i64) {
        diesel::update(orders::table.find(order_id))
            .set(orders::payment_due_at.eq(now() - Duration::seconds(1)))
            .execute(&mut self.db())
            .expect("order updated");
    }
}

/// Claims a voucher the way the claim endpoint does: the batch's remaining taken
/// conditionally, the next slot of the user, expiry at the earlier of valid_days
/// and the campaign's end.
pub fn insert_voucher(conn: &mut DbConnection, batch_id: i64, user_id: i64) -> i64 {
    conn.transaction(|c| {
        let taken = diesel::update(
            voucher_batches::table
                .filter(voucher_batches::id.eq(batch_id))
                .filter(voucher_batches::remaining.gt(0)),
        )
        .set(voucher_batches::remaining.eq(voucher_batches::remaining - 1))
        .execute(c)?;
        assert_eq!(taken, 1, "the batch has vouchers left");
        let (campaign_id, discount_fen, min_spend_fen, valid_days): (i64, i64, i64, i64) = voucher_batches::table
            .find(batch_id)
            .select((
                voucher_batches::campaign_id,
                voucher_batches::discount_fen,
                voucher_batches::min_spend_fen,
                voucher_batches::valid_days,
            ))
            .first(c)?;
        let ends_at: NaiveDateTime = campaigns::table.find(campaign_id).select(campaigns::ends_at).first(c)?;
        let held: i64 = vouchers::table
            .filter(vouchers::batch_id.eq(batch_id))
            .filter(vouchers::user_id.eq(user_id))
            .count()
            .get_result(c)?;
        let claimed_at = now();
        let expires_at = (claimed_at + Duration::days(valid_days)).min(ends_at);
        let code = format!("V{}", hex::encode(rand::random::<[u8; 8]>()).to_uppercase());
        diesel::insert_into(vouchers::table)
            .values((
                vouchers::code.eq(code),
                vouchers::batch_id.eq(batch_id),
                vouchers::campaign_id.eq(campaign_id),
                vouchers::user_id.eq(user_id),
                vouchers::slot.eq(held + 1),
                vouchers::discount_fen.eq(discount_fen),
                vouchers::min_spend_fen.eq(min_spend_fen),
                vouchers::status.eq("available"),
                vouchers::claimed_at.eq(claimed_at),
                vouchers::expires_at.eq(expires_at),
                vouchers::order_id.eq(None::<i64>),
            ))
            .returning(vouchers::id)
            .get_result(c)
    })
    .expect("voucher inserted")
}

const LIVE: [&str; 3] = ["pending_payment", "paid", "redeemed"];

/// Checks DESIGN.md's invariants 1–6 over the whole database, given each offer's
/// initial stock (offers not named are not checked for stock). Panics with the
/// first violation.
pub fn check_invariants(conn: &mut DbConnection, initial_stock: &HashMap<i64, i64>) {
    type OrderFacts = (i64, i64, i64, Option<i64>, i64, i64, i64, String);
    check_report_rollup(conn);
    let all_orders: Vec<OrderFacts> = orders::table
        .select((
            orders::id,
            orders::offer_id,
            orders::quantity,
            orders::voucher_id,
            orders::gross_fen,
            orders::subsidy_fen,
            orders::payable_fen,
            orders::status,
        ))
        .load(conn)
        .expect("orders");
    // 4. stock + live quantities = initial stock, never negative.
    for (&offer_id, &initial) in initial_stock {
        let stock: Option<i64> = offers::table
            .find(offer_id)
            .select(offers::stock)
            .first(conn)
            .expect("offer");
        let stock = stock.expect("a limited offer");
        assert!(stock >= 0, "offer {offer_id}: stock {stock} below zero");
        let live: i64 = all_orders
            .iter()
            .filter(|o| o.1 == offer_id && LIVE.contains(&o.7.as_str()))
            .map(|o| o.2)
            .sum();
        assert_eq!(stock + live, initial, "offer {offer_id}: stock {stock} + live {live}");
    }
    // 5. payable = gross − subsidy ≥ 0.
    for o in &all_orders {
        assert!(o.6 >= 0 && o.6 == o.4 - o.5, "order {}: amounts {:?}", o.0, o);
    }
    // 3. a voucher is in at most one live order; used ⇔ its order paid/redeemed;
    //    locked ⇔ its order pending.
    type VoucherFacts = (i64, i64, String, Option<i64>, i64);
    let all_vouchers: Vec<VoucherFacts> = vouchers::table
        .select((
            vouchers::id,
            vouchers::batch_id,
            vouchers::status,
            vouchers::order_id,
            vouchers::discount_fen,
        ))
        .load(conn)
        .expect("vouchers");
    for v in &all_vouchers {
        let live: Vec<&OrderFacts> = all_orders
            .iter()
            .filter(|o| o.3 == Some(v.0) && LIVE.contains(&o.7.as_str()))
            .collect();
        assert!(live.len() <= 1, "voucher {} in {} live orders", v.0, live.len());
        let live_status = live.first().map(|o| o.7.as_str());
        match v.2.as_str() {
            "used" => assert!(
                matches!(live_status, Some("paid" | "redeemed")) && live[0].0 == v.3.unwrap_or(-1),
                "voucher {} used but its live order is {live_status:?}",
                v.0
            ),
            "locked" => assert!(
                live_status == Some("pending_payment") && live[0].0 == v.3.unwrap_or(-1),
                "voucher {} locked but its live order is {live_status:?}",
                v.0
            ),
            "available" => assert!(
                live.is_empty() && v.3.is_none(),
                "voucher {} available but attached",
                v.0
            ),
            "void" => assert!(live.is_empty(), "voucher {} void but in a live order", v.0),
            other => panic!("voucher {} has stored status {other}", v.0),
        }
        for o in &live {
            assert_eq!(o.5, v.4, "order {} subsidy differs from its voucher's discount", o.0);
        }
    }
    // 1. a batch never issues more than its quantity: remaining = quantity − issued.
    let batches: Vec<(i64, i64, i64, i64)> = voucher_batches::table
        .select((
            voucher_batches::id,
            voucher_batches::campaign_id,
            voucher_batches::quantity,
            voucher_batches::remaining,
        ))
        .load(conn)
        .expect("batches");
    // A batch's stock is its own column plus its stock shards (`vouchers::stock`).
    let shards: Vec<(i64, i64)> = batch_stock_shards::table
        .select((batch_stock_shards::batch_id, batch_stock_shards::remaining))
        .load(conn)
        .expect("stock shards");
    for b in &batches {
        let issued = all_vouchers.iter().filter(|v| v.1 == b.0).count() as i64;
        let in_shards: i64 = shards.iter().filter(|s| s.0 == b.0).map(|s| s.1).sum();
        assert!(shards.iter().all(|s| s.1 >= 0), "a shard below 0");
        assert!(b.3 >= 0, "batch {} remaining {}", b.0, b.3);
        assert_eq!(
            b.3 + in_shards,
            b.2 - issued,
            "batch {}: remaining vs quantity − issued",
            b.0
        );
    }
    // 2. reserved ≤ budget, and reserved = batches' face value − void vouchers'.
    let all_campaigns: Vec<(i64, i64, i64)> = campaigns::table
        .select((campaigns::id, campaigns::budget_fen, campaigns::reserved_fen))
        .load(conn)
        .expect("campaigns");
    let discounts: HashMap<i64, i64> = voucher_batches::table
        .select((voucher_batches::id, voucher_batches::discount_fen))
        .load::<(i64, i64)>(conn)
        .expect("discounts")
        .into_iter()
        .collect();
    for (id, budget, reserved) in all_campaigns {
        assert!(
            reserved <= budget,
            "campaign {id}: reserved {reserved} > budget {budget}"
        );
        let face: i64 = batches
            .iter()
            .filter(|b| b.1 == id)
            .map(|b| discounts[&b.0] * b.2)
            .sum();
        let batch_ids: Vec<i64> = batches.iter().filter(|b| b.1 == id).map(|b| b.0).collect();
        let voided: i64 = all_vouchers
            .iter()
            .filter(|v| batch_ids.contains(&v.1) && v.2 == "void")
            .map(|v| v.4)
            .sum();
        assert_eq!(reserved, face - voided, "campaign {id}: reserved vs face value − void");
    }
    // 6. the books: every paid order has its payment, every refunded one its refund.
    let rows: Vec<(i64, String, String, i64)> = payments::table
        .select((
            payments::order_id,
            payments::kind,
            payments::status,
            payments::amount_fen,
        ))
        .load(conn)
        .expect("payments");
    for o in &all_orders {
        let paid = rows
            .iter()
            .filter(|p| p.0 == o.0 && p.1 == "payment" && p.2 == "succeeded");
        let refunds = rows
            .iter()
            .filter(|p| p.0 == o.0 && p.1 == "refund" && p.2 == "succeeded");
        let (paid_n, refund_n) = (paid.clone().count(), refunds.clone().count());
        let expected = match o.7.as_str() {
            "paid" | "redeemed" => (1, 0),
            "refunded" => (1, 1),
            _ => (0, 0),
        };
        assert_eq!((paid_n, refund_n), expected, "order {} ({}): payments", o.0, o.7);
        assert!(
            paid.chain(refunds).all(|p| p.3 == o.6),
            "order {}: payment amounts",
            o.0
        );
    }
}

/// Invariant 6: the report rollup equals the sums over the counted (paid or
/// redeemed) orders, per campaign (0 without a voucher) and merchant.
fn check_report_rollup(conn: &mut DbConnection) {
    type Sums = (i64, i64, i64, i64);
    let mut expected: HashMap<(i64, i64), Sums> = HashMap::new();
    let counted: Vec<(Option<i64>, i64, i64, i64, i64)> = orders::table
        .filter(orders::status.eq_any(["paid", "redeemed"]))
        .select((
            orders::campaign_id,
            orders::merchant_id,
            orders::gross_fen,
            orders::subsidy_fen,
            orders::payable_fen,
        ))
        .load(conn)
        .expect("orders");
    for (campaign, merchant, gross, subsidy, payable) in counted {
        let e = expected.entry((campaign.unwrap_or(0), merchant)).or_default();
        *e = (e.0 + 1, e.1 + gross, e.2 + subsidy, e.3 + payable);
    }
    let mut rolled: HashMap<(i64, i64), Sums> = HashMap::new();
    let rows: Vec<(i64, i64, i64, i64, i64, i64)> = merchant_day_stats::table
        .select((
            merchant_day_stats::campaign_id,
            merchant_day_stats::merchant_id,
            merchant_day_stats::orders,
            merchant_day_stats::consumption_fen,
            merchant_day_stats::subsidy_fen,
            merchant_day_stats::resident_paid_fen,
        ))
        .load(conn)
        .expect("rollup");
    for (campaign, merchant, n, gross, subsidy, payable) in rows {
        let e = rolled.entry((campaign, merchant)).or_default();
        *e = (e.0 + n, e.1 + gross, e.2 + subsidy, e.3 + payable);
    }
    rolled.retain(|_, sums| *sums != (0, 0, 0, 0));
    assert_eq!(rolled, expected, "report rollup vs counted orders");
}
