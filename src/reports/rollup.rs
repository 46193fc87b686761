//! The report rollup `merchant_day_stats`: counted orders (paid or redeemed) summed
//! per campaign, merchant and calendar day in the platform's time zone.
//!
//! Exactness: [`count_paid`] runs inside the transaction that marks an order paid,
//! and [`uncount_refunded`] inside the one that refunds it, so a committed order
//! change and its rollup change are one; a crash leaves both or neither. Redemption
//! does not change what is counted; cancellation only ever hits unpaid orders,
//! which were never counted. [`rebuild`] recomputes everything from the orders
//! (after a bulk import, or if `platform.timezone` changes).
//!
//! The day of an order is the date of its `paid_at` in the platform time zone,
//! computed here in Rust (SQLite has no time zones), so both engines agree.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::{merchant_day_stats, orders};
use crate::db::DbConnection;
use crate::orders::models::OrderStatus;

/// The statuses of a counted order: paid, and still counted once redeemed. Every
/// report figure sums exactly these orders.
pub const COUNTED: [OrderStatus; 2] = [OrderStatus::Paid, OrderStatus::Redeemed];

/// The rollup key of orders paid without a voucher.
pub const NO_CAMPAIGN: i64 = 0;

/// What the rollup needs to know of one order.
#[derive(Debug, Clone, Copy)]
pub struct CountedOrder {
    pub merchant_id: i64,
    pub campaign_id: Option<i64>,
    pub paid_at: NaiveDateTime,
    pub gross_fen: i64,
    pub subsidy_fen: i64,
    pub payable_fen: i64,
}

/// `YYYY-MM-DD` of a UTC instant in the platform time zone.
pub fn local_day(tz: Tz, at: NaiveDateTime) -> String {
    at.and_utc().with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// Adds a newly paid order. Call inside the paying transaction.
pub fn count_paid(conn: &mut DbConnection, tz: Tz, order: &CountedOrder) -> QueryResult<()> {
    apply(conn, tz, order, 1)
}

/// Removes a refunded order. Call inside the refunding transaction.
pub fn uncount_refunded(conn: &mut DbConnection, tz: Tz, order: &CountedOrder) -> QueryResult<()> {
    apply(conn, tz, order, -1)
}

/// Adds `sign` × the order to its row: an UPDATE, and an INSERT when the row does not
/// exist yet. Two first orders of a day racing on PostgreSQL make the INSERT of one
/// fail on the primary key; that one is retried as an UPDATE inside a savepoint.
fn apply(conn: &mut DbConnection, tz: Tz, order: &CountedOrder, sign: i64) -> QueryResult<()> {
    let campaign_id = order.campaign_id.unwrap_or(NO_CAMPAIGN);
    let day = local_day(tz, order.paid_at);
    let row = merchant_day_stats::table
        .filter(merchant_day_stats::campaign_id.eq(campaign_id))
        .filter(merchant_day_stats::merchant_id.eq(order.merchant_id))
        .filter(merchant_day_stats::day.eq(&day));
    let update = |conn: &mut DbConnection| {
        diesel::update(row)
            .set((
                merchant_day_stats::orders.eq(merchant_day_stats::orders + sign),
                merchant_day_stats::consumption_fen.eq(merchant_day_stats::consumption_fen + sign * order.gross_fen),
                merchant_day_stats::subsidy_fen.eq(merchant_day_stats::subsidy_fen + sign * order.subsidy_fen),
                merchant_day_stats::resident_paid_fen
                    .eq(merchant_day_stats::resident_paid_fen + sign * order.payable_fen),
            ))
            .execute(conn)
    };
    if update(conn)? > 0 {
        return Ok(());
    }
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(merchant_day_stats::table)
            .values((
                merchant_day_stats::campaign_id.eq(campaign_id),
                merchant_day_stats::merchant_id.eq(order.merchant_id),
                merchant_day_stats::day.eq(&day),
                merchant_day_stats::orders.eq(sign),
                merchant_day_stats::consumption_fen.eq(sign * order.gross_fen),
                merchant_day_stats::subsidy_fen.eq(sign * order.subsidy_fen),
                merchant_day_stats::resident_paid_fen.eq(sign * order.payable_fen),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if crate::db::is_unique_violation(&e) => update(conn).map(|_| ()),
        Err(e) => Err(e),
    }
}

#[derive(Default)]
struct Sums {
    orders: i64,
    consumption_fen: i64,
    subsidy_fen: i64,
    resident_paid_fen: i64,
}

/// merchant_id, campaign_id, paid_at, gross, subsidy, payable of one counted order.
type OrderFigures = (i64, Option<i64>, Option<NaiveDateTime>, i64, i64, i64);

/// Recomputes the whole rollup from the orders table, in one transaction.
pub fn rebuild(conn: &mut DbConnection, tz: Tz) -> anyhow::Result<()> {
    crate::db::write_tx(conn, |conn| {
        diesel::delete(merchant_day_stats::table).execute(conn)?;
        let counted: Vec<OrderFigures> = orders::table
            .filter(orders::status.eq_any(COUNTED.map(OrderStatus::as_str)))
            .select((
                orders::merchant_id,
                orders::campaign_id,
                orders::paid_at,
                orders::gross_fen,
                orders::subsidy_fen,
                orders::payable_fen,
            ))
            .load(conn)?;
        let mut sums: HashMap<(i64, i64, String), Sums> = HashMap::new();
        for (merchant_id, campaign_id, paid_at, gross, subsidy, payable) in counted {
            let Some(paid_at) = paid_at else { continue };
            let key = (campaign_id.unwrap_or(NO_CAMPAIGN), merchant_id, local_day(tz, paid_at));
            let entry = sums.entry(key).or_default();
            entry.orders += 1;
            entry.consumption_fen += gross;
            entry.subsidy_fen += subsidy;
            entry.resident_paid_fen += payable;
        }
        for ((campaign_id, merchant_id, day), s) in sums {
            diesel::insert_into(merchant_day_stats::table)
                .values((
                    merchant_day_stats::campaign_id.eq(campaign_id),
                    merchant_day_stats::merchant_id.eq(merchant_id),
                    merchant_day_stats::day.eq(day),
                    merchant_day_stats::orders.eq(s.orders),
                    merchant_day_stats::consumption_fen.eq(s.consumption_fen),
                    merchant_day_stats::subsidy_fen.eq(s.subsidy_fen),
                    merchant_day_stats::resident_paid_fen.eq(s.resident_paid_fen),
                ))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn days_are_local_to_the_platform() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 11, 25)
                .and_then(|d| d.and_hms_opt(h, m, 0))
                .expect("time")
        };
        // 15:59 UTC is 23:59 in Shanghai; 16:01 UTC is 00:01 the next day.
        assert_eq!(local_day(tz, at(15, 59)), "2026-11-25");
        assert_eq!(local_day(tz, at(16, 1)), "2026-11-26");
    }
}
