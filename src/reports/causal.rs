//! Causal leverage (API.md, Fair release): how much consumption a campaign's lottery
//! vouchers *caused*, measured against the control group a draw gives for free, the
//! entrants who lost.
//!
//! Who: the entrants of the campaign's drawn lottery batches (`drawn_at` set), each
//! resident once. A resident who won in any of them is a winner; one who entered and
//! lost in all of them is a loser.
//!
//! What: a resident's consumption is the gross of their counted orders (paid or
//! redeemed) at any merchant, with or without a voucher, paid in
//! `[first draw, campaign ends_at)`; nothing is paid after now, so a running
//! campaign's window ends now. The first draw is the earliest `draw_started_at` of
//! those batches: the instant the winners' vouchers are claimed at.
//!
//! Cost: each group is summed by the database into count, sum and sum of squares
//! (one pass over the entries and their orders through `orders_user_id`), so memory
//! and the answer's size do not grow with the entrants; the interval comes from those
//! moments ([`super::welch`]).
//!
//! Rounding (fen are integers): each group's mean is rounded to the nearest fen,
//! halves up (the means are never negative); `incremental_per_winner_fen` is the
//! difference of the two rounded means and `subsidy_per_winner_fen` the counted
//! subsidy on the winners' vouchers ÷ winners, rounded the same way, so every
//! figure on the page can be recomputed from the figures beside it:
//! `causal_leverage = incremental / subsidy_per_winner`, and the 95% interval is
//! `(incremental ± t(0.975, Welch–Satterthwaite df) × se) / subsidy_per_winner`.
//! The ratios are null while the subsidy per winner is 0 fen.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable};

use super::figures::CausalFigures;
use super::rollup::COUNTED;
use super::welch::{half_width_95, Moments};
use crate::campaigns::models::Allocation;
use crate::db::schema::{campaigns, voucher_batches};
use crate::db::DbConnection;
use crate::lottery::models::EntryStatus;
use crate::orders::models::OrderStatus;

/// The statuses of `orders_voucher_live`'s WHERE, in its order (see its migration).
const LIVE: [OrderStatus; 3] = [OrderStatus::PendingPayment, OrderStatus::Paid, OrderStatus::Redeemed];

/// A group's moments as the database sums them; `won` is 1 for winners.
#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = BigInt)]
    won: i64,
    #[diesel(sql_type = BigInt)]
    residents: i64,
    #[diesel(sql_type = BigInt)]
    total_fen: i64,
    #[diesel(sql_type = Double)]
    squares: f64,
}

#[derive(QueryableByName)]
struct SubsidyRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    subsidy_fen: Option<i64>,
}

/// `'a', 'b'`: enum texts for an SQL `IN` list (constants of the enums, never input).
fn text_list(names: impl IntoIterator<Item = &'static str>) -> String {
    names
        .into_iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `numerator / count` rounded to the nearest integer, halves up, for numerator ≥ 0.
fn rounded_mean(numerator: i64, count: i64) -> i64 {
    let (numerator, count) = (i128::from(numerator), i128::from(count));
    ((2 * numerator + count) / (2 * count)) as i64
}

/// The causal figures of a campaign, or `None` unless it has a drawn lottery batch
/// with at least 2 winners and 2 losers. Read inside the report's snapshot.
pub fn causal_figures(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Option<CausalFigures>> {
    let drawn: Vec<(i64, Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)> = voucher_batches::table
        .filter(voucher_batches::campaign_id.eq(campaign_id))
        .filter(voucher_batches::allocation.eq(Allocation::Lottery))
        .filter(voucher_batches::drawn_at.is_not_null())
        .select((
            voucher_batches::id,
            voucher_batches::draw_started_at,
            voucher_batches::drawn_at,
        ))
        .load(conn)?;
    // The draw time is when the winners' vouchers are claimed (`draw_started_at`);
    // `drawn_at` only stands in should a row lack it.
    let Some(first_draw) = drawn.iter().filter_map(|(_, started, drawn)| started.or(*drawn)).min() else {
        return Ok(None);
    };
    let ends_at: chrono::NaiveDateTime = campaigns::table
        .find(campaign_id)
        .select(campaigns::ends_at)
        .first(conn)?;
    let batch_ids = drawn
        .iter()
        .map(|(id, _, _)| id.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (won, lost) = (EntryStatus::Won.as_str(), EntryStatus::Lost.as_str());
    let counted = text_list(COUNTED.map(OrderStatus::as_str));
    // The two instants are bound; placeholders are spelt per engine.
    let query = |from: &str, to: &str| {
        format!(
            "SELECT per_resident.won AS won, COUNT(*) AS residents, \
               CAST(COALESCE(SUM(per_resident.consumption_fen), 0) AS BIGINT) AS total_fen, \
               COALESCE(SUM(CAST(per_resident.consumption_fen AS DOUBLE PRECISION) \
                          * CAST(per_resident.consumption_fen AS DOUBLE PRECISION)), 0) AS squares \
             FROM ( \
               SELECT entrant.user_id, entrant.won, \
                 CAST(COALESCE(SUM(o.gross_fen), 0) AS BIGINT) AS consumption_fen \
               FROM ( \
                 SELECT e.user_id, CAST(MAX(CASE WHEN e.status = '{won}' THEN 1 ELSE 0 END) AS BIGINT) AS won \
                 FROM batch_entries e \
                 WHERE e.batch_id IN ({batch_ids}) AND e.status IN ('{won}', '{lost}') \
                 GROUP BY e.user_id \
               ) entrant \
               LEFT JOIN orders o ON o.user_id = entrant.user_id AND o.status IN ({counted}) \
                 AND o.paid_at >= {from} AND o.paid_at < {to} \
               GROUP BY entrant.user_id, entrant.won \
             ) per_resident \
             GROUP BY per_resident.won"
        )
    };
    let groups: Vec<GroupRow> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(query("$1", "$2"))
            .bind::<diesel::sql_types::Timestamp, _>(first_draw)
            .bind::<diesel::sql_types::Timestamp, _>(ends_at)
            .load(pg)?,
        DbConnection::Sqlite(lite) => diesel::sql_query(query("?", "?"))
            .bind::<diesel::sql_types::Timestamp, _>(first_draw)
            .bind::<diesel::sql_types::Timestamp, _>(ends_at)
            .load(lite)?,
    };
    let moments = |won: i64| {
        groups.iter().find(|g| g.won == won).map(|g| {
            (
                g.total_fen,
                Moments {
                    n: g.residents,
                    sum: g.total_fen as f64,
                    sum_of_squares: g.squares,
                },
            )
        })
    };
    let (Some((winners_total, winners)), Some((losers_total, losers))) = (moments(1), moments(0)) else {
        return Ok(None);
    };
    if winners.n < 2 || losers.n < 2 {
        return Ok(None);
    }

    // The counted subsidy on the vouchers the draws gave the winners; every order
    // carrying one counts, whenever paid (as in the campaign's own subsidy_fen).
    // The join repeats the WHERE of the partial index `orders_voucher_live` word for
    // word: SQLite uses a partial index only when the query states its condition,
    // and without it planned a scan of every order per winner.
    let live = text_list(LIVE.map(OrderStatus::as_str));
    let subsidy: SubsidyRow = diesel::sql_query(format!(
        "SELECT CAST(SUM(o.subsidy_fen) AS BIGINT) AS subsidy_fen \
         FROM batch_entries e JOIN orders o ON o.voucher_id = e.voucher_id \
           AND o.voucher_id IS NOT NULL AND o.status IN ({live}) \
         WHERE e.batch_id IN ({batch_ids}) AND e.status = '{won}' AND e.voucher_id IS NOT NULL \
           AND o.status IN ({counted})"
    ))
    .get_result(conn)?;

    let winners_mean = rounded_mean(winners_total, winners.n);
    let losers_mean = rounded_mean(losers_total, losers.n);
    let incremental = winners_mean - losers_mean;
    let subsidy_per_winner = rounded_mean(subsidy.subsidy_fen.unwrap_or(0), winners.n);
    let per_subsidy = |fen: f64| (subsidy_per_winner != 0).then(|| fen / subsidy_per_winner as f64);
    let half_width = half_width_95(winners, losers).unwrap_or(0.0);
    Ok(Some(CausalFigures {
        winners: winners.n,
        losers: losers.n,
        winners_mean_consumption_fen: winners_mean,
        losers_mean_consumption_fen: losers_mean,
        incremental_per_winner_fen: incremental,
        subsidy_per_winner_fen: subsidy_per_winner,
        causal_leverage: per_subsidy(incremental as f64),
        ci95_low: per_subsidy(incremental as f64 - half_width),
        ci95_high: per_subsidy(incremental as f64 + half_width),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_round_to_the_nearest_fen_halves_up() {
        assert_eq!(rounded_mean(10, 4), 3, "2.5 → 3");
        assert_eq!(rounded_mean(9, 4), 2, "2.25 → 2");
        assert_eq!(rounded_mean(11, 4), 3, "2.75 → 3");
        assert_eq!(rounded_mean(0, 7), 0);
        assert_eq!(rounded_mean(i64::MAX, 1), i64::MAX, "no overflow on the way");
    }
}
