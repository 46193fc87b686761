//! Rows of `offers`, and the insert and update forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::offers;

crate::text_enum! {
    /// An offer's status.
    pub enum OfferStatus {
        Active = "active",
        Inactive = "inactive",
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct OfferRow {
    pub id: i64,
    pub merchant_id: i64,
    pub title: String,
    pub description: String,
    pub price_fen: i64,
    pub stock: Option<i64>,
    #[diesel(deserialize_as = String)]
    pub status: OfferStatus,
    pub search_text: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Enum columns hold the enum's text (`X::as_str()`): diesel's `Insertable` derive
/// cannot mix the enums' `AsExpression` with the borrowed `&'a str` fields.
#[derive(Insertable)]
#[diesel(table_name = offers)]
pub struct NewOffer<'a> {
    pub merchant_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub price_fen: i64,
    pub stock: Option<i64>,
    /// [`OfferStatus::as_str`].
    pub status: &'static str,
    pub search_text: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A PATCH as diesel applies it: `None` leaves a column alone; `stock` is
/// `Some(None)` to make the offer unlimited. `status` is [`OfferStatus::as_str`]
/// (diesel's `AsChangeset` derive also needs `&OfferStatus` as an expression).
#[derive(AsChangeset, Default)]
#[diesel(table_name = offers)]
pub struct OfferChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub price_fen: Option<i64>,
    pub stock: Option<Option<i64>>,
    pub status: Option<&'static str>,
    pub search_text: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}
