//! HTTP handlers of `/offers…` and `POST /merchants/{id}/offers`.

use actix_web::{web, HttpResponse};

use super::dto::OfferDto;
use super::models::OfferStatus;
use super::repo::{self, CatalogFilter, NewOfferCmd, OfferPatch};
use crate::auth::{AuthUser, MaybeUser};
use crate::db;
use crate::domain::{Category, District};
use crate::error::AppResult;
use crate::http::form::{choice, integer_in, present, text, Form, JsonBody, Patch};
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;

const MAX_PRICE_FEN: i64 = 100_000_000;
const MAX_STOCK: i64 = 10_000_000;

/// `POST /merchants/{id}/offers` `{title, description?, price_fen, stock?}`
#[utoipa::path(post, path = "/api/v1/merchants/{id}/offers", tag = "offers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")), request_body = super::dto::NewOfferRequest,
    responses((status = 201, description = "The offer, `status: active`", body = OfferDto),
              (status = 403, description = "forbidden: only the merchant's owner"),
              (status = 409, description = "merchant_not_approved: the merchant is not approved")))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let merchant_id = path.into_inner();
    let mut form = Form::new(body)?;
    let title = form.required("title", |v| text(v, 1, 100));
    let description = form.optional("description", |v| text(v, 0, 2000));
    let price_fen = form.required("price_fen", |v| integer_in(v, 1, MAX_PRICE_FEN));
    let stock = form.optional("stock", |v| integer_in(v, 0, MAX_STOCK));
    form.finish()?;
    let cmd = NewOfferCmd {
        title: present(title)?,
        description: present(description)?.unwrap_or_default(),
        price_fen: present(price_fen)?,
        stock: present(stock)?,
    };
    let caller = user.caller();
    let offer = db::run(&state.pool, move |c| repo::create(c, caller, merchant_id, &cmd)).await?;
    Ok(HttpResponse::Created().json(OfferDto::from(offer)))
}

/// A PATCH field that may not be null.
fn not_null<T>(form: &mut Form, name: &str, value: Option<Patch<T>>) -> Option<T> {
    match value {
        Some(Patch::Set(Some(v))) => Some(v),
        Some(Patch::Set(None)) => {
            form.reject(name, "cannot be null");
            None
        }
        Some(Patch::Keep) | None => None,
    }
}

/// `PATCH /offers/{id}` `{title?, description?, price_fen?, stock?, status?}`;
/// `stock: null` makes the offer unlimited, `description: null` empties it.
#[utoipa::path(patch, path = "/api/v1/offers/{id}", tag = "offers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Offer id")), request_body = super::dto::OfferPatchRequest,
    responses((status = 200, description = "The offer", body = OfferDto),
              (status = 403, description = "forbidden: only the merchant's owner"),
              (status = 409, description = "merchant_not_approved: the merchant is not approved")))]
pub async fn patch(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let offer_id = path.into_inner();
    let mut form = Form::new(body)?;
    let title = form.patch("title", |v| text(v, 1, 100));
    let description = form.patch("description", |v| text(v, 0, 2000));
    let price_fen = form.patch("price_fen", |v| integer_in(v, 1, MAX_PRICE_FEN));
    let stock = form.patch("stock", |v| integer_in(v, 0, MAX_STOCK));
    let new_status = form.patch("status", |v| {
        choice(v, OfferStatus::NAMES)?
            .parse::<OfferStatus>()
            .map_err(|e| e.to_string())
    });
    let patch = OfferPatch {
        title: not_null(&mut form, "title", title),
        description: match description {
            Some(Patch::Set(d)) => Some(d.unwrap_or_default()),
            _ => None,
        },
        price_fen: not_null(&mut form, "price_fen", price_fen),
        stock: match stock {
            Some(Patch::Set(s)) => Some(s),
            _ => None,
        },
        status: not_null(&mut form, "status", new_status),
    };
    form.finish()?;
    let caller = user.caller();
    let offer = db::run(&state.pool, move |c| repo::patch(c, caller, offer_id, patch)).await?;
    Ok(HttpResponse::Ok().json(OfferDto::from(offer)))
}

/// `GET /offers?category=&district=&merchant_id=&q=`
#[utoipa::path(get, path = "/api/v1/offers", tag = "offers",
    params(crate::http::PageParams,
           ("category" = Option<Category>, Query, description = "Only merchants of this category"),
           ("district" = Option<District>, Query, description = "Only merchants in this district"),
           ("merchant_id" = Option<i64>, Query, description = "Only this merchant's offers"),
           ("q" = Option<String>, Query, max_length = 100, pattern = "^[^\\x00]*$", description = "Case-insensitive substring of title or description (trimmed; empty means none)")),
    responses((status = 200, description = "Active offers of approved merchants, newest first", body = crate::http::Page<OfferDto>)))]
pub async fn list(state: web::Data<AppState>, query: QueryMap) -> AppResult<HttpResponse> {
    let districts = state.settings.platform.districts();
    let mut form = QueryForm::new(query);
    let page = form.page();
    let filter = CatalogFilter {
        category: form
            .choice("category", Category::NAMES)
            .and_then(|c| Category::parse(&c)),
        district: form.choice("district", &districts),
        merchant_id: form.integer("merchant_id"),
        q: form.text("q", 100),
    };
    form.finish()?;
    let rows = db::run(&state.pool, move |c| Ok(repo::catalog(c, &filter, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |o| o.id, OfferDto::from)))
}

/// `GET /merchants/{id}/offers`: all of the merchant's offers, for its members.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/offers", tag = "offers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"), crate::http::PageParams),
    responses((status = 200, description = "The merchant's offers, active and inactive, newest first", body = crate::http::Page<OfferDto>),
              (status = 403, description = "forbidden: only the merchant's owner and staff")))]
pub async fn merchant_list(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    let (merchant_id, caller) = (path.into_inner(), user.caller());
    let rows = db::run(&state.pool, move |c| repo::of_merchant(c, caller, merchant_id, page)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |o| o.id, OfferDto::from)))
}

/// `GET /offers/{id}`
#[utoipa::path(get, path = "/api/v1/offers/{id}", tag = "offers", security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Offer id")),
    responses((status = 200, description = "The offer while active and its merchant approved (members and admins: always)", body = OfferDto)))]
pub async fn show(state: web::Data<AppState>, user: MaybeUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let caller = user.0.map(|u| u.caller());
    let offer = db::run(&state.pool, move |c| repo::find_visible(c, id, caller)).await?;
    Ok(HttpResponse::Ok().json(OfferDto::from(offer)))
}
