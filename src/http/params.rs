//! The request parameters many operations share, documented once for the OpenAPI
//! document: handlers list them as `params(PageParams, ...)` instead of pasting the
//! same tuples (and their rules) into every `#[utoipa::path]`.
//!
//! These types only describe; the values are read and checked by
//! [`QueryForm::page`](super::query::QueryForm::page) and by
//! [`crate::idempotency`], whose rules the descriptions below state.

use utoipa::IntoParams;

/// `limit` and `cursor` of every list endpoint (see [`super::PageRequest`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size (default 20)
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (opaque)
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// The optional `Idempotency-Key` header of the operations that move money.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1-100 printable ASCII characters, scoped to the caller, the method and the path; a repeat with an equal body replays the first answer (kept at least 24 hours)
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 100,
        pattern = "^[\\x20-\\x7E]+$"
    )]
    pub idempotency_key: Option<String>,
}
