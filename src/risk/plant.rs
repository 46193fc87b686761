//! Planted fraud for `wenlv seed-demo`: three merchants of the demo city get the
//! patterns the risk signals look for, so the risk queue has something to show and
//! the tests can check the planted ones are found and the honest ones are not.
//!
//! - threshold gaming: a new offer priced 2% above the voucher's minimum spend,
//!   sold with a voucher to 40 different residents;
//! - a ring of repeat pairs: three residents each buy six times with vouchers;
//! - a redemption burst: 30 redemptions two seconds apart.
//!
//! Written like the service writes them, in one transaction: a batch of the active
//! campaign reserves the face value (per-user limit 10), each order has its voucher
//! (`used`), its payment and is redeemed; the report rollup is rebuilt afterwards.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::campaigns::models::CampaignStatus;
use crate::db::schema::{
    campaigns, merchant_members, merchants, offers, orders, payments, users, voucher_batches, vouchers,
};
use crate::db::{write_tx, DbConnection};
use crate::domain::Role;
use crate::merchants::models::MerchantStatus;
use crate::offers::models::OfferStatus;
use crate::orders::models::OrderStatus;
use crate::payments::{PaymentKind, PaymentStatus};
use crate::vouchers::status::VoucherStatus;

const DISCOUNT_FEN: i64 = 3_000;
const MIN_SPEND_FEN: i64 = 10_000;
const GAMING_ORDERS: usize = 40;
const RING_RESIDENTS: usize = 3;
const RING_ORDERS_EACH: usize = 6;
const BURST_ORDERS: usize = 30;

/// The merchants that were planted, by pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planted {
    pub threshold_gaming: i64,
    pub repeat_pairs: i64,
    pub redemption_burst: i64,
    pub orders: usize,
}

fn eligible(list: &str, value: &str) -> bool {
    let mut items = list.split(',').map(str::trim).filter(|s| !s.is_empty()).peekable();
    items.peek().is_none() || items.any(|item| item == value)
}

/// One planted sale: who buys what, when it is redeemed.
struct Sale {
    merchant_id: i64,
    offer_id: i64,
    quantity: i64,
    gross_fen: i64,
    user_id: i64,
    redeemed_at: NaiveDateTime,
}

/// Plants the three patterns in a seeded demo database; `now` anchors the times
/// (yesterday, platform time, as far as the patterns go).
pub fn plant(conn: &mut DbConnection, tz: Tz, now: NaiveDateTime) -> anyhow::Result<Planted> {
    let planted = write_tx(conn, |c| -> anyhow::Result<Planted> {
        let (campaign_id, categories, starts_at, ends_at): (i64, String, NaiveDateTime, NaiveDateTime) =
            campaigns::table
                .filter(campaigns::status.eq(CampaignStatus::Active))
                .filter(campaigns::starts_at.le(now))
                .filter(campaigns::ends_at.gt(now))
                .order(campaigns::id.asc())
                .select((
                    campaigns::id,
                    campaigns::eligible_categories,
                    campaigns::starts_at,
                    campaigns::ends_at,
                ))
                .first(c)
                .optional()?
                .ok_or_else(|| anyhow::anyhow!("the demo has no running campaign to plant fraud in"))?;
        // Approved merchants in the campaign's categories, each with an active offer.
        let candidates: Vec<(i64, String, i64, i64)> = merchants::table
            .inner_join(offers::table)
            .filter(merchants::status.eq(MerchantStatus::Approved))
            .filter(offers::status.eq(OfferStatus::Active))
            .order((merchants::id.asc(), offers::id.asc()))
            .select((merchants::id, merchants::category, offers::id, offers::price_fen))
            .load(c)?;
        // The quietest merchants: planted patterns there are the merchant's main
        // business, as in the cases found in practice.
        let voucher_orders: std::collections::HashMap<i64, i64> = orders::table
            .filter(orders::campaign_id.is_not_null())
            .group_by(orders::merchant_id)
            .select((orders::merchant_id, diesel::dsl::count_star()))
            .load::<(i64, i64)>(c)?
            .into_iter()
            .collect();
        let mut candidates = candidates;
        candidates.sort_by_key(|&(merchant_id, _, offer_id, _)| {
            (
                voucher_orders.get(&merchant_id).copied().unwrap_or(0),
                merchant_id,
                offer_id,
            )
        });
        let mut picked: Vec<(i64, i64, i64)> = Vec::new();
        for (merchant_id, category, offer_id, price) in candidates {
            if eligible(&categories, &category) && picked.iter().all(|p| p.0 != merchant_id) {
                picked.push((merchant_id, offer_id, price));
            }
            if picked.len() == 3 {
                break;
            }
        }
        let [gaming, ring, burst] = picked[..] else {
            anyhow::bail!("the demo has fewer than three eligible merchants with an offer");
        };
        let members: Vec<i64> = merchant_members::table.select(merchant_members::user_id).load(c)?;
        let needed = GAMING_ORDERS + RING_RESIDENTS + BURST_ORDERS;
        let residents: Vec<i64> = users::table
            .filter(users::role.eq(Role::Resident))
            .order(users::id.desc())
            .select(users::id)
            .limit((needed + members.len()) as i64)
            .load::<i64>(c)?
            .into_iter()
            .filter(|id| !members.contains(id))
            .take(needed)
            .collect();
        if residents.len() < needed {
            anyhow::bail!("the demo has fewer than {needed} residents");
        }
        let yesterday = now - Duration::days(1);
        let at = |hour: i64, seconds: i64| {
            let day = crate::statements::repo::closing::local_date(tz, yesterday);
            let (start, _) = crate::statements::repo::closing::day_bounds(tz, day);
            start + Duration::hours(hour) + Duration::seconds(seconds)
        };
        let gaming_price = MIN_SPEND_FEN * 102 / 100;
        let gaming_offer: i64 = diesel::insert_into(offers::table)
            .values((
                offers::merchant_id.eq(gaming.0),
                offers::title.eq("满百立减套餐"),
                offers::description.eq("恰好满足消费券门槛"),
                offers::price_fen.eq(gaming_price),
                offers::stock.eq(None::<i64>),
                offers::status.eq(OfferStatus::Active),
                offers::search_text.eq(crate::search::offer_text("满百立减套餐", "恰好满足消费券门槛")),
                offers::created_at.eq(starts_at.max(now - Duration::days(7))),
                offers::updated_at.eq(starts_at.max(now - Duration::days(7))),
            ))
            .returning(offers::id)
            .get_result(c)?;
        let quantity_for = |price: i64| ((MIN_SPEND_FEN + price - 1) / price).clamp(1, 99);
        let mut sales = Vec::new();
        for (i, &user_id) in residents[..GAMING_ORDERS].iter().enumerate() {
            sales.push(Sale {
                merchant_id: gaming.0,
                offer_id: gaming_offer,
                quantity: 1,
                gross_fen: gaming_price,
                user_id,
                redeemed_at: at(1, 1_200 * i as i64),
            });
        }
        for (r, &user_id) in residents[GAMING_ORDERS..GAMING_ORDERS + RING_RESIDENTS]
            .iter()
            .enumerate()
        {
            for k in 0..RING_ORDERS_EACH {
                let quantity = quantity_for(ring.2);
                sales.push(Sale {
                    merchant_id: ring.0,
                    offer_id: ring.1,
                    quantity,
                    gross_fen: ring.2 * quantity,
                    user_id,
                    redeemed_at: at(2 + r as i64, 600 * k as i64),
                });
            }
        }
        for (i, &user_id) in residents[GAMING_ORDERS + RING_RESIDENTS..].iter().enumerate() {
            let quantity = quantity_for(burst.2);
            sales.push(Sale {
                merchant_id: burst.0,
                offer_id: burst.1,
                quantity,
                gross_fen: burst.2 * quantity,
                user_id,
                redeemed_at: at(12, 2 * i as i64),
            });
        }
        let count = sales.len() as i64;
        let reserved = diesel::update(
            campaigns::table
                .filter(campaigns::id.eq(campaign_id))
                .filter((campaigns::reserved_fen + DISCOUNT_FEN * count).le(campaigns::budget_fen)),
        )
        .set(campaigns::reserved_fen.eq(campaigns::reserved_fen + DISCOUNT_FEN * count))
        .execute(c)?;
        if reserved != 1 {
            anyhow::bail!("the campaign's budget cannot take the planted vouchers");
        }
        let batch_id: i64 = diesel::insert_into(voucher_batches::table)
            .values((
                voucher_batches::campaign_id.eq(campaign_id),
                voucher_batches::name.eq("满100减30（风控演示）"),
                voucher_batches::discount_fen.eq(DISCOUNT_FEN),
                voucher_batches::min_spend_fen.eq(MIN_SPEND_FEN),
                voucher_batches::quantity.eq(count),
                voucher_batches::remaining.eq(0_i64),
                voucher_batches::per_user_limit.eq(10_i64),
                voucher_batches::claim_starts_at.eq(starts_at),
                voucher_batches::claim_ends_at.eq(ends_at),
                voucher_batches::valid_days.eq(30_i64),
                voucher_batches::created_at.eq(starts_at),
            ))
            .returning(voucher_batches::id)
            .get_result(c)?;
        let mut slots: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
        for (n, sale) in sales.iter().enumerate() {
            let slot = slots.entry(sale.user_id).or_default();
            *slot += 1;
            let paid_at = sale.redeemed_at - Duration::minutes(30);
            let voucher_id: i64 = diesel::insert_into(vouchers::table)
                .values((
                    vouchers::code.eq(format!("VRISK{batch_id:06}{n:05}")),
                    vouchers::batch_id.eq(batch_id),
                    vouchers::campaign_id.eq(campaign_id),
                    vouchers::user_id.eq(sale.user_id),
                    vouchers::slot.eq(*slot),
                    vouchers::discount_fen.eq(DISCOUNT_FEN),
                    vouchers::min_spend_fen.eq(MIN_SPEND_FEN),
                    vouchers::status.eq(VoucherStatus::Used),
                    vouchers::claimed_at.eq(paid_at - Duration::hours(1)),
                    vouchers::expires_at.eq((paid_at + Duration::days(30)).min(ends_at)),
                    vouchers::order_id.eq(None::<i64>),
                ))
                .returning(vouchers::id)
                .get_result(c)?;
            let payable = sale.gross_fen - DISCOUNT_FEN;
            let order_id: i64 = diesel::insert_into(orders::table)
                .values((
                    orders::user_id.eq(sale.user_id),
                    orders::merchant_id.eq(sale.merchant_id),
                    orders::offer_id.eq(sale.offer_id),
                    orders::quantity.eq(sale.quantity),
                    orders::voucher_id.eq(Some(voucher_id)),
                    orders::campaign_id.eq(Some(campaign_id)),
                    orders::gross_fen.eq(sale.gross_fen),
                    orders::subsidy_fen.eq(DISCOUNT_FEN),
                    orders::payable_fen.eq(payable),
                    orders::status.eq(OrderStatus::Redeemed),
                    orders::redemption_code.eq(Some(format!("9{batch_id:05}{n:06}"))),
                    orders::created_at.eq(paid_at - Duration::minutes(1)),
                    orders::payment_due_at.eq(paid_at + Duration::minutes(14)),
                    orders::paid_at.eq(Some(paid_at)),
                    orders::redeemed_at.eq(Some(sale.redeemed_at)),
                ))
                .returning(orders::id)
                .get_result(c)?;
            diesel::update(vouchers::table.find(voucher_id))
                .set(vouchers::order_id.eq(Some(order_id)))
                .execute(c)?;
            diesel::insert_into(payments::table)
                .values((
                    payments::order_id.eq(order_id),
                    payments::provider.eq("sandbox"),
                    payments::reference.eq(format!("sbx-risk-{order_id}")),
                    payments::amount_fen.eq(payable),
                    payments::kind.eq(PaymentKind::Payment),
                    payments::status.eq(PaymentStatus::Succeeded),
                    payments::created_at.eq(paid_at),
                    payments::confirmed_at.eq(Some(paid_at)),
                ))
                .execute(c)?;
        }
        Ok(Planted {
            threshold_gaming: gaming.0,
            repeat_pairs: ring.0,
            redemption_burst: burst.0,
            orders: sales.len(),
        })
    })?;
    crate::reports::rollup::rebuild(conn, tz)?;
    Ok(planted)
}
