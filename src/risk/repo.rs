//! The risk scan's inputs and its stored findings (`risk_flags`).

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::scan::{self, Flag, OrderFact, Signal};
use crate::config::RiskSettings;
use crate::db::schema::{merchants, orders, risk_flags, vouchers};
use crate::db::{write_tx, DbConnection};
use crate::orders::models::OrderStatus;
use crate::statements::repo::closing::Holds;
use crate::time::now;

/// Orders the scan looks at: those that used a voucher and were paid (paid,
/// redeemed, or redeemed and then reversed as fraud).
const SCANNED: [OrderStatus; 3] = [OrderStatus::Paid, OrderStatus::Redeemed, OrderStatus::Reversed];

type FactRow = (i64, i64, i64, Option<i64>, i64, i64, Option<NaiveDateTime>);

/// Every scanned order's facts, in one pass over orders joined to their vouchers.
pub fn order_facts(conn: &mut DbConnection) -> QueryResult<Vec<OrderFact>> {
    let rows: Vec<FactRow> = orders::table
        .inner_join(vouchers::table.on(orders::voucher_id.eq(vouchers::id.nullable())))
        .filter(orders::status.eq_any(SCANNED.iter().map(|s| s.as_str())))
        .select((
            orders::id,
            orders::merchant_id,
            orders::user_id,
            orders::campaign_id,
            orders::gross_fen,
            vouchers::min_spend_fen,
            orders::redeemed_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, merchant_id, user_id, campaign_id, gross_fen, min_spend_fen, redeemed_at)| OrderFact {
                id,
                merchant_id,
                user_id,
                campaign_id: campaign_id.unwrap_or(0),
                gross_fen,
                min_spend_fen,
                redeemed_at,
            },
        )
        .collect())
}

/// An arbitrary constant naming the risk refresh among PostgreSQL advisory locks.
const PG_RISK_LOCK: i64 = 0x0077_656e_7269;

/// Runs the scan and replaces the stored flags with its findings, in one
/// transaction; returns them.
///
/// Several instances refresh (each closing pass does), so the write has one writer
/// at a time: a transaction-scoped advisory lock on PostgreSQL (without it, two
/// refreshes' DELETE-then-INSERT collide on `risk_flags`' key and one fails), and
/// `BEGIN IMMEDIATE` on SQLite. Under the lock the newest scan wins: a refresh whose
/// facts were read before the stored flags were computed writes nothing, so a slow
/// instance never puts an older picture back over a newer one.
pub fn refresh(conn: &mut DbConnection, settings: &RiskSettings) -> anyhow::Result<Vec<Flag>> {
    let computed_at = now();
    let facts = order_facts(conn)?;
    let flags = scan::scan(&facts, settings);
    let rows: Vec<(i64, f64, String)> = flags
        .iter()
        .map(|f| Ok((f.merchant_id, f.score, serde_json::to_string(&f.signals)?)))
        .collect::<Result<_, serde_json::Error>>()?;
    write_tx(conn, |c| {
        if let DbConnection::Postgresql(_) = c {
            c.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_RISK_LOCK})"))?;
        }
        let stored: Option<NaiveDateTime> = risk_flags::table
            .select(diesel::dsl::max(risk_flags::computed_at))
            .first(c)?;
        if stored.is_some_and(|stored| stored > computed_at) {
            return Ok(());
        }
        diesel::delete(risk_flags::table).execute(c)?;
        for (merchant_id, score, signals) in &rows {
            diesel::insert_into(risk_flags::table)
                .values((
                    risk_flags::merchant_id.eq(*merchant_id),
                    risk_flags::score.eq(*score),
                    risk_flags::signals.eq(signals.as_str()),
                    risk_flags::computed_at.eq(computed_at),
                ))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(flags)
}

/// One row of the admin queue.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub merchant_id: i64,
    pub name: String,
    pub score: f64,
    pub signals: Vec<Signal>,
}

fn parse(merchant_id: i64, name: String, score: f64, signals: &str) -> Flagged {
    let signals = serde_json::from_str(signals).unwrap_or_else(|e| {
        tracing::warn!(merchant_id, error = %e, "unreadable stored risk signals");
        Vec::new()
    });
    Flagged {
        merchant_id,
        name,
        score,
        signals,
    }
}

/// The stored flags, by score descending, `limit` of them after `offset`.
pub fn queue(conn: &mut DbConnection, offset: i64, limit: i64) -> QueryResult<Vec<Flagged>> {
    let rows: Vec<(i64, String, f64, String)> = risk_flags::table
        .inner_join(merchants::table)
        .order((risk_flags::score.desc(), risk_flags::merchant_id.asc()))
        .offset(offset)
        .limit(limit)
        .select((
            risk_flags::merchant_id,
            merchants::name,
            risk_flags::score,
            risk_flags::signals,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, score, signals)| parse(id, name, score, &signals))
        .collect())
}

/// The merchants whose stored score reaches `hold_score`, with their hold reason.
pub fn holds(conn: &mut DbConnection, hold_score: f64) -> QueryResult<Holds> {
    let rows: Vec<(i64, f64, String)> = risk_flags::table
        .filter(risk_flags::score.ge(hold_score))
        .select((risk_flags::merchant_id, risk_flags::score, risk_flags::signals))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, score, signals)| {
            let flagged = parse(id, String::new(), score, &signals);
            (id, scan::hold_reason(score, &flagged.signals))
        })
        .collect())
}
