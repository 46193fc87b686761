//! Offers in the database: create, patch, the catalog.

use diesel::prelude::*;

use super::models::{NewOffer, OfferChanges, OfferRow, OfferStatus};
use crate::db::schema::{merchants, offers};
use crate::db::{write_tx, DbConnection};
use crate::domain::{Caller, Category};
use crate::error::{AppError, AppResult, Code};
use crate::http::PageRequest;
use crate::merchants::access::{self, Relation};
use crate::merchants::models::{MerchantRow, MerchantStatus};
use crate::search;
use crate::time::now;

/// A parsed `POST /merchants/{id}/offers`.
#[derive(Debug, Clone)]
pub struct NewOfferCmd {
    pub title: String,
    pub description: String,
    pub price_fen: i64,
    pub stock: Option<i64>,
}

/// A parsed `PATCH /offers/{id}`: `None` keeps a field; `stock: Some(None)` makes
/// the offer unlimited.
#[derive(Debug, Clone, Default)]
pub struct OfferPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub price_fen: Option<i64>,
    pub stock: Option<Option<i64>>,
    pub status: Option<OfferStatus>,
}

fn not_approved() -> AppError {
    AppError::new(Code::MerchantNotApproved, "the merchant is not approved")
}

/// The owner's checks for changing offers: visible (404), the owner (403), the
/// merchant approved (409 `merchant_not_approved`).
fn require_owner_of_approved(merchant: &MerchantRow, relation: Relation) -> AppResult<()> {
    relation.require_owner()?;
    if merchant.status != MerchantStatus::Approved {
        return Err(not_approved());
    }
    Ok(())
}

/// Creates an active offer of merchant `merchant_id` for its owner.
pub fn create(conn: &mut DbConnection, caller: Caller, merchant_id: i64, cmd: &NewOfferCmd) -> AppResult<OfferRow> {
    write_tx(conn, |conn| {
        let (merchant, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
        require_owner_of_approved(&merchant, relation)?;
        let at = now();
        let row = diesel::insert_into(offers::table)
            .values(NewOffer {
                merchant_id,
                title: &cmd.title,
                description: &cmd.description,
                price_fen: cmd.price_fen,
                stock: cmd.stock,
                status: OfferStatus::Active.as_str(),
                search_text: &search::offer_text(&cmd.title, &cmd.description),
                created_at: at,
                updated_at: at,
            })
            .returning(offers::all_columns)
            .get_result(conn)?;
        Ok(row)
    })
}

/// Whether someone with `relation` to the offer's merchant may see the offer.
fn can_see(offer: &OfferRow, merchant: &MerchantRow, relation: Relation) -> bool {
    relation.sees_everything() || (offer.status == OfferStatus::Active && merchant.status == MerchantStatus::Approved)
}

/// Applies the owner's patch. The first statement touches the offer row, so the
/// transaction holds its lock (on PostgreSQL too) before it reads the fields that
/// `search_text` is computed from: two racing patches cannot leave it stale.
pub fn patch(conn: &mut DbConnection, caller: Caller, offer_id: i64, patch: OfferPatch) -> AppResult<OfferRow> {
    write_tx(conn, |conn| {
        let at = now();
        let offer: OfferRow = diesel::update(offers::table.find(offer_id))
            .set(offers::updated_at.eq(at))
            .returning(offers::all_columns)
            .get_result(conn)
            .optional()?
            .ok_or_else(AppError::not_found)?;
        let merchant: MerchantRow = merchants::table.find(offer.merchant_id).first(conn)?;
        let relation = access::relation(conn, merchant.id, Some(caller))?;
        if !can_see(&offer, &merchant, relation) {
            return Err(AppError::not_found());
        }
        require_owner_of_approved(&merchant, relation)?;

        let search_text = if patch.title.is_some() || patch.description.is_some() {
            let title = patch.title.as_deref().unwrap_or(&offer.title);
            let description = patch.description.as_deref().unwrap_or(&offer.description);
            Some(search::offer_text(title, description))
        } else {
            None
        };
        let changes = OfferChanges {
            title: patch.title,
            description: patch.description,
            price_fen: patch.price_fen,
            stock: patch.stock,
            status: patch.status.map(OfferStatus::as_str),
            search_text,
            updated_at: Some(at),
        };
        Ok(diesel::update(offers::table.find(offer_id))
            .set(changes)
            .returning(offers::all_columns)
            .get_result(conn)?)
    })
}

/// One offer as the caller may see it; 404 when hidden or unknown.
pub fn find_visible(conn: &mut DbConnection, offer_id: i64, caller: Option<Caller>) -> AppResult<OfferRow> {
    let (offer, merchant): (OfferRow, MerchantRow) = offers::table
        .inner_join(merchants::table)
        .filter(offers::id.eq(offer_id))
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    let relation = access::relation(conn, merchant.id, caller)?;
    if can_see(&offer, &merchant, relation) {
        Ok(offer)
    } else {
        Err(AppError::not_found())
    }
}

/// Every offer of merchant `merchant_id`, active or not, newest first, for its
/// members (the console lists inactive offers too, so they can be turned back on);
/// 403 for admins and strangers who see the merchant, 404 for whoever does not.
pub fn of_merchant(
    conn: &mut DbConnection,
    caller: Caller,
    merchant_id: i64,
    page: PageRequest,
) -> AppResult<Vec<OfferRow>> {
    let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
    relation.require_member()?;
    let mut query = offers::table.filter(offers::merchant_id.eq(merchant_id)).into_boxed();
    if let Some(after) = page.after {
        query = query.filter(offers::id.lt(after));
    }
    Ok(query.order(offers::id.desc()).limit(page.fetch()).load(conn)?)
}

/// Filters of the catalog (`GET /offers`).
#[derive(Debug, Clone, Default)]
pub struct CatalogFilter {
    pub category: Option<Category>,
    pub district: Option<String>,
    pub merchant_id: Option<i64>,
    pub q: Option<String>,
}

/// Active offers of approved merchants, newest first, keyed by id.
pub fn catalog(conn: &mut DbConnection, filter: &CatalogFilter, page: PageRequest) -> QueryResult<Vec<OfferRow>> {
    let mut query = offers::table
        .inner_join(merchants::table)
        .filter(offers::status.eq(OfferStatus::Active))
        .filter(merchants::status.eq(MerchantStatus::Approved))
        .select(offers::all_columns)
        .into_boxed();
    if let Some(category) = filter.category {
        query = query.filter(merchants::category.eq(category));
    }
    if let Some(district) = &filter.district {
        query = query.filter(merchants::district.eq(district.clone()));
    }
    if let Some(merchant_id) = filter.merchant_id {
        query = query.filter(offers::merchant_id.eq(merchant_id));
    }
    if let Some(q) = &filter.q {
        query = query.filter(
            offers::search_text
                .like(search::contains_pattern(q))
                .escape(search::ESCAPE),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(offers::id.lt(after));
    }
    query.order(offers::id.desc()).limit(page.fetch()).load(conn)
}
