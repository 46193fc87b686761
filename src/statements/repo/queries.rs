//! Reading statements: the admin list with filters, one statement with its lines,
//! and a merchant's own list (its members only; anyone else gets 404).

use diesel::prelude::*;

use crate::db::schema::{merchant_members, merchants, statement_lines, statements};
use crate::db::DbConnection;
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::http::PageRequest;
use crate::statements::models::{LineRow, StatementRow, StatementStatus};

/// The admin list's filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<StatementStatus>,
    pub merchant_id: Option<i64>,
    /// `YYYY-MM-DD`.
    pub day: Option<String>,
}

/// Statements newest first (by id), filtered.
pub fn list(conn: &mut DbConnection, filter: &Filter, page: PageRequest) -> QueryResult<Vec<StatementRow>> {
    let mut query = statements::table.into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(statements::status.eq(status));
    }
    if let Some(merchant_id) = filter.merchant_id {
        query = query.filter(statements::merchant_id.eq(merchant_id));
    }
    if let Some(day) = &filter.day {
        query = query.filter(statements::day.eq(day.clone()));
    }
    if let Some(after) = page.after {
        query = query.filter(statements::id.lt(after));
    }
    query.order(statements::id.desc()).limit(page.fetch()).load(conn)
}

/// One statement and its lines (subsidies by order, then clawbacks), for an admin.
pub fn detail(conn: &mut DbConnection, caller: Caller, id: i64) -> AppResult<(StatementRow, Vec<LineRow>)> {
    let statement: StatementRow = statements::table
        .find(id)
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    if !caller.is_admin() && !is_member(conn, statement.merchant_id, caller.id)? {
        return Err(AppError::not_found());
    }
    let mut lines: Vec<LineRow> = statement_lines::table
        .filter(statement_lines::statement_id.eq(id))
        .order(statement_lines::order_id.asc())
        .load(conn)?;
    lines.sort_by_key(|l| {
        (
            l.kind != crate::statements::models::StatementLineKind::Subsidy,
            l.order_id,
        )
    });
    Ok((statement, lines))
}

fn is_member(conn: &mut DbConnection, merchant_id: i64, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        merchant_members::table
            .filter(merchant_members::merchant_id.eq(merchant_id))
            .filter(merchant_members::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// `GET /merchants/{id}/statements`: the merchant's statements for its members
/// (and admins); 404 for anyone else, as if the merchant had none to show.
pub fn for_merchant(
    conn: &mut DbConnection,
    caller: Caller,
    merchant_id: i64,
    page: PageRequest,
) -> AppResult<Vec<StatementRow>> {
    let exists: bool = diesel::select(diesel::dsl::exists(merchants::table.find(merchant_id))).get_result(conn)?;
    if !exists || !(caller.is_admin() || is_member(conn, merchant_id, caller.id)?) {
        return Err(AppError::not_found());
    }
    let filter = Filter {
        merchant_id: Some(merchant_id),
        ..Filter::default()
    };
    Ok(list(conn, &filter, page)?)
}
