//! Fixtures of the statements and risk tests: redeemed voucher orders written
//! straight into the test's database (as the orders feature writes them: paid,
//! counted in the rollup through a rebuild, voucher used, redeemed at a chosen
//! instant), closing calls, and the money recomputed independently from the orders.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;
use wenlv::db::schema::{orders, statements, users, vouchers};
use wenlv::db::DbConnection;
use wenlv::time::now;

use crate::helpers::TestApp;
use crate::order_fixtures::{insert_voucher, Shop};

pub fn tz() -> chrono_tz::Tz {
    "Asia/Shanghai".parse().expect("tz")
}

/// `YYYY-MM-DD` → date.
pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// A UTC instant: `day` at `h:m:s`.
pub fn at(day: &str, h: u32, m: u32, s: u32) -> NaiveDateTime {
    date(day).and_hms_opt(h, m, s).expect("time")
}

/// A resident row (no password anyone uses).
pub fn insert_resident(conn: &mut DbConnection, n: u64) -> i64 {
    diesel::insert_into(users::table)
        .values((
            users::phone.eq(format!("137{:08}", n)),
            users::password_hash.eq("not-a-hash"),
            users::display_name.eq("居民"),
            users::role.eq("resident"),
            users::created_at.eq(now()),
        ))
        .returning(users::id)
        .get_result(conn)
        .expect("resident inserted")
}

/// A redeemed voucher order of `shop`'s merchant by `user_id` with a fresh voucher of
/// the shop's batch: gross `gross_fen`, subsidy the voucher's discount, paid one
/// minute before `redeemed_at`. The caller rebuilds the rollup after inserting.
pub fn insert_redeemed(
    conn: &mut DbConnection,
    shop: &Shop,
    user_id: i64,
    gross_fen: i64,
    redeemed_at: NaiveDateTime,
) -> i64 {
    let voucher_id = insert_voucher(conn, shop.batch_id, user_id);
    let discount: i64 = vouchers::table
        .find(voucher_id)
        .select(vouchers::discount_fen)
        .first(conn)
        .expect("voucher");
    let paid_at = redeemed_at - chrono::Duration::minutes(1);
    let id: i64 = diesel::insert_into(orders::table)
        .values((
            orders::user_id.eq(user_id),
            orders::merchant_id.eq(shop.merchant_id),
            orders::offer_id.eq(shop.offer_id),
            orders::quantity.eq(1_i64),
            orders::voucher_id.eq(Some(voucher_id)),
            orders::campaign_id.eq(Some(shop.campaign_id)),
            orders::gross_fen.eq(gross_fen),
            orders::subsidy_fen.eq(discount),
            orders::payable_fen.eq(gross_fen - discount),
            orders::status.eq("redeemed"),
            orders::redemption_code.eq(Some(format!("{:012}", rand::random::<u64>() % 1_000_000_000_000))),
            orders::created_at.eq(paid_at),
            orders::payment_due_at.eq(paid_at + chrono::Duration::minutes(15)),
            orders::paid_at.eq(Some(paid_at)),
            orders::redeemed_at.eq(Some(redeemed_at)),
        ))
        .returning(orders::id)
        .get_result(conn)
        .expect("order inserted");
    diesel::update(vouchers::table.find(voucher_id))
        .set((vouchers::status.eq("used"), vouchers::order_id.eq(Some(id))))
        .execute(conn)
        .expect("voucher used");
    id
}

/// Recounts the report rollup from the orders (after direct inserts).
pub fn rebuild_rollup(conn: &mut DbConnection) {
    wenlv::reports::rollup::rebuild(conn, tz()).expect("rollup rebuilt");
}

/// Closes every open day through `through` as the job does, with no risk holds.
pub fn close_through(conn: &mut DbConnection, through: &str) -> usize {
    wenlv::statements::repo::closing::close_through(conn, tz(), date(through), &Default::default()).expect("closing")
}

/// The money on the statements, whatever their status, two ways:
/// Σ (net_fen − carried_in_fen) (a carried debt counts on the statement that made
/// it, not again on the one that took it in), and Σ payout_fen minus what the
/// merchants still owe back (minus each one's latest net_fen when negative).
/// Both equal [`owed_from_orders`] once every pending clawback is on a statement.
pub fn statement_sums(conn: &mut DbConnection) -> (i64, i64) {
    let rows: Vec<(i64, i64, i64, i64)> = statements::table
        .select((
            statements::merchant_id,
            statements::net_fen,
            statements::carried_in_fen,
            statements::payout_fen,
        ))
        .order(statements::id.asc())
        .load(conn)
        .expect("statements");
    let mut latest_net = std::collections::HashMap::new();
    let (mut money, mut paid) = (0, 0);
    for (merchant_id, net, carried_in, payout) in rows {
        money += net - carried_in;
        paid += payout;
        latest_net.insert(merchant_id, net);
    }
    let owed_back: i64 = latest_net.values().map(|net| (-net).max(0)).sum();
    (money, paid - owed_back)
}

/// The money recomputed from the orders alone: Σ subsidy of every voucher order
/// ever redeemed on a day up to `through` (platform time; reversed ones were
/// redeemed too) minus Σ subsidy of the reversed ones among them.
pub fn owed_from_orders(conn: &mut DbConnection, through: &str) -> i64 {
    let rows: Vec<(String, i64, Option<NaiveDateTime>)> = orders::table
        .filter(orders::campaign_id.is_not_null())
        .filter(orders::status.eq_any(["redeemed", "reversed"]))
        .select((orders::status, orders::subsidy_fen, orders::redeemed_at))
        .load(conn)
        .expect("orders");
    let last = date(through);
    let mut redeemed = 0;
    let mut reversed = 0;
    for (status, subsidy, redeemed_at) in rows {
        let Some(t) = redeemed_at else { continue };
        if t.and_utc().with_timezone(&tz()).date_naive() > last {
            continue;
        }
        redeemed += subsidy;
        if status == "reversed" {
            reversed += subsidy;
        }
    }
    redeemed - reversed
}

impl TestApp {
    /// `GET /admin/statements?…` items.
    pub async fn statements(&self, admin_token: &str, query: &str) -> Vec<Value> {
        let resp = self
            .get(&format!("/admin/statements?limit=100&{query}"), Some(admin_token))
            .await;
        resp.expect(200, None)["items"].as_array().expect("items").clone()
    }

    /// The statement of `merchant_id` for `day`, if any.
    pub async fn statement_of(&self, admin_token: &str, merchant_id: i64, day: &str) -> Option<Value> {
        let items = self
            .statements(admin_token, &format!("merchant_id={merchant_id}&day={day}"))
            .await;
        assert!(items.len() <= 1, "one statement per merchant and day: {items:?}");
        items.into_iter().next()
    }
}
