//! Staff invitations in the database: the owner invites a phone number, the user
//! with that phone accepts or declines.
//!
//! Why invitations: adding staff directly answered 404 or 201 depending on whether
//! the phone had an account (an account oracle) and made strangers staff without
//! their consent (which then barred their vouchers at that merchant). An invitation
//! is written the same way for any phone; only its invitee can see or answer it.
//! One open invitation per merchant and phone: inviting again renews it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::access;
use super::models::{InvitationRow, InvitationStatus, MemberRole, NewInvitation, NewMember};
use crate::db::schema::{merchant_members, merchants, staff_invitations, users};
use crate::db::{is_unique_violation, write_tx, DbConnection};
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::http::PageRequest;
use crate::time::now;

/// What the owner learns from an invitation: nothing about the phone's account.
#[derive(Debug, Clone)]
pub struct Invited {
    pub merchant_id: i64,
    pub phone: String,
    pub expires_at: NaiveDateTime,
}

fn already_member() -> AppError {
    AppError::invalid_state("this user is already a member of the merchant")
}

/// The owner invites `phone` to the staff for `valid_days`. 409 `invalid_state`
/// when that phone's user is already a member (the owner sees members anyway).
pub fn invite(
    conn: &mut DbConnection,
    merchant_id: i64,
    caller: Caller,
    phone: &str,
    valid_days: i64,
) -> AppResult<Invited> {
    write_tx(conn, |conn| {
        let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
        relation.require_owner()?;
        let members: i64 = merchant_members::table
            .inner_join(users::table)
            .filter(merchant_members::merchant_id.eq(merchant_id))
            .filter(users::phone.eq(phone))
            .count()
            .get_result(conn)?;
        if members > 0 {
            return Err(already_member());
        }
        let at = now();
        let expires_at = at + Duration::days(valid_days);
        let renewed = diesel::update(
            staff_invitations::table
                .filter(staff_invitations::merchant_id.eq(merchant_id))
                .filter(staff_invitations::phone.eq(phone))
                .filter(staff_invitations::status.eq(InvitationStatus::Invited))
                .filter(staff_invitations::expires_at.gt(at)),
        )
        .set(staff_invitations::expires_at.eq(expires_at))
        .execute(conn)?;
        if renewed == 0 {
            diesel::insert_into(staff_invitations::table)
                .values(NewInvitation {
                    merchant_id,
                    phone: phone.to_owned(),
                    invited_by: caller.id,
                    status: InvitationStatus::Invited,
                    expires_at,
                    created_at: at,
                })
                .execute(conn)?;
        }
        Ok(Invited {
            merchant_id,
            phone: phone.to_owned(),
            expires_at,
        })
    })
}

fn phone_of(conn: &mut DbConnection, caller: Caller) -> QueryResult<String> {
    users::table.find(caller.id).select(users::phone).first(conn)
}

/// The caller's pending, unexpired invitations, newest first.
pub fn list_for(conn: &mut DbConnection, caller: Caller, page: PageRequest) -> QueryResult<Vec<InvitationRow>> {
    let phone = phone_of(conn, caller)?;
    let mut query = staff_invitations::table
        .inner_join(merchants::table)
        .filter(staff_invitations::phone.eq(phone))
        .filter(staff_invitations::status.eq(InvitationStatus::Invited))
        .filter(staff_invitations::expires_at.gt(now()))
        .select((
            staff_invitations::id,
            staff_invitations::merchant_id,
            merchants::name,
            staff_invitations::created_at,
            staff_invitations::expires_at,
        ))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(staff_invitations::id.lt(after));
    }
    query.order(staff_invitations::id.desc()).limit(page.fetch()).load(conn)
}

/// Answers an invitation of the caller's: one conditional UPDATE from `invited`
/// decides, so an invitation is answered once. Someone else's, an expired or an
/// answered one is 404. Returns the merchant.
fn answer(conn: &mut DbConnection, caller: Caller, id: i64, to: InvitationStatus) -> AppResult<i64> {
    let phone = phone_of(conn, caller)?;
    let at = now();
    let open = staff_invitations::table
        .find(id)
        .filter(staff_invitations::phone.eq(&phone))
        .filter(staff_invitations::status.eq(InvitationStatus::Invited))
        .filter(staff_invitations::expires_at.gt(at));
    let merchant_id: Option<i64> = open.select(staff_invitations::merchant_id).first(conn).optional()?;
    let merchant_id = merchant_id.ok_or_else(AppError::not_found)?;
    let answered = diesel::update(open)
        .set((
            staff_invitations::status.eq(to),
            staff_invitations::answered_at.eq(Some(at)),
        ))
        .execute(conn)?;
    if answered == 0 {
        return Err(AppError::not_found());
    }
    Ok(merchant_id)
}

/// The invitee accepts: they become staff, in the same transaction.
pub fn accept(conn: &mut DbConnection, caller: Caller, id: i64) -> AppResult<i64> {
    write_tx(conn, |conn| {
        let merchant_id = answer(conn, caller, id, InvitationStatus::Accepted)?;
        diesel::insert_into(merchant_members::table)
            .values(NewMember {
                merchant_id,
                user_id: caller.id,
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
        Ok(merchant_id)
    })
}

/// The invitee declines.
pub fn decline(conn: &mut DbConnection, caller: Caller, id: i64) -> AppResult<()> {
    write_tx(conn, |conn| {
        answer(conn, caller, id, InvitationStatus::Declined).map(|_| ())
    })
}
