//! Who belongs to a merchant, read two ways: the merchants a user owns or staffs
//! (`GET /me/merchants`, so a client such as the merchant console can offer a pick
//! with names and roles), and a merchant's members (`GET /merchants/{id}/staff`,
//! for its owner). Writing memberships lives elsewhere: applying makes the owner
//! ([`super::repo::apply`]), accepting an invitation makes staff
//! ([`super::invitations`]), the owner removes staff ([`super::repo::remove_staff`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::access;
use super::models::{MemberRole, MerchantRow};
use crate::db::schema::{merchant_members, merchants, users};
use crate::db::DbConnection;
use crate::domain::Caller;
use crate::error::AppResult;
use crate::http::PageRequest;

/// One of the caller's merchants with the caller's role there.
pub struct Membership {
    pub merchant: MerchantRow,
    pub role: MemberRole,
}

/// The merchants `user_id` owns or staffs, whatever their status, newest merchant
/// first (keyed by merchant id).
pub fn of_user(conn: &mut DbConnection, user_id: i64, page: PageRequest) -> QueryResult<Vec<Membership>> {
    let mut query = merchant_members::table
        .inner_join(merchants::table)
        .filter(merchant_members::user_id.eq(user_id))
        .select((merchants::all_columns, merchant_members::role))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(merchants::id.lt(after));
    }
    let rows: Vec<(MerchantRow, String)> = query.order(merchants::id.desc()).limit(page.fetch()).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(merchant, role)| Membership {
            merchant,
            // The column only ever holds a MemberRole's text; an unknown value
            // would be staff, the smaller privilege.
            role: MemberRole::parse(&role).unwrap_or(MemberRole::Staff),
        })
        .collect())
}

/// A member of a merchant as its owner sees them.
#[derive(Debug, Queryable)]
pub struct MemberRow {
    pub user_id: i64,
    pub display_name: String,
    pub phone: String,
    #[diesel(deserialize_as = String)]
    pub role: MemberRole,
    pub joined_at: NaiveDateTime,
}

/// The members of merchant `merchant_id`, owner included, newest member first
/// (keyed by user id). Only its owner may list them (403 for staff and admins who
/// see the merchant, 404 for whoever does not).
pub fn of_merchant(
    conn: &mut DbConnection,
    merchant_id: i64,
    caller: Caller,
    page: PageRequest,
) -> AppResult<Vec<MemberRow>> {
    let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
    relation.require_owner()?;
    let mut query = merchant_members::table
        .inner_join(users::table)
        .filter(merchant_members::merchant_id.eq(merchant_id))
        .select((
            users::id,
            users::display_name,
            users::phone,
            merchant_members::role,
            merchant_members::created_at,
        ))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(users::id.lt(after));
    }
    Ok(query.order(users::id.desc()).limit(page.fetch()).load(conn)?)
}
