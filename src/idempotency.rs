//! The `Idempotency-Key` header (API.md, Conventions): a client that retries a
//! money-moving call with the same key gets the first answer back and nothing
//! happens twice.
//!
//! A key is scoped to (user, method, concrete path) and stored in
//! `idempotency_keys`. The flow of one guarded call:
//!
//! 1. **Claim**: insert the key's row with no response. The table's unique key
//!    decides races: of two requests with one key exactly one inserts; the other
//!    reads the row and answers 409 `idempotency_key_in_use` (no response yet),
//!    422 `idempotency_key_reused` (another body) or the stored answer (replay).
//! 2. **Run** the handler with the [`Claim`]. The handler turns it into a
//!    [`Completion`] ([`Claim::answer_with`]: the status and how to build the body
//!    from the changed row) and hands it to the repo, which stores the answer with
//!    [`Completion::store`] *inside its own write transaction*, so the state change
//!    and the stored answer commit together: a crash can never leave an effect
//!    without its answer (which a retry would then repeat).
//! 3. **Finish**: a 4xx answer (nothing changed) is stored afterwards; after a 5xx
//!    the row is deleted so that a retry can proceed.
//!
//! A claimed row still without an answer after [`IN_FLIGHT_LEASE_SECONDS`] belongs
//! to a request that died (crash, lost connection): no effect of it committed,
//! because the answer commits with the effect, so a retry takes the key over. Should
//! the first request still be alive, its `store` finds its row gone and rolls its
//! transaction back, so even then the effect happens once. Expired keys (config
//! `idempotency.ttl_hours`) are replaced by a new claim and deleted by the sweeper.

use std::future::Future;

use actix_web::body::MessageBody;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use chrono::Duration;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::schema::idempotency_keys as keys;
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Code, PROBLEM_JSON};
use crate::state::AppState;
use crate::time::now;

pub const HEADER: &str = "Idempotency-Key";

/// Header marking an answer that is a replay of a stored one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// How long a claimed key may go without an answer before a retry may take it over.
pub const IN_FLIGHT_LEASE_SECONDS: i64 = 60;

/// A key this request holds; the handler turns it into a [`Completion`] that the
/// repo's transaction stores.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    id: i64,
}

impl Claim {
    /// The successful answer of this request, built from what the change returns.
    /// The handler says how (`status`, `body`: the DTO of the row); the repo's write
    /// transaction calls [`Completion::store`] with its row, so the answer commits
    /// with the change while the repo knows nothing of HTTP or DTOs.
    pub fn answer_with<T, B, F>(self, status: StatusCode, body: F) -> Completion<T>
    where
        B: Serialize,
        F: Fn(&T) -> B + Send + 'static,
    {
        Completion {
            claim: self,
            status,
            render: Box::new(move |row| serde_json::to_string(&body(row)).map_err(|e| AppError::Internal(e.into()))),
        }
    }

    /// Stores the successful answer. Call it inside the write transaction that makes
    /// the change; an error (the key was taken over) must roll that transaction back.
    fn complete(&self, conn: &mut DbConnection, status: StatusCode, json: &str) -> AppResult<()> {
        if store(conn, self.id, status, json)? {
            Ok(())
        } else {
            Err(AppError::new(
                Code::IdempotencyKeyInUse,
                "this request took too long and its Idempotency-Key was taken over; nothing was done",
            ))
        }
    }
}

/// A claimed request's answer, waiting for the row its change returns (see
/// [`Claim::answer_with`]). Repos take `Option<Completion<Row>>`: `None` when the
/// request carried no `Idempotency-Key` (or for callers outside HTTP).
pub struct Completion<T> {
    claim: Claim,
    status: StatusCode,
    render: Render<T>,
}

/// Builds the JSON body of a stored answer from the changed row.
type Render<T> = Box<dyn Fn(&T) -> AppResult<String> + Send>;

impl<T> Completion<T> {
    /// Stores the answer for `row`. Call it inside the write transaction that made
    /// the change; an error (the key was taken over) must roll that transaction back.
    pub fn store(&self, conn: &mut DbConnection, row: &T) -> AppResult<()> {
        let json = (self.render)(row)?;
        self.claim.complete(conn, self.status, &json)
    }
}

impl<T> std::fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("claim", &self.claim)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

fn store(conn: &mut DbConnection, id: i64, status: StatusCode, body: &str) -> QueryResult<bool> {
    let updated = diesel::update(
        keys::table
            .filter(keys::id.eq(id))
            .filter(keys::response_status.is_null()),
    )
    .set((
        keys::response_status.eq(i32::from(status.as_u16())),
        keys::response_body.eq(body),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The hash of a request body that decides "the same request": canonical JSON
/// (object keys sorted), so key order and white space do not matter.
pub fn body_hash(body: Option<&Value>) -> String {
    let mut canonical = String::new();
    if let Some(value) = body {
        write_canonical(value, &mut canonical);
    }
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The request's key: `None` without the header; 422 for one that is not 1–100
/// printable ASCII characters.
pub fn key_of(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let printable = bytes.iter().all(|b| (0x20..=0x7e).contains(b));
    if bytes.is_empty() || bytes.len() > 100 || !printable {
        return Err(AppError::field(HEADER, "must be 1 to 100 printable ASCII characters"));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// What the claim step decided.
enum Begin {
    Proceed(Claim),
    Replay { status: i32, body: String },
}

struct Scope {
    user_id: i64,
    method: String,
    path: String,
    key: String,
    request_hash: String,
}

#[derive(Queryable)]
struct StoredKey {
    request_hash: String,
    response_status: Option<i32>,
    response_body: Option<String>,
}

fn begin(conn: &mut DbConnection, scope: &Scope, ttl_hours: i64) -> AppResult<Begin> {
    let now = now();
    let scoped = keys::table
        .filter(keys::user_id.eq(scope.user_id))
        .filter(keys::method.eq(&scope.method))
        .filter(keys::path.eq(&scope.path))
        .filter(keys::idem_key.eq(&scope.key));
    // Expired keys are replaced; an answerless claim past its lease died with its request.
    let abandoned_before = now - Duration::seconds(IN_FLIGHT_LEASE_SECONDS);
    diesel::delete(
        scoped.filter(
            keys::expires_at.le(now).or(keys::response_status
                .is_null()
                .and(keys::created_at.le(abandoned_before))),
        ),
    )
    .execute(conn)?;
    // Two attempts: a key that expires between the insert and the read is claimed again.
    for _ in 0..2 {
        let inserted = conn.transaction(|c| {
            diesel::insert_into(keys::table)
                .values((
                    keys::user_id.eq(scope.user_id),
                    keys::method.eq(&scope.method),
                    keys::path.eq(&scope.path),
                    keys::idem_key.eq(&scope.key),
                    keys::request_hash.eq(&scope.request_hash),
                    keys::created_at.eq(now),
                    keys::expires_at.eq(now + Duration::hours(ttl_hours.max(1))),
                ))
                .returning(keys::id)
                .get_result::<i64>(c)
        });
        match inserted {
            Ok(id) => return Ok(Begin::Proceed(Claim { id })),
            Err(e) if crate::db::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let stored: Option<StoredKey> = scoped
            .select((keys::request_hash, keys::response_status, keys::response_body))
            .first(conn)
            .optional()?;
        let Some(stored) = stored else { continue };
        if stored.request_hash != scope.request_hash {
            return Err(AppError::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request body",
            ));
        }
        return match (stored.response_status, stored.response_body) {
            (Some(status), Some(body)) => Ok(Begin::Replay { status, body }),
            _ => Err(AppError::new(
                Code::IdempotencyKeyInUse,
                "a request with this Idempotency-Key is still being processed",
            )),
        };
    }
    Err(AppError::new(
        Code::IdempotencyKeyInUse,
        "a request with this Idempotency-Key is still being processed",
    ))
}

fn replay(status: i32, body: String) -> HttpResponse {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let mut response = HttpResponse::build(status).content_type(content_type).body(body);
    response.headers_mut().insert(
        HeaderName::from_static(REPLAYED_HEADER),
        HeaderValue::from_static("true"),
    );
    response
}

/// Runs `handler` under the request's `Idempotency-Key`, if it has one (see the
/// module doc). `body` is the request's JSON body (`None` for action calls).
pub async fn guard<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    user_id: i64,
    body: Option<&Value>,
    handler: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(Option<Claim>) -> Fut,
    Fut: Future<Output = AppResult<HttpResponse>>,
{
    let Some(key) = key_of(req)? else {
        return handler(None).await;
    };
    let scope = Scope {
        user_id,
        method: req.method().as_str().to_owned(),
        path: req.path().to_owned(),
        key,
        request_hash: body_hash(body),
    };
    let ttl_hours = state.settings.idempotency.ttl_hours;
    let claim = match db::run(&state.pool, move |c| begin(c, &scope, ttl_hours)).await? {
        Begin::Replay { status, body } => return Ok(replay(status, body)),
        Begin::Proceed(claim) => claim,
    };
    let outcome = handler(Some(claim)).await;
    let response = match outcome {
        Ok(response) => return Ok(response),
        Err(error) => error.error_response(),
    };
    let status = response.status();
    let id = claim.id;
    if status.is_server_error() {
        // Nothing was done; let a retry run again.
        let forget = db::run(&state.pool, move |c| {
            Ok(diesel::delete(
                keys::table
                    .filter(keys::id.eq(id))
                    .filter(keys::response_status.is_null()),
            )
            .execute(c)?)
        })
        .await;
        if let Err(e) = forget {
            tracing::warn!(error = %e, "could not release an idempotency key after a failure");
        }
        return Ok(response);
    }
    // A refusal (4xx) changed nothing: store it so that the retry gets the same answer.
    let (head, body) = response.into_parts();
    let bytes = body
        .try_into_bytes()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("error body is not in memory")))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let stored_text = text.clone();
    db::run(&state.pool, move |c| Ok(store(c, id, status, &stored_text)?)).await?;
    Ok(head.set_body(text).map_into_boxed_body())
}

/// Deletes expired keys (the sweeper calls it); returns how many.
pub fn delete_expired(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::delete(keys::table.filter(keys::expires_at.le(now()))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_json_bodies_hash_alike_whatever_the_key_order() {
        let a = json!({"offer_id": 1, "quantity": 2, "voucher_id": null});
        let b: Value = serde_json::from_str(r#"{ "voucher_id": null, "quantity": 2, "offer_id": 1 }"#).expect("json");
        assert_eq!(body_hash(Some(&a)), body_hash(Some(&b)));
        assert_ne!(
            body_hash(Some(&a)),
            body_hash(Some(&json!({"offer_id": 1, "quantity": 3})))
        );
        assert_ne!(body_hash(None), body_hash(Some(&json!({}))));
    }
}
