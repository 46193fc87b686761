//! Who the caller is to a merchant, and what that lets them see and do.
//!
//! API.md: a merchant that is not approved is 404 to strangers on every call under
//! `/merchants/{id}`; an approved one is visible to all, and a stranger gets 403 on
//! the calls reserved to members. Admins see every merchant but are not members.
//! Later features (orders, redemptions) reuse these checks.

use diesel::prelude::*;

use super::models::{MemberRole, MerchantRow, MerchantStatus};
use crate::db::schema::{merchant_members, merchants};
use crate::db::DbConnection;
use crate::domain::Caller;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Owner,
    Staff,
    Admin,
    /// Signed in or not, neither a member nor an admin.
    Stranger,
}

impl Relation {
    pub fn is_member(self) -> bool {
        matches!(self, Relation::Owner | Relation::Staff)
    }

    /// Members and admins see a merchant (and its offers) whatever its status.
    pub fn sees_everything(self) -> bool {
        self != Relation::Stranger
    }

    /// For calls only the owner may make: everyone else who can see the merchant
    /// gets 403.
    pub fn require_owner(self) -> AppResult<()> {
        match self {
            Relation::Owner => Ok(()),
            _ => Err(AppError::forbidden("only the merchant's owner may do this")),
        }
    }

    /// For calls the owner and staff may make.
    pub fn require_member(self) -> AppResult<()> {
        if self.is_member() {
            Ok(())
        } else {
            Err(AppError::forbidden("only the merchant's owner and staff may do this"))
        }
    }
}

/// The caller's relation to merchant `merchant_id` (which need not exist).
pub fn relation(conn: &mut DbConnection, merchant_id: i64, user: Option<Caller>) -> QueryResult<Relation> {
    let Some(user) = user else {
        return Ok(Relation::Stranger);
    };
    if user.is_admin() {
        return Ok(Relation::Admin);
    }
    let member_role: Option<String> = merchant_members::table
        .find((merchant_id, user.id))
        .select(merchant_members::role)
        .first(conn)
        .optional()?;
    Ok(match member_role.as_deref().map(MemberRole::parse) {
        Some(Some(MemberRole::Owner)) => Relation::Owner,
        Some(_) => Relation::Staff,
        None => Relation::Stranger,
    })
}

/// Whether someone with `relation` may see a merchant with `merchant_status`.
pub fn can_see(relation: Relation, merchant_status: MerchantStatus) -> bool {
    merchant_status == MerchantStatus::Approved || relation.sees_everything()
}

/// The merchant as the caller may see it, with the caller's relation to it; 404
/// when it does not exist or is hidden from the caller.
pub fn visible_merchant(
    conn: &mut DbConnection,
    merchant_id: i64,
    user: Option<Caller>,
) -> AppResult<(MerchantRow, Relation)> {
    let merchant: MerchantRow = merchants::table
        .find(merchant_id)
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    let relation = relation(conn, merchant_id, user)?;
    if can_see(relation, merchant.status) {
        Ok((merchant, relation))
    } else {
        Err(AppError::not_found())
    }
}
