//! The report queries. Totals come from the rollup (`merchant_day_stats`), never from
//! scanning a campaign's orders, so a campaign report costs the same at a thousand
//! orders and at a million; only the edges of a campaign window that cut through a
//! day are summed from the orders themselves (`orders_paid_at` index).
//!
//! The aggregates are plain SQL shared by both engines; `SUM` is cast to BIGINT
//! because PostgreSQL widens `SUM(bigint)` to numeric. Only integer ids and day
//! strings this module made itself are ever formatted into the SQL text.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::figures::{Breakdown, BreakdownKey, CampaignFigures, Overview, SettlementRow, Settlements, VoucherCounts};
use super::rollup::COUNTED;
use crate::campaigns::models::CampaignStatus;
use crate::db::schema::{campaigns, merchants, orders, users, voucher_batches, vouchers};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::merchants::models::MerchantStatus;
use crate::orders::models::OrderStatus;
use crate::vouchers::status::{filter_by_status, VoucherStatus};

#[derive(QueryableByName)]
struct KeyedSums {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    consumption_fen: i64,
    #[diesel(sql_type = BigInt)]
    subsidy_fen: i64,
    #[diesel(sql_type = BigInt)]
    resident_paid_fen: i64,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

const SUMS: &str = "CAST(COALESCE(SUM(orders), 0) AS BIGINT) AS orders, \
     CAST(COALESCE(SUM(consumption_fen), 0) AS BIGINT) AS consumption_fen, \
     CAST(COALESCE(SUM(subsidy_fen), 0) AS BIGINT) AS subsidy_fen, \
     CAST(COALESCE(SUM(resident_paid_fen), 0) AS BIGINT) AS resident_paid_fen";

/// The campaign's rollup grouped by `key_sql` (merchant or day), counted keys only.
fn grouped(conn: &mut DbConnection, campaign_id: i64, key_sql: &str) -> QueryResult<Vec<KeyedSums>> {
    diesel::sql_query(format!(
        "SELECT CAST({key_sql} AS TEXT) AS key, {SUMS} FROM merchant_day_stats \
         WHERE campaign_id = {campaign_id} GROUP BY {key_sql} HAVING SUM(orders) > 0"
    ))
    .load(conn)
}

fn ratio(numerator: i64, subsidy: i64) -> Option<f64> {
    (subsidy != 0).then(|| numerator as f64 / subsidy as f64)
}

fn breakdown(key: BreakdownKey, orders: i64, consumption_fen: i64, subsidy_fen: i64) -> Breakdown {
    Breakdown {
        key,
        orders,
        consumption_fen,
        subsidy_fen,
        leverage: ratio(consumption_fen, subsidy_fen),
    }
}

/// Sorts by consumption, largest first (ties by key, so the order is stable).
fn sort_by_consumption(rows: &mut [Breakdown]) {
    rows.sort_by(|a, b| {
        b.consumption_fen
            .cmp(&a.consumption_fen)
            .then_with(|| a.key.cmp(&b.key))
    });
}

type CampaignRow = (i64, String, String, i64, i64, f64, NaiveDateTime, NaiveDateTime);

/// The whole report of one campaign; 404 when there is no such campaign.
pub fn campaign_report(
    conn: &mut DbConnection,
    tz: Tz,
    campaign_id: i64,
    now: NaiveDateTime,
) -> Result<CampaignFigures, AppError> {
    let (id, name, status, budget_fen, reserved_fen, target_leverage, starts_at, ends_at): CampaignRow =
        campaigns::table
            .find(campaign_id)
            .select((
                campaigns::id,
                campaigns::name,
                campaigns::status,
                campaigns::budget_fen,
                campaigns::reserved_fen,
                campaigns::target_leverage,
                campaigns::starts_at,
                campaigns::ends_at,
            ))
            .first(conn)?;
    let status = CampaignStatus::try_from(status)?;

    let per_merchant = grouped(conn, id, "merchant_id")?;
    let per_day = grouped(conn, id, "day")?;

    let (mut orders, mut consumption_fen, mut subsidy_fen, mut resident_paid_fen) = (0, 0, 0, 0);
    for row in &per_merchant {
        orders += row.orders;
        consumption_fen += row.consumption_fen;
        subsidy_fen += row.subsidy_fen;
        resident_paid_fen += row.resident_paid_fen;
    }

    // Names, categories and districts of the merchants that have counted orders.
    let merchant_ids: Vec<i64> = per_merchant.iter().filter_map(|r| r.key.parse().ok()).collect();
    let info: BTreeMap<i64, (String, String, String)> = merchants::table
        .filter(merchants::id.eq_any(&merchant_ids))
        .select((merchants::id, merchants::name, merchants::category, merchants::district))
        .load::<(i64, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, category, district)| (id, (name, category, district)))
        .collect();

    let mut by_merchant = Vec::with_capacity(per_merchant.len());
    let mut by_category: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut by_district: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for row in &per_merchant {
        let Ok(merchant_id) = row.key.parse::<i64>() else {
            continue;
        };
        let (name, category, district) = info.get(&merchant_id).cloned().unwrap_or_default();
        for (map, key) in [(&mut by_category, category), (&mut by_district, district)] {
            let entry = map.entry(key).or_default();
            entry.0 += row.orders;
            entry.1 += row.consumption_fen;
            entry.2 += row.subsidy_fen;
        }
        by_merchant.push(breakdown(
            BreakdownKey::Merchant { merchant_id, name },
            row.orders,
            row.consumption_fen,
            row.subsidy_fen,
        ));
    }
    let mut by_category: Vec<Breakdown> = by_category
        .into_iter()
        .map(|(category, (o, c, s))| breakdown(BreakdownKey::Category { category }, o, c, s))
        .collect();
    let mut by_district: Vec<Breakdown> = by_district
        .into_iter()
        .map(|(district, (o, c, s))| breakdown(BreakdownKey::District { district }, o, c, s))
        .collect();
    sort_by_consumption(&mut by_merchant);
    sort_by_consumption(&mut by_category);
    sort_by_consumption(&mut by_district);
    let mut by_day: Vec<Breakdown> = per_day
        .iter()
        .map(|r| {
            breakdown(
                BreakdownKey::Day { date: r.key.clone() },
                r.orders,
                r.consumption_fen,
                r.subsidy_fen,
            )
        })
        .collect();
    by_day.sort_by(|a, b| a.key.cmp(&b.key));

    let merchant_wide_consumption_fen = merchant_wide_consumption(conn, tz, id, &merchant_ids, starts_at, ends_at)?;
    let vouchers = voucher_counts(conn, id, now, orders)?;
    let leverage = ratio(consumption_fen, subsidy_fen);
    let causal = super::causal::causal_figures(conn, id)?;
    Ok(CampaignFigures {
        campaign_id: id,
        name,
        status,
        budget_fen,
        reserved_fen,
        vouchers,
        orders,
        consumption_fen,
        subsidy_fen,
        resident_paid_fen,
        leverage,
        out_of_pocket_leverage: ratio(resident_paid_fen, subsidy_fen),
        merchant_wide_consumption_fen,
        merchant_wide_leverage: ratio(merchant_wide_consumption_fen, subsidy_fen),
        target_leverage,
        on_target: leverage.is_some_and(|l| l >= target_leverage),
        by_merchant,
        by_category,
        by_district,
        by_day,
        causal,
    })
}

/// Start of a local calendar day, as a UTC instant.
fn local_midnight_utc(tz: Tz, day: chrono::NaiveDate) -> NaiveDateTime {
    let local = day.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.naive_utc(),
        // A zone that skips midnight: the first instant of that day is later.
        None => tz.from_utc_datetime(&local).naive_utc(),
    }
}

/// The gross value of every counted order (with or without a voucher) paid inside
/// the campaign window at `merchant_ids`. Whole local days inside the window come
/// from the rollup; the partial days at either end from the orders themselves.
fn merchant_wide_consumption(
    conn: &mut DbConnection,
    tz: Tz,
    campaign_id: i64,
    merchant_ids: &[i64],
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
) -> QueryResult<i64> {
    if merchant_ids.is_empty() {
        return Ok(0);
    }
    // Nothing is paid in the future: the window ends now at the latest. Without
    // this a campaign ending in year 9999 reached a local day of year 10000, whose
    // text ("+10000-01-01") sorts before every rollup day and lost them all.
    let ends_at = ends_at.min(crate::time::now());
    // First whole day: the day after starts_at's, unless starts_at is a midnight.
    let start_day = starts_at.and_utc().with_timezone(&tz).date_naive();
    let first_full = if local_midnight_utc(tz, start_day) == starts_at {
        start_day
    } else {
        start_day + Duration::days(1)
    };
    // Whole days run up to the start of ends_at's own day; the rest of that day,
    // up to ends_at, is the tail.
    let end_full = ends_at.and_utc().with_timezone(&tz).date_naive();
    let in_campaign: HashSet<i64> = merchant_ids.iter().copied().collect();
    // Selected by time alone, so the engine uses the paid_at index and reads only
    // the edge's orders; a merchant filter in SQL tempts SQLite into walking every
    // order of every campaign merchant by the merchant index instead.
    let edge_sum = |conn: &mut DbConnection, from: NaiveDateTime, to: NaiveDateTime| -> QueryResult<i64> {
        if from >= to {
            return Ok(0);
        }
        let paid: Vec<(i64, i64)> = orders::table
            .filter(orders::paid_at.ge(from))
            .filter(orders::paid_at.lt(to))
            .filter(orders::status.eq_any(COUNTED.map(OrderStatus::as_str)))
            .select((orders::merchant_id, orders::gross_fen))
            .load(conn)?;
        Ok(paid
            .iter()
            .filter(|(m, _)| in_campaign.contains(m))
            .map(|(_, gross)| gross)
            .sum())
    };
    if first_full >= end_full {
        // No whole day inside the window: everything from the orders.
        return edge_sum(conn, starts_at, ends_at);
    }
    let head = edge_sum(conn, starts_at, local_midnight_utc(tz, first_full))?;
    let tail = edge_sum(conn, local_midnight_utc(tz, end_full), ends_at)?;
    let (from_day, to_day) = (first_full.format("%Y-%m-%d"), end_full.format("%Y-%m-%d"));
    let middle: Total = diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(consumption_fen), 0) AS BIGINT) AS total FROM merchant_day_stats \
         WHERE day >= '{from_day}' AND day < '{to_day}' AND merchant_id IN \
         (SELECT merchant_id FROM merchant_day_stats WHERE campaign_id = {campaign_id} \
          GROUP BY merchant_id HAVING SUM(orders) > 0)"
    ))
    .get_result(conn)?;
    Ok(head + middle.total + tail)
}

/// Vouchers of the campaign by status. `used` is the number of counted orders that
/// carry one of its vouchers (a voucher is `used` exactly while its order is paid or
/// redeemed), so the million used vouchers of a big campaign are never scanned.
fn voucher_counts(
    conn: &mut DbConnection,
    campaign_id: i64,
    now: NaiveDateTime,
    used: i64,
) -> QueryResult<VoucherCounts> {
    let batches: Vec<(i64, i64, i64)> = voucher_batches::table
        .filter(voucher_batches::campaign_id.eq(campaign_id))
        .select((
            voucher_batches::id,
            voucher_batches::quantity,
            voucher_batches::remaining,
        ))
        .load(conn)?;
    // A batch's stock is its own column plus its stock shards (`vouchers::stock`).
    let ids: Vec<i64> = batches.iter().map(|b| b.0).collect();
    let in_shards = crate::vouchers::stock::in_shards(conn, &ids)?;
    let issued: i64 = batches.iter().map(|b| b.1).sum();
    let claimed: i64 = batches
        .iter()
        .map(|(id, q, r)| q - r - in_shards.get(id).copied().unwrap_or(0))
        .sum();
    // Expiry goes by the one rule in `vouchers::status` (a locked voucher past its
    // expires_at reads expired too); the index on (campaign_id, status, expires_at)
    // answers each count without touching the table.
    let mut count = |status: VoucherStatus| -> QueryResult<i64> {
        let query = vouchers::table
            .filter(vouchers::campaign_id.eq(campaign_id))
            .into_boxed();
        filter_by_status(query, status, now).count().get_result(conn)
    };
    let available = count(VoucherStatus::Available)?;
    let locked = count(VoucherStatus::Locked)?;
    let expired = count(VoucherStatus::Expired)?;
    let void = count(VoucherStatus::Void)?;
    Ok(VoucherCounts {
        issued,
        claimed,
        available,
        locked,
        used,
        expired,
        void,
    })
}

/// Subsidy owed per merchant for redeemed orders carrying vouchers (of one campaign,
/// or of all), redeemed in `[from, to)` when given.
pub fn settlements(
    conn: &mut DbConnection,
    campaign_id: Option<i64>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Settlements, AppError> {
    if let Some(id) = campaign_id {
        campaigns::table.find(id).select(campaigns::id).first::<i64>(conn)?;
    }
    // Summed by the database, one row per merchant: a year of redeemed orders is
    // never loaded into memory.
    let mut query = orders::table
        .inner_join(merchants::table)
        .filter(orders::status.eq(OrderStatus::Redeemed))
        .filter(orders::campaign_id.is_not_null())
        .group_by((merchants::id, merchants::name))
        .select((
            merchants::id,
            merchants::name,
            diesel::dsl::count_star(),
            diesel::dsl::sql::<BigInt>("CAST(COALESCE(SUM(orders.subsidy_fen), 0) AS BIGINT)"),
        ))
        .into_boxed();
    if let Some(id) = campaign_id {
        query = query.filter(orders::campaign_id.eq(id));
    }
    if let Some(from) = from {
        query = query.filter(orders::redeemed_at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(orders::redeemed_at.lt(to));
    }
    let rows: Vec<(i64, String, i64, i64)> = query.load(conn)?;
    let mut items: Vec<SettlementRow> = rows
        .into_iter()
        .map(|(merchant_id, name, orders, subsidy_fen)| SettlementRow {
            merchant_id,
            name,
            orders,
            subsidy_fen,
        })
        .collect();
    items.sort_by(|a, b| {
        b.subsidy_fen
            .cmp(&a.subsidy_fen)
            .then(a.merchant_id.cmp(&b.merchant_id))
    });
    let total_subsidy_fen = items.iter().map(|r| r.subsidy_fen).sum();
    Ok(Settlements {
        items,
        total_subsidy_fen,
    })
}

/// Platform totals over every counted order, with or without a voucher.
pub fn overview(conn: &mut DbConnection) -> Result<Overview, AppError> {
    let users: i64 = users::table.count().get_result(conn)?;
    // One grouped count; every status is listed, with 0 where no merchant has it.
    let mut merchants_by_status: BTreeMap<MerchantStatus, i64> =
        MerchantStatus::ALL.iter().map(|&status| (status, 0)).collect();
    let counted: Vec<(String, i64)> = merchants::table
        .group_by(merchants::status)
        .select((merchants::status, diesel::dsl::count_star()))
        .load(conn)?;
    for (status, count) in counted {
        merchants_by_status.insert(MerchantStatus::try_from(status)?, count);
    }
    let totals: KeyedSums = diesel::sql_query(format!(
        "SELECT CAST('all' AS TEXT) AS key, {SUMS} FROM merchant_day_stats"
    ))
    .get_result(conn)?;
    Ok(Overview {
        users,
        merchants: merchants_by_status,
        orders: totals.orders,
        consumption_fen: totals.consumption_fen,
        subsidy_fen: totals.subsidy_fen,
        leverage: ratio(totals.consumption_fen, totals.subsidy_fen),
    })
}
