//! The demo's lottery (摇号): one campaign with a drawn lottery batch, so the
//! dashboard shows a draw anyone can verify and the campaign report its causal
//! leverage. At Langfang scale 200,000 residents entered and 50,000 won (a small
//! town: four in five residents entered, a quarter of them won).
//!
//! Made the way the service makes it, after the rest of the demo is written: the
//! campaign and batch through `campaigns::repo` (so the seed and commitment are
//! real), the entries in bulk, the draw by `lottery::draw` as it ran at the close
//! (the real ranking and issuing), then the month since the draw as orders, every
//! one the same kind of basket, with a voucher or without:
//! - 90% of winners spent their voucher (one order more than 5% over the minimum
//!   spend);
//! - 45% of losers bought such a basket anyway, without a voucher;
//! - 5% of winners also bought one without a voucher: many winners' voucher order
//!   is what they would have bought anyway (they substitute), as evaluations find.
//!
//! So the causal leverage (winners' mean consumption − losers', over the subsidy per
//! winner) comes out well below the direct leverage (consumption of voucher orders
//! over their subsidy), as it does in real programmes: about 1 − (45 − 5) / 90 of
//! it from these orders alone. The entrants' other orders in the demo city since
//! the draw move it too, differently at each moment of seeding (the city is
//! generated relative to it). Seeded at 24 moments a week apart in 7-hour steps
//! (2026-12-08), causal / direct ran 0.53–0.70; with 60% / 25% and smaller baskets
//! without a voucher it had been 0.61–0.95, over the 0.85 that
//! `tests/api/demo.rs` holds it under at 3 of the 24.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};

use super::plan::ADMIN_ID;
use super::rows::{Order, Payment};
use crate::campaigns::models::Allocation;
use crate::campaigns::repo::{self as campaigns_repo, BatchDraft, CampaignDraft, Move};
use crate::config::Settings;
use crate::db::schema::{batch_entries, merchants, offers, orders, payments, users, voucher_batches};
use crate::db::{write_tx, DbConnection};
use crate::domain::Role;
use crate::lottery::models::EntryStatus;
use crate::lottery::seed::DrawSeed;
use crate::merchants::models::MerchantStatus;
use crate::offers::models::OfferStatus;
use crate::orders::models::OrderStatus;
use crate::payments::{PaymentKind, PaymentStatus};
use crate::vouchers::status::VoucherStatus;

const DISCOUNT_FEN: i64 = 3_000;
const MIN_SPEND_FEN: i64 = 10_000;
/// Shares in percent (see the module doc).
const WINNERS_WHO_SPEND: u32 = 90;
const LOSERS_WHO_BUY: u32 = 45;
const WINNERS_WHO_ALSO_BUY: u32 = 5;

/// What the lottery stage wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct LotterySummary {
    pub campaign_id: i64,
    pub batch_id: i64,
    pub entries: i64,
    pub winners: i64,
    pub orders: i64,
}

/// Writes the lottery campaign; `residents` is how many the demo has.
pub fn seed(
    conn: &mut DbConnection,
    settings: &Settings,
    residents: i64,
    now: NaiveDateTime,
    seed: u64,
) -> anyhow::Result<LotterySummary> {
    let mut rng = StdRng::seed_from_u64(seed);
    let entries = (residents * 4 / 5).min(200_000);
    let winners = entries / 4;
    let campaign = campaigns_repo::create_campaign(
        conn,
        ADMIN_ID,
        &CampaignDraft {
            name: "2026 冬季文旅消费券（摇号）".to_owned(),
            description: "满100减30，报名摇号，中签者每人一张".to_owned(),
            budget_fen: winners.max(1) * DISCOUNT_FEN,
            target_leverage: 10.0,
            starts_at: now - Duration::days(45),
            ends_at: now + Duration::days(15),
            eligible_categories: Vec::new(),
            eligible_districts: Vec::new(),
            require_real_name: false,
            refund_returns_voucher: false,
        },
    )?;
    campaigns_repo::transition(conn, ADMIN_ID, campaign.id, Move::Publish)?;
    let batch = campaigns_repo::create_batch(
        conn,
        ADMIN_ID,
        campaign.id,
        &BatchDraft {
            name: "满100减30（摇号）".to_owned(),
            discount_fen: DISCOUNT_FEN,
            min_spend_fen: MIN_SPEND_FEN,
            quantity: winners.max(1),
            per_user_limit: 1,
            claim_starts_at: now - Duration::days(44),
            claim_ends_at: now - Duration::days(37),
            valid_days: 30,
            allocation: Allocation::Lottery,
            daily_quantity: None,
            usable: crate::vouchers::usable::UsableWindow::default(),
        },
        // A lottery batch's stock is issued by the draw: it is never sharded.
        1,
    )?;
    // The demo's draw seed comes from the demo's own seed rather than the
    // operating system, so every run draws the same winners and the dashboard's
    // causal leverage is the same figure each time.
    let mut seed_bytes = [0u8; 32];
    rng.fill_bytes(&mut seed_bytes);
    let draw_seed = DrawSeed::from_bytes(seed_bytes);
    diesel::update(voucher_batches::table.find(batch.id))
        .set((
            voucher_batches::draw_seed.eq(draw_seed.to_hex()),
            voucher_batches::commitment.eq(draw_seed.commitment()),
        ))
        .execute(conn)?;

    // Entrants: a random share of the residents, numbered in the order they entered.
    let mut people: Vec<i64> = users::table
        .filter(users::role.eq(Role::Resident))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)?;
    people.shuffle(&mut rng);
    people.truncate(entries as usize);
    let window = (batch.claim_ends_at - batch.claim_starts_at).num_seconds().max(1);
    let mut entrants: Vec<(i64, NaiveDateTime)> = people
        .into_iter()
        .map(|user| {
            (
                user,
                batch.claim_starts_at + Duration::seconds(rng.gen_range(0..window)),
            )
        })
        .collect();
    entrants.sort_by_key(|&(user, at)| (at, user));
    crate::lottery::repo::load_entries(conn, batch.id, &entrants)?;

    let drawn_at = batch.claim_ends_at + Duration::minutes(5);
    crate::lottery::draw::draw_as_of(conn, &settings.lottery, batch.id, drawn_at)?;
    let orders_written = spend(conn, settings, &mut rng, campaign.id, batch.id, drawn_at, now)?;
    Ok(LotterySummary {
        campaign_id: campaign.id,
        batch_id: batch.id,
        entries,
        winners,
        orders: orders_written,
    })
}

/// One purchase to write.
struct Purchase {
    user_id: i64,
    voucher_id: Option<i64>,
    offer: (i64, i64, i64),
    quantity: i64,
    paid_at: NaiveDateTime,
    redeemed_at: Option<NaiveDateTime>,
}

/// The orders of the month since the draw (see the module doc), in one transaction;
/// returns how many.
fn spend(
    conn: &mut DbConnection,
    settings: &Settings,
    rng: &mut StdRng,
    campaign_id: i64,
    batch_id: i64,
    drawn_at: NaiveDateTime,
    now: NaiveDateTime,
) -> anyhow::Result<i64> {
    // (merchant, offer, price) of approved merchants' unlimited active offers: no
    // stock to account for.
    let shelf: Vec<(i64, i64, i64)> = offers::table
        .inner_join(merchants::table)
        .filter(merchants::status.eq(MerchantStatus::Approved))
        .filter(offers::status.eq(OfferStatus::Active))
        .filter(offers::stock.is_null())
        .order(offers::id.asc())
        .select((merchants::id, offers::id, offers::price_fen))
        .load(conn)?;
    if shelf.is_empty() {
        anyhow::bail!("the demo has no unlimited offer to spend the lottery's vouchers on");
    }
    let entries: Vec<(i64, String, Option<i64>)> = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .order(batch_entries::entry_no.asc())
        .select((batch_entries::user_id, batch_entries::status, batch_entries::voucher_id))
        .load(conn)?;
    let span = (now - Duration::hours(2) - drawn_at).num_seconds().max(60);
    let expires_in = Duration::days(30).num_seconds().min(span);
    let mut purchases = Vec::new();
    let mut buy = |rng: &mut StdRng, user_id: i64, voucher_id: Option<i64>, within: i64| {
        let offer = shelf[rng.gen_range(0..shelf.len())];
        // The same basket with a voucher or without: what a resident would have
        // bought anyway (substitution), more than 5% over the minimum spend. An
        // honest resident here does not buy to the threshold: the risk scan's
        // `threshold_gaming` counts voucher orders within 5% above it, and the
        // demo's honest merchants must not look like gamers (tests/api/risk.rs).
        let least = MIN_SPEND_FEN * 105 / 100 / offer.2 + 1;
        let quantity = (least + rng.gen_range(0..3)).clamp(1, 99);
        let paid_at = drawn_at + Duration::seconds(rng.gen_range(60..within));
        let redeemed = paid_at + Duration::seconds(rng.gen_range(600..259_200));
        purchases.push(Purchase {
            user_id,
            voucher_id,
            offer,
            quantity,
            paid_at,
            redeemed_at: (redeemed < now).then_some(redeemed),
        });
    };
    for (user_id, status, voucher_id) in entries {
        let won = status == EntryStatus::Won.as_str();
        if won && rng.gen_range(0..100) < WINNERS_WHO_SPEND {
            buy(rng, user_id, voucher_id, expires_in);
        }
        let buys_anyway = if won { WINNERS_WHO_ALSO_BUY } else { LOSERS_WHO_BUY };
        if rng.gen_range(0..100) < buys_anyway {
            buy(rng, user_id, None, span);
        }
    }
    purchases.sort_by_key(|p| p.paid_at);

    let timeout = Duration::seconds(settings.orders.payment_timeout);
    write_tx(conn, |c| -> anyhow::Result<i64> {
        let first_order: i64 = orders::table
            .select(diesel::dsl::max(orders::id))
            .first::<Option<i64>>(c)?
            .unwrap_or(0)
            + 1;
        let first_payment: i64 = payments::table
            .select(diesel::dsl::max(payments::id))
            .first::<Option<i64>>(c)?
            .unwrap_or(0)
            + 1;
        let mut rows = Vec::with_capacity(purchases.len());
        let mut paid = Vec::with_capacity(purchases.len());
        for (i, p) in purchases.iter().enumerate() {
            let id = first_order + i as i64;
            let (merchant_id, offer_id, price) = p.offer;
            let gross_fen = price * p.quantity;
            let subsidy_fen = if p.voucher_id.is_some() { DISCOUNT_FEN } else { 0 };
            let created_at = p.paid_at - Duration::minutes(2);
            rows.push(Order {
                id,
                user_id: p.user_id,
                merchant_id,
                offer_id,
                quantity: p.quantity,
                voucher_id: p.voucher_id,
                campaign_id: p.voucher_id.map(|_| campaign_id),
                gross_fen,
                subsidy_fen,
                payable_fen: gross_fen - subsidy_fen,
                status: if p.redeemed_at.is_some() {
                    OrderStatus::Redeemed
                } else {
                    OrderStatus::Paid
                },
                redemption_code: Some(super::plan::redemption_code(id)),
                created_at,
                payment_due_at: created_at + timeout,
                paid_at: Some(p.paid_at),
                redeemed_at: p.redeemed_at,
                cancelled_at: None,
                refunded_at: None,
            });
            paid.push(Payment {
                id: first_payment + i as i64,
                order_id: id,
                provider: super::plan::PROVIDER,
                reference: format!("demo-pay-{id}"),
                amount_fen: gross_fen - subsidy_fen,
                kind: PaymentKind::Payment,
                status: PaymentStatus::Succeeded,
                created_at: p.paid_at - Duration::seconds(5),
                confirmed_at: Some(p.paid_at),
            });
        }
        let written = rows.len() as i64;
        super::insert_rows!(c, orders::table, rows);
        super::insert_rows!(c, payments::table, paid);
        // The winners' vouchers that were spent are used by their order.
        diesel::sql_query(
            "UPDATE vouchers SET status = $1, \
               order_id = (SELECT o.id FROM orders o WHERE o.voucher_id = vouchers.id) \
             WHERE batch_id = $2 AND id IN (SELECT voucher_id FROM orders WHERE campaign_id = $3)",
        )
        .bind::<Text, _>(VoucherStatus::Used.as_str())
        .bind::<BigInt, _>(batch_id)
        .bind::<BigInt, _>(campaign_id)
        .execute(c)?;
        if let DbConnection::Postgresql(_) = c {
            super::advance_sequences(c)?;
        }
        Ok(written)
    })
}
