//! Closing a platform-local day: every merchant's statement for that day, with its
//! lines, in one write transaction: ids allocated first, every statement's CSV and
//! digest computed in memory, then a few multi-row INSERTs for the whole day.
//!
//! Exactly once across instances: the transaction first inserts the day's
//! `statement_days` row (primary key `day`); a second closer of the same day fails
//! there (on PostgreSQL it waits for the first to commit, then fails) and rolls
//! back, writing nothing. On PostgreSQL a transaction-scoped advisory lock also
//! serializes closers, so two closing different days cannot both take the same
//! pending clawback; SQLite's `BEGIN IMMEDIATE` already serializes writers. A crash
//! leaves either no row of the day or all of them.
//!
//! The day's orders are read locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
//! write lock, held from `BEGIN IMMEDIATE`, already keeps every writer out): a
//! reversal racing with the closing either commits first (the order is then not
//! `redeemed` and stays off the statement) or waits and then finds the subsidy
//! line, and claws it back. (A no-op UPDATE locked them the same way, but on
//! PostgreSQL it wrote a new version of each of the day's 50,000 rows, with their
//! index entries: most of the closing's time.)

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::connection::SimpleConnection;
use diesel::dsl::max;
use diesel::prelude::*;

use crate::db::schema::{merchants, orders, statement_days, statement_lines, statements, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::orders::models::OrderStatus;
use crate::statements::csv::{self, StatementFigures};
use crate::statements::models::{LineRow, NewLine, NewStatement, StatementLineKind, StatementRow, StatementStatus};
use crate::time::now;

/// An arbitrary constant naming the closing job among PostgreSQL advisory locks.
const PG_CLOSING_LOCK: i64 = 0x0077_656e_7374;

/// Statements per multi-row INSERT: 15 columns each, within SQLite's 32,766 bound
/// parameters and PostgreSQL's 65,535.
const STATEMENTS_PER_INSERT: usize = 1_000;

/// Statement lines per multi-row INSERT (7 columns each).
const LINES_PER_INSERT: usize = 4_000;

/// The UTC instants `[start, end)` of a platform-local calendar day.
pub fn day_bounds(tz: Tz, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let start_of = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.naive_utc())
            // A zone whose clocks skip midnight: the first instant of the day is 01:00.
            .unwrap_or_else(|| midnight - chrono::Duration::hours(8))
    };
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    (start_of(day), start_of(next))
}

/// The platform-local date of a UTC instant.
pub fn local_date(tz: Tz, at: NaiveDateTime) -> NaiveDate {
    at.and_utc().with_timezone(&tz).date_naive()
}

/// Why a merchant's new statements are held: the risk scan's verdict.
pub type Holds = HashMap<i64, String>;

/// The first day that is not closed yet and could have anything to close: the day
/// after the last closed one, else the day of the first voucher redemption ever.
/// `None` when nothing was ever redeemed with a voucher.
pub fn first_open_day(conn: &mut DbConnection, tz: Tz) -> QueryResult<Option<NaiveDate>> {
    let last: Option<String> = statement_days::table.select(max(statement_days::day)).first(conn)?;
    if let Some(day) = last.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()) {
        return Ok(day.checked_add_days(Days::new(1)));
    }
    let first: Option<NaiveDateTime> = orders::table
        .filter(orders::campaign_id.is_not_null())
        .select(diesel::dsl::min(orders::redeemed_at))
        .first(conn)?;
    Ok(first.map(|t| local_date(tz, t)))
}

/// Closes every open day up to `through` (inclusive), oldest first; returns how many
/// statements this call wrote. Days another closer took are skipped.
pub fn close_through(conn: &mut DbConnection, tz: Tz, through: NaiveDate, holds: &Holds) -> QueryResult<usize> {
    let Some(mut day) = first_open_day(conn, tz)? else {
        return Ok(0);
    };
    let mut written = 0;
    while day <= through {
        written += close_day(conn, tz, day, holds)?.unwrap_or(0);
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(written)
}

/// One order going on a statement: id, merchant, subsidy, redeemed_at.
type DayOrder = (i64, i64, i64, Option<NaiveDateTime>);

/// Closes `day`: `Some(statements written)`, or `None` when it was already closed.
pub fn close_day(conn: &mut DbConnection, tz: Tz, day: NaiveDate, holds: &Holds) -> QueryResult<Option<usize>> {
    let result = write_tx(conn, |c| close_day_in(c, tz, day, holds));
    match result {
        Ok(n) => Ok(Some(n)),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn close_day_in(conn: &mut DbConnection, tz: Tz, day: NaiveDate, holds: &Holds) -> QueryResult<usize> {
    if let DbConnection::Postgresql(_) = conn {
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_CLOSING_LOCK})"))?;
    }
    let day_text = day.format("%Y-%m-%d").to_string();
    let closed_at = now();
    diesel::insert_into(statement_days::table)
        .values((
            statement_days::day.eq(&day_text),
            statement_days::statements.eq(0_i64),
            statement_days::closed_at.eq(closed_at),
        ))
        .execute(conn)?;
    let (start, end) = day_bounds(tz, day);
    let day = orders::table
        .filter(orders::status.eq(OrderStatus::Redeemed))
        .filter(orders::campaign_id.is_not_null())
        .filter(orders::subsidy_fen.gt(0))
        .filter(orders::redeemed_at.ge(start))
        .filter(orders::redeemed_at.lt(end))
        .order(orders::id.asc())
        .select((
            orders::id,
            orders::merchant_id,
            orders::subsidy_fen,
            orders::redeemed_at,
        ));
    let day_orders: Vec<DayOrder> = match conn {
        DbConnection::Postgresql(pg) => day.for_update().load(pg)?,
        DbConnection::Sqlite(lite) => day.load(lite)?,
    };
    let pending: Vec<LineRow> = statement_lines::table
        .filter(statement_lines::statement_id.is_null())
        .load(conn)?;

    let mut by_merchant: BTreeMap<i64, (Vec<DayOrder>, Vec<LineRow>)> = BTreeMap::new();
    for order in day_orders {
        by_merchant.entry(order.1).or_default().0.push(order);
    }
    for line in pending {
        by_merchant.entry(line.merchant_id).or_default().1.push(line);
    }
    if by_merchant.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = by_merchant.keys().copied().collect();
    let names: HashMap<i64, String> = merchants::table
        .filter(merchants::id.eq_any(&ids))
        .select((merchants::id, merchants::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let carries = carried_in(conn, &ids)?;
    let listening = with_webhooks(conn, &ids)?;
    let statement_ids = allocate_statement_ids(conn, by_merchant.len())?;

    // Everything is computed in memory first (figures, lines, CSV, digest), then the
    // day goes in with a few multi-row INSERTs: on PostgreSQL a round trip per
    // statement (three per merchant before) was most of the closing's time.
    let planned: Vec<Planned> = by_merchant
        .into_iter()
        .zip(statement_ids)
        .map(|((merchant_id, (day_orders, clawbacks)), id)| {
            plan_statement(StatementInput {
                id,
                merchant_id,
                name: names.get(&merchant_id).map(String::as_str).unwrap_or_default(),
                day: &day_text,
                orders: &day_orders,
                clawbacks,
                carried_in_fen: carries.get(&merchant_id).copied().unwrap_or(0),
                hold_reason: holds.get(&merchant_id).map(String::as_str),
                closed_at,
                announce: listening.contains(&merchant_id),
            })
        })
        .collect();
    let count = planned.len();
    crate::db::insert_rows!(
        conn,
        statements::table,
        planned.iter().map(|p| p.statement.clone()),
        STATEMENTS_PER_INSERT
    );
    crate::db::insert_rows!(
        conn,
        statement_lines::table,
        planned.iter().flat_map(|p| p.lines.iter().cloned()),
        LINES_PER_INSERT
    );
    for statement in &planned {
        take_clawbacks(conn, statement)?;
        if statement.announce {
            // In the closing transaction (API.md, Webhooks): a day rolled back sends nothing.
            crate::statements::events::record_closed(conn, statement.as_row())?;
        }
    }
    diesel::update(statement_days::table.find(&day_text))
        .set(statement_days::statements.eq(count as i64))
        .execute(conn)?;
    Ok(count)
}

#[derive(QueryableByName)]
struct AllocatedId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// `n` ids for new statements, taken before they are written (inside the closing
/// transaction). PostgreSQL: `n` values of the table's own sequence, as a plain
/// INSERT would take them (a rolled-back day leaves a gap, as it would anyway).
/// SQLite: the ids after the highest ever given (`AUTOINCREMENT` keeps it in
/// `sqlite_sequence`), which no one else can take while the closing holds the write
/// lock; the INSERT then moves `sqlite_sequence` past them.
fn allocate_statement_ids(conn: &mut DbConnection, n: usize) -> QueryResult<Vec<i64>> {
    let n = n as i64;
    match conn {
        DbConnection::Postgresql(pg) => {
            let mut ids: Vec<i64> = diesel::sql_query(
                "SELECT nextval(pg_get_serial_sequence('statements', 'id')) AS id \
                 FROM generate_series(1, $1::BIGINT)",
            )
            .bind::<diesel::sql_types::BigInt, _>(n)
            .load::<AllocatedId>(pg)?
            .into_iter()
            .map(|row| row.id)
            .collect();
            ids.sort_unstable();
            Ok(ids)
        }
        DbConnection::Sqlite(lite) => {
            let highest = diesel::sql_query(
                "SELECT MAX(COALESCE((SELECT MAX(id) FROM statements), 0), \
                 COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'statements'), 0)) AS id",
            )
            .get_result::<AllocatedId>(lite)?
            .id;
            Ok((highest + 1..=highest + n).collect())
        }
    }
}

/// What each merchant still owes back, to bring forward as a clawback (negative,
/// like a clawback line): its latest statement's `net_fen` when that is below zero
/// (that net already holds any older debt it took in). Days close in order, so the latest statement is the one
/// with the highest id.
fn carried_in(conn: &mut DbConnection, merchant_ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    let latest: Vec<(i64, Option<i64>)> = statements::table
        .filter(statements::merchant_id.eq_any(merchant_ids))
        .group_by(statements::merchant_id)
        .select((statements::merchant_id, max(statements::id)))
        .load(conn)?;
    let latest_ids: Vec<i64> = latest.into_iter().filter_map(|(_, id)| id).collect();
    if latest_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let balances: Vec<(i64, i64)> = statements::table
        .filter(statements::id.eq_any(&latest_ids))
        .select((statements::merchant_id, statements::net_fen))
        .load(conn)?;
    Ok(balances
        .into_iter()
        .filter_map(|(merchant_id, net)| (net < 0).then_some((merchant_id, net)))
        .collect())
}

/// The merchants among `merchant_ids` with a live webhook endpoint: only they get a
/// `statement.closed` event, so a day of 2,000 merchants does not cost 2,000 reads.
fn with_webhooks(conn: &mut DbConnection, merchant_ids: &[i64]) -> QueryResult<HashSet<i64>> {
    let ids: Vec<i64> = webhooks::table
        .filter(webhooks::merchant_id.eq_any(merchant_ids))
        .filter(webhooks::deleted_at.is_null())
        .select(webhooks::merchant_id)
        .distinct()
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

struct StatementInput<'a> {
    /// Allocated beforehand by [`allocate_statement_ids`].
    id: i64,
    merchant_id: i64,
    name: &'a str,
    day: &'a str,
    orders: &'a [DayOrder],
    clawbacks: Vec<LineRow>,
    carried_in_fen: i64,
    hold_reason: Option<&'a str>,
    closed_at: NaiveDateTime,
    /// Whether the merchant has a webhook endpoint to hear `statement.closed`.
    announce: bool,
}

/// One merchant's statement of the day, ready to be written: the row (digest
/// included), its new subsidy lines, the pending clawbacks it takes.
struct Planned {
    statement: NewStatement,
    lines: Vec<NewLine>,
    clawback_ids: Vec<i64>,
    announce: bool,
}

impl Planned {
    /// The row as it stands once written (for the `statement.closed` event).
    fn as_row(&self) -> StatementRow {
        let s = &self.statement;
        StatementRow {
            id: s.id,
            merchant_id: s.merchant_id,
            name: s.name.clone(),
            day: s.day.clone(),
            status: s.status,
            orders: s.orders,
            subsidy_fen: s.subsidy_fen,
            clawback_fen: s.clawback_fen,
            net_fen: s.net_fen,
            carried_in_fen: s.carried_in_fen,
            payout_fen: s.payout_fen,
            digest: s.digest.clone(),
            hold_reason: s.hold_reason.clone(),
            payout_reference: None,
            closed_at: s.closed_at,
            approved_at: None,
            paid_at: None,
        }
    }
}

/// Computes one merchant's statement: its figures, subsidy lines, CSV and digest.
fn plan_statement(input: StatementInput<'_>) -> Planned {
    let subsidy_fen: i64 = input.orders.iter().map(|o| o.2).sum();
    // API.md: a negative net carries forward as a clawback to the next statement, so
    // the debt brought in is part of this statement's clawbacks (and of its net).
    let clawback_fen: i64 = -input.carried_in_fen - input.clawbacks.iter().map(|l| l.amount_fen).sum::<i64>();
    let net_fen = subsidy_fen - clawback_fen;
    let payout_fen = net_fen.max(0);
    let status = if input.hold_reason.is_some() {
        StatementStatus::Held
    } else {
        StatementStatus::Closed
    };
    let new_lines: Vec<NewLine> = input
        .orders
        .iter()
        .map(|&(order_id, merchant_id, subsidy_fen, redeemed_at)| NewLine {
            statement_id: Some(input.id),
            merchant_id,
            order_id,
            kind: StatementLineKind::Subsidy,
            amount_fen: subsidy_fen,
            redeemed_at,
            created_at: input.closed_at,
        })
        .collect();
    let mut csv_lines: Vec<LineRow> = new_lines
        .iter()
        .map(|l| LineRow {
            id: 0,
            statement_id: l.statement_id,
            merchant_id: l.merchant_id,
            order_id: l.order_id,
            kind: l.kind,
            amount_fen: l.amount_fen,
            redeemed_at: l.redeemed_at,
            created_at: l.created_at,
        })
        .collect();
    let clawback_ids = input.clawbacks.iter().map(|l| l.id).collect();
    csv_lines.extend(input.clawbacks);
    let body = csv::statement(
        &StatementFigures {
            id: input.id,
            merchant_id: input.merchant_id,
            name: input.name,
            day: input.day,
            subsidy_fen,
            clawback_fen,
            net_fen,
            carried_in_fen: input.carried_in_fen,
            payout_fen,
        },
        &csv_lines,
    );
    Planned {
        statement: NewStatement {
            id: input.id,
            merchant_id: input.merchant_id,
            name: input.name.to_owned(),
            day: input.day.to_owned(),
            status,
            orders: input.orders.len() as i64,
            subsidy_fen,
            clawback_fen,
            net_fen,
            carried_in_fen: input.carried_in_fen,
            payout_fen,
            digest: csv::digest(&body),
            hold_reason: input.hold_reason.map(str::to_owned),
            closed_at: input.closed_at,
        },
        lines: new_lines,
        clawback_ids,
        announce: input.announce,
    }
}

/// Puts the merchant's pending clawback lines on its new statement. Few merchants
/// have any, so one UPDATE each costs little.
fn take_clawbacks(conn: &mut DbConnection, statement: &Planned) -> QueryResult<()> {
    if statement.clawback_ids.is_empty() {
        return Ok(());
    }
    let taken = diesel::update(
        statement_lines::table
            .filter(statement_lines::id.eq_any(&statement.clawback_ids))
            .filter(statement_lines::statement_id.is_null()),
    )
    .set(statement_lines::statement_id.eq(statement.statement.id))
    .execute(conn)?;
    if taken != statement.clawback_ids.len() {
        // Another closer took them: roll the whole day back and let a later pass retry.
        return Err(diesel::result::Error::RollbackTransaction);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shanghai_day_starts_at_16_utc_the_day_before() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
        let (start, end) = day_bounds(tz, day);
        assert_eq!(start.to_string(), "2026-11-24 16:00:00");
        assert_eq!(end.to_string(), "2026-11-25 16:00:00");
        assert_eq!(
            local_date(tz, end),
            NaiveDate::from_ymd_opt(2026, 11, 26).expect("date")
        );
    }
}
