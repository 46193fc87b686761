//! HTTP plumbing shared by every feature: body and query validation, cursor
//! pagination, the shared OpenAPI parameters ([`params`]), and the extractor configs that give actix's own rejections
//! (bad JSON, wrong content type, oversized body, bad path or query) the
//! problem+json shape with a stable code.

pub mod form;
pub mod params;
pub mod query;

pub use params::{IdempotencyKeyHeader, PageParams};

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use crate::error::{AppError, Code};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// JSON bodies: 1 MiB, `application/json` required; failures become problems.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(true)
        .content_type(|mime| mime.type_() == "application" && mime.subtype() == "json")
        .error_handler(|error, _req: &HttpRequest| json_error(error).into())
}

fn json_error(error: JsonPayloadError) -> AppError {
    match error {
        JsonPayloadError::ContentType => AppError::new(
            Code::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::new(Code::PayloadTooLarge, "the body is larger than 1 MiB")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => AppError::field("body", e.to_string()),
        JsonPayloadError::Deserialize(e) => {
            AppError::new(Code::MalformedRequest, format!("the body is not valid JSON: {e}"))
        }
        other => AppError::new(Code::MalformedRequest, format!("the body could not be read: {other}")),
    }
}

/// A path segment that does not parse (a word where an id goes) names nothing: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_e: PathError, _req| AppError::not_found().into())
}

/// A query string that cannot be decoded at all is a validation error.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e: QueryPayloadError, _req| AppError::field("query", format!("cannot be decoded: {e}")).into())
}

/// A list answer: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last one.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// `limit` (1–100, default 20) and the position after which the page starts.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    /// The sort key of the last item of the previous page.
    pub after: Option<i64>,
}

impl PageRequest {
    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and makes the cursor of the next one.
    pub fn page<R, T>(&self, mut rows: Vec<R>, key: impl Fn(&R) -> i64, to_item: impl FnMut(R) -> T) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|r| encode_cursor(key(r)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(to_item).collect(),
            next_cursor,
        }
    }
}

const CURSOR_PREFIX: &str = "v1:";

pub fn encode_cursor(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{key}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(12345)), Some(12345));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v2:1")), None);
    }

    #[test]
    fn a_page_cuts_the_extra_row_and_points_past_the_last_item() {
        let request = PageRequest { limit: 2, after: None };
        let page = request.page(vec![9, 8, 7], |r| *r, |r| r);
        assert_eq!(page.items, vec![9, 8]);
        assert_eq!(page.next_cursor.as_deref().and_then(decode_cursor), Some(8));
        let last = request.page(vec![2], |r| *r, |r| r);
        assert_eq!(last.next_cursor, None);
    }
}
