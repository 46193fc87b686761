//! Merchants in the database: applications, listings, status moves, staff.

use diesel::prelude::*;

use super::access;
use super::models::{MemberRole, MerchantRow, MerchantStatus, NewMember, NewMerchant};
use crate::audit::{self, AuditTarget};
use crate::db::is_unique_violation;
use crate::db::schema::{merchant_members, merchants, users};
use crate::db::{write_tx, DbConnection};
use crate::domain::{Caller, Category};
use crate::error::{AppError, AppResult, Code};
use crate::http::PageRequest;
use crate::search;
use crate::time::now;

/// A parsed merchant application (`POST /merchants`).
#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    /// Upper-case, check character verified.
    pub license_no: String,
    pub category: Category,
    pub district: String,
    pub address: String,
    pub contact_phone: String,
}

fn license_taken() -> AppError {
    AppError::new(
        Code::LicenseTaken,
        "another merchant that is not rejected holds this unified social credit code",
    )
}

/// Files an application: the merchant (`pending`) and the applicant's owner
/// membership in one transaction. A live merchant with the same code is 409
/// `license_taken`; the partial unique index decides between racing applications.
pub fn apply(conn: &mut DbConnection, owner_id: i64, app: &Application) -> AppResult<MerchantRow> {
    write_tx(conn, |conn| {
        let held: i64 = merchants::table
            .filter(merchants::license_no.eq(&app.license_no))
            .filter(merchants::status.ne(MerchantStatus::Rejected))
            .count()
            .get_result(conn)?;
        if held > 0 {
            return Err(license_taken());
        }
        let created_at = now();
        let merchant: MerchantRow = diesel::insert_into(merchants::table)
            .values(NewMerchant {
                name: &app.name,
                license_no: &app.license_no,
                category: app.category.as_str(),
                district: &app.district,
                address: &app.address,
                contact_phone: &app.contact_phone,
                status: MerchantStatus::Pending.as_str(),
                owner_id,
                search_text: &search::merchant_text(&app.name),
                created_at,
            })
            .returning(merchants::all_columns)
            .get_result(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    license_taken()
                } else {
                    e.into()
                }
            })?;
        diesel::insert_into(merchant_members::table)
            .values(NewMember {
                merchant_id: merchant.id,
                user_id: owner_id,
                role: MemberRole::Owner,
                created_at,
            })
            .execute(conn)?;
        Ok(merchant)
    })
}

/// Filters of the public list (`GET /merchants`).
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    pub category: Option<Category>,
    pub district: Option<String>,
    pub q: Option<String>,
}

/// Approved merchants, newest first.
pub fn list_approved(
    conn: &mut DbConnection,
    filter: &PublicFilter,
    page: PageRequest,
) -> QueryResult<Vec<MerchantRow>> {
    let mut query = merchants::table
        .filter(merchants::status.eq(MerchantStatus::Approved))
        .into_boxed();
    if let Some(category) = filter.category {
        query = query.filter(merchants::category.eq(category));
    }
    if let Some(district) = &filter.district {
        query = query.filter(merchants::district.eq(district.clone()));
    }
    if let Some(q) = &filter.q {
        query = query.filter(
            merchants::search_text
                .like(search::contains_pattern(q))
                .escape(search::ESCAPE),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(merchants::id.lt(after));
    }
    query.order(merchants::id.desc()).limit(page.fetch()).load(conn)
}

/// Whether the admin list runs oldest first: the review queue (`status=pending`) is
/// worked through in the order applications came in (API.md), so the oldest waiting
/// application is always on the first page; every other view is newest first, the
/// convention of all lists. The cursor is the last id seen in either direction.
pub fn admin_list_oldest_first(status_filter: Option<MerchantStatus>) -> bool {
    status_filter == Some(MerchantStatus::Pending)
}

/// All merchants, or those with `status_filter`, for the admin console.
pub fn list_for_admin(
    conn: &mut DbConnection,
    status_filter: Option<MerchantStatus>,
    page: PageRequest,
) -> QueryResult<Vec<MerchantRow>> {
    let mut query = merchants::table.into_boxed();
    if let Some(s) = status_filter {
        query = query.filter(merchants::status.eq(s));
    }
    if admin_list_oldest_first(status_filter) {
        if let Some(after) = page.after {
            query = query.filter(merchants::id.gt(after));
        }
        query = query.order(merchants::id.asc());
    } else {
        if let Some(after) = page.after {
            query = query.filter(merchants::id.lt(after));
        }
        query = query.order(merchants::id.desc());
    }
    query.limit(page.fetch()).load(conn)
}

/// The admin's status moves; anything else is 409 `invalid_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Approve,
    Reject,
    Suspend,
    Reinstate,
}

impl Move {
    fn from(self) -> MerchantStatus {
        match self {
            Move::Approve | Move::Reject => MerchantStatus::Pending,
            Move::Suspend => MerchantStatus::Approved,
            Move::Reinstate => MerchantStatus::Suspended,
        }
    }

    fn to(self) -> MerchantStatus {
        match self {
            Move::Approve | Move::Reinstate => MerchantStatus::Approved,
            Move::Reject => MerchantStatus::Rejected,
            Move::Suspend => MerchantStatus::Suspended,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Move::Approve => "approve",
            Move::Reject => "reject",
            Move::Suspend => "suspend",
            Move::Reinstate => "reinstate",
        }
    }
}

/// Makes `change` on merchant `merchant_id` as admin `actor_id`: one conditional
/// `UPDATE … WHERE id = ? AND status = <from>` (the affected-row count decides a
/// race between two admins) and the audit row, in one transaction. `review_note`
/// holds the reason of the latest move that gave one (reject, suspend, reinstate);
/// approve leaves it as it is (a pending merchant has none).
pub fn change_status(
    conn: &mut DbConnection,
    actor_id: i64,
    merchant_id: i64,
    change: Move,
    reason: Option<&str>,
) -> AppResult<MerchantRow> {
    write_tx(conn, |conn| {
        let target = merchants::table
            .find(merchant_id)
            .filter(merchants::status.eq(change.from()));
        let updated: Option<MerchantRow> = match reason {
            Some(reason) => diesel::update(target)
                .set((merchants::status.eq(change.to()), merchants::review_note.eq(reason)))
                .returning(merchants::all_columns)
                .get_result(conn)
                .optional()?,
            None => diesel::update(target)
                .set(merchants::status.eq(change.to()))
                .returning(merchants::all_columns)
                .get_result(conn)
                .optional()?,
        };
        let Some(merchant) = updated else {
            let current: Option<String> = merchants::table
                .find(merchant_id)
                .select(merchants::status)
                .first(conn)
                .optional()?;
            return Err(match current {
                None => AppError::not_found(),
                Some(current) => AppError::invalid_state(format!(
                    "cannot {} a merchant that is {current} (only one that is {})",
                    change.verb(),
                    change.from()
                )),
            });
        };
        audit::record(
            conn,
            actor_id,
            AuditTarget::Merchant,
            change.verb(),
            merchant_id,
            reason,
        )?;
        Ok(merchant)
    })
}

/// The owner adds the registered user with `phone` as staff. 404 for an unknown
/// phone; 409 `invalid_state` when that user is already a member.
pub fn add_staff(conn: &mut DbConnection, merchant_id: i64, caller: Caller, phone: &str) -> AppResult<i64> {
    write_tx(conn, |conn| {
        let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
        relation.require_owner()?;
        let user_id: i64 = users::table
            .filter(users::phone.eq(phone))
            .select(users::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::new(Code::NotFound, "no registered user has this phone number"))?;
        let already_member = || AppError::invalid_state("this user is already a member of the merchant");
        let existing: i64 = merchant_members::table
            .filter(merchant_members::merchant_id.eq(merchant_id))
            .filter(merchant_members::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        if existing > 0 {
            return Err(already_member());
        }
        diesel::insert_into(merchant_members::table)
            .values(NewMember {
                merchant_id,
                user_id,
                role: MemberRole::Staff,
                created_at: now(),
            })
            .execute(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    already_member()
                } else {
                    e.into()
                }
            })?;
        Ok(user_id)
    })
}

/// The owner removes a staff member. The owner cannot remove themself (409
/// `invalid_state`); a user who is not staff of this merchant is 404.
pub fn remove_staff(conn: &mut DbConnection, merchant_id: i64, caller: Caller, user_id: i64) -> AppResult<()> {
    write_tx(conn, |conn| {
        let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
        relation.require_owner()?;
        let removed = diesel::delete(
            merchant_members::table
                .filter(merchant_members::merchant_id.eq(merchant_id))
                .filter(merchant_members::user_id.eq(user_id))
                .filter(merchant_members::role.eq(MemberRole::Staff)),
        )
        .execute(conn)?;
        if removed > 0 {
            return Ok(());
        }
        // Only the owner gets here, and a merchant has one owner.
        if user_id == caller.id {
            return Err(AppError::invalid_state("the owner cannot remove themself"));
        }
        Err(AppError::new(Code::NotFound, "this user is not staff of the merchant"))
    })
}
