//! HTTP handlers of `/merchants…` and `/admin/merchants…`: parse, call, answer.

use actix_web::{web, HttpResponse};

use super::access;
use super::dto::{InvitationDto, InvitationSentDto, MemberDto, MembershipDto, MerchantDto, StaffDto};
use super::invitations;
use super::members;
use super::models::{InvitationStatus, MemberRole, MerchantStatus};
use super::repo::{self, Application, Move, PublicFilter};
use crate::auth::{AdminUser, AuthUser, MaybeUser};
use crate::db;
use crate::domain::{Category, ContactPhone, CreditCode, District, Phone};
use crate::error::AppResult;
use crate::http::form::{choice, present, string, text, Form, JsonBody};
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;
use crate::time::utc;

/// `POST /merchants`
#[utoipa::path(post, path = "/api/v1/merchants", tag = "merchants", request_body = super::dto::MerchantApplication,
    security(("bearer" = [])),
    responses((status = 201, description = "The application, `status: pending`; the caller owns it", body = MerchantDto),
              (status = 409, description = "license_taken: another merchant that is not rejected holds the code")))]
pub async fn apply(state: web::Data<AppState>, user: AuthUser, body: JsonBody) -> AppResult<HttpResponse> {
    let districts = state.settings.platform.districts();
    let mut form = Form::new(body)?;
    let name = form.required("name", |v| text(v, 1, 100));
    let license_no = form.required("license_no", |v| CreditCode::parse(string(v)?));
    let category = form.required("category", |v| {
        choice(v, Category::NAMES)?
            .parse::<Category>()
            .map_err(|e| e.to_string())
    });
    let district = form.required("district", |v| choice(v, &districts));
    let address = form.required("address", |v| text(v, 1, 200));
    let contact_phone = form.required("contact_phone", |v| ContactPhone::parse(string(v)?));
    form.finish()?;
    let application = Application {
        name: present(name)?,
        license_no: present(license_no)?.into_inner(),
        category: present(category)?,
        district: present(district)?,
        address: present(address)?,
        contact_phone: present(contact_phone)?.into_inner(),
    };
    let merchant = db::run(&state.pool, move |c| repo::apply(c, user.id, &application)).await?;
    Ok(HttpResponse::Created().json(MerchantDto::from(merchant)))
}

/// `GET /merchants?category=&district=&q=`
#[utoipa::path(get, path = "/api/v1/merchants", tag = "merchants",
    params(crate::http::PageParams,
           ("category" = Option<Category>, Query, description = "Only this category"),
           ("district" = Option<District>, Query, description = "Only this district"),
           ("q" = Option<String>, Query, max_length = 100, pattern = "^[^\\x00]*$", description = "Case-insensitive substring of the name (trimmed; empty means none)")),
    responses((status = 200, description = "Approved merchants, newest first", body = crate::http::Page<MerchantDto>)))]
pub async fn list(state: web::Data<AppState>, query: QueryMap) -> AppResult<HttpResponse> {
    let districts = state.settings.platform.districts();
    let mut form = QueryForm::new(query);
    let page = form.page();
    let filter = PublicFilter {
        category: form
            .choice("category", Category::NAMES)
            .and_then(|c| Category::parse(&c)),
        district: form.choice("district", &districts),
        q: form.text("q", 100),
    };
    form.finish()?;
    let rows = db::run(&state.pool, move |c| Ok(repo::list_approved(c, &filter, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |m| m.id, MerchantDto::from)))
}

/// `GET /merchants/{id}`
#[utoipa::path(get, path = "/api/v1/merchants/{id}", tag = "merchants", security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")),
    responses((status = 200, description = "The merchant: approved ones to all, any status to its members and admins", body = MerchantDto)))]
pub async fn show(state: web::Data<AppState>, user: MaybeUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let caller = user.0.map(|u| u.caller());
    let (merchant, _) = db::run(&state.pool, move |c| access::visible_merchant(c, id, caller)).await?;
    Ok(HttpResponse::Ok().json(MerchantDto::from(merchant)))
}

/// `GET /me/merchants`: the merchants the caller owns or staffs, with the role.
#[utoipa::path(get, path = "/api/v1/me/merchants", tag = "merchants", security(("bearer" = [])),
    params(crate::http::PageParams),
    responses((status = 200, description = "The caller's merchants (any status) with the caller's role, newest first",
               body = crate::http::Page<MembershipDto>)))]
pub async fn my_merchants(state: web::Data<AppState>, user: AuthUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    let user_id = user.id;
    let rows = db::run(&state.pool, move |c| Ok(members::of_user(c, user_id, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |m| m.merchant.id, MembershipDto::from)))
}

/// `GET /merchants/{id}/staff`: the members, for the owner.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/staff", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"), crate::http::PageParams),
    responses((status = 200, description = "The merchant's members, owner included, newest first", body = crate::http::Page<MemberDto>),
              (status = 403, description = "forbidden: only the merchant's owner")))]
pub async fn list_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    let (merchant_id, caller) = (path.into_inner(), user.caller());
    let rows = db::run(&state.pool, move |c| members::of_merchant(c, merchant_id, caller, page)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |m| m.user_id, MemberDto::from)))
}

/// `GET /admin/merchants?status=`: the pending queue oldest first, every other view
/// newest first (see [`repo::admin_list_oldest_first`]).
#[utoipa::path(get, path = "/api/v1/admin/merchants", tag = "merchants", security(("bearer" = [])),
    params(crate::http::PageParams,
           ("status" = Option<MerchantStatus>, Query, description = "Only this status; `pending` is the review queue, oldest first")),
    responses((status = 200, description = "Merchants, newest first (the pending queue oldest first)", body = crate::http::Page<MerchantDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn admin_list(state: web::Data<AppState>, _admin: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    let status_filter = form
        .choice("status", MerchantStatus::NAMES)
        .and_then(|s| MerchantStatus::parse(&s));
    form.finish()?;
    let rows = db::run(&state.pool, move |c| Ok(repo::list_for_admin(c, status_filter, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |m| m.id, MerchantDto::from)))
}

async fn change_status(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: i64,
    change: Move,
    reason: Option<String>,
) -> AppResult<HttpResponse> {
    let merchant = db::run(&state.pool, move |c| {
        repo::change_status(c, admin.0.id, id, change, reason.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(MerchantDto::from(merchant)))
}

fn reason_field(body: JsonBody) -> AppResult<String> {
    let mut form = Form::new(body)?;
    let reason = form.required("reason", |v| text(v, 1, 500));
    form.finish()?;
    present(reason)
}

/// `POST /admin/merchants/{id}/approve` (no body)
#[utoipa::path(post, path = "/api/v1/admin/merchants/{id}/approve", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")),
    responses((status = 200, description = "The merchant, `status: approved`", body = MerchantDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the merchant is not pending")))]
pub async fn approve(state: web::Data<AppState>, admin: AdminUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    change_status(state, admin, path.into_inner(), Move::Approve, None).await
}

/// `POST /admin/merchants/{id}/reject` `{reason}`
#[utoipa::path(post, path = "/api/v1/admin/merchants/{id}/reject", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")), request_body = super::dto::ReasonRequest,
    responses((status = 200, description = "The merchant, `status: rejected`; `review_note` holds the reason; final", body = MerchantDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the merchant is not pending")))]
pub async fn reject(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let reason = reason_field(body)?;
    change_status(state, admin, path.into_inner(), Move::Reject, Some(reason)).await
}

/// `POST /admin/merchants/{id}/suspend` `{reason}`
#[utoipa::path(post, path = "/api/v1/admin/merchants/{id}/suspend", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")), request_body = super::dto::ReasonRequest,
    responses((status = 200, description = "The merchant, `status: suspended`; its offers leave the catalog", body = MerchantDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the merchant is not approved")))]
pub async fn suspend(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let reason = reason_field(body)?;
    change_status(state, admin, path.into_inner(), Move::Suspend, Some(reason)).await
}

/// `POST /admin/merchants/{id}/reinstate` `{reason}`
#[utoipa::path(post, path = "/api/v1/admin/merchants/{id}/reinstate", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")), request_body = super::dto::ReasonRequest,
    responses((status = 200, description = "The merchant, `status: approved`; `review_note` holds the reason", body = MerchantDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the merchant is not suspended")))]
pub async fn reinstate(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let reason = reason_field(body)?;
    change_status(state, admin, path.into_inner(), Move::Reinstate, Some(reason)).await
}

/// `POST /merchants/{id}/staff` `{phone}`: an invitation, never a membership.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/staff", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")), request_body = super::dto::StaffRequest,
    responses((status = 202, description = "Invited: the same answer whether or not the phone has an account; valid merchants.staff_invitation_days (7)", body = InvitationSentDto),
              (status = 403, description = "forbidden: only the merchant's owner"),
              (status = 404, description = "not_found: no such merchant (or not visible)"),
              (status = 409, description = "invalid_state: that phone's user is already a member")))]
pub async fn add_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let merchant_id = path.into_inner();
    let mut form = Form::new(body)?;
    let phone = form.required("phone", |v| Phone::parse(string(v)?));
    form.finish()?;
    let phone = present(phone)?;
    let caller = user.caller();
    let days = state.settings.merchants.staff_invitation_days;
    let invited = db::run(&state.pool, move |c| {
        invitations::invite(c, merchant_id, caller, phone.as_str(), days)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(InvitationSentDto {
        merchant_id: invited.merchant_id,
        phone: invited.phone,
        status: InvitationStatus::Invited,
        expires_at: utc(invited.expires_at),
    }))
}

/// `GET /me/invitations`
#[utoipa::path(get, path = "/api/v1/me/invitations", tag = "merchants", security(("bearer" = [])),
    params(crate::http::PageParams),
    responses((status = 200, description = "The pending, unexpired invitations to the caller's phone, newest first", body = crate::http::Page<InvitationDto>)))]
pub async fn my_invitations(state: web::Data<AppState>, user: AuthUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    let caller = user.caller();
    let rows = db::run(&state.pool, move |c| Ok(invitations::list_for(c, caller, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id, InvitationDto::from)))
}

/// `POST /me/invitations/{id}/accept` (no body)
#[utoipa::path(post, path = "/api/v1/me/invitations/{id}/accept", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 200, description = "The caller is now staff", body = StaffDto),
              (status = 404, description = "not_found: not the caller's invitation, expired, or already answered"),
              (status = 409, description = "invalid_state: the caller is already a member")))]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (id, caller) = (path.into_inner(), user.caller());
    let merchant_id = db::run(&state.pool, move |c| invitations::accept(c, caller, id)).await?;
    Ok(HttpResponse::Ok().json(StaffDto {
        merchant_id,
        user_id: caller.id,
        role: MemberRole::Staff,
    }))
}

/// `POST /me/invitations/{id}/decline` (no body)
#[utoipa::path(post, path = "/api/v1/me/invitations/{id}/decline", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 204, description = "Declined"),
              (status = 404, description = "not_found: not the caller's invitation, expired, or already answered")))]
pub async fn decline_invitation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (id, caller) = (path.into_inner(), user.caller());
    db::run(&state.pool, move |c| invitations::decline(c, caller, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /merchants/{id}/staff/{user_id}`
#[utoipa::path(delete, path = "/api/v1/merchants/{id}/staff/{user_id}", tag = "merchants", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"), ("user_id" = i64, Path, description = "The staff member's user id")),
    responses((status = 204, description = "Removed"),
              (status = 403, description = "forbidden: only the merchant's owner"),
              (status = 404, description = "not_found: no such merchant (or not visible), or the user is not its staff"),
              (status = 409, description = "invalid_state: the owner cannot remove themself")))]
pub async fn remove_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (merchant_id, staff_id) = path.into_inner();
    let caller = user.caller();
    db::run(&state.pool, move |c| {
        repo::remove_staff(c, merchant_id, caller, staff_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
