//! Prometheus metrics at `GET /metrics`: HTTP requests by route template and status
//! with a latency histogram, the database pool (size, idle, in use, waits), and the
//! write transactions' duration, and the business events operators watch during a release (vouchers claimed, order state
//! transitions, rate-limit rejections).
//!
//! The recorder is process-global (one per process, however many servers a test
//! binary starts), so counters only ever grow; tests compare before and after.
//!
//! Bounded memory: label values come only from fixed sets (a request with a method
//! outside the standard nine is counted as `other`, so `curl -X AAAA1` cannot mint
//! series), and a background thread runs the recorder's upkeep (draining histogram
//! samples) every [`UPKEEP_INTERVAL`] even when nobody scrapes. Operators can put
//! `/metrics` behind a bearer token (`metrics.bearer_token`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How often the recorder's upkeep runs when nobody scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Latency buckets in seconds, from 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder once; later calls reuse it.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    spawn_upkeep(handle.clone());
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// A plain thread, not a task: the recorder outlives any one runtime (tests start
/// many), and upkeep is a short lock-and-drain.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            handle.run_upkeep();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread not started");
    }
}

crate::text_enum! {
    /// The `method` label of the HTTP metrics: a closed set, whatever clients send.
    pub enum MethodLabel {
        Get = "GET",
        Head = "HEAD",
        Post = "POST",
        Put = "PUT",
        Patch = "PATCH",
        Delete = "DELETE",
        Options = "OPTIONS",
        Trace = "TRACE",
        Connect = "CONNECT",
        /// Every extension method (unbounded and attacker-chosen).
        Other = "other",
    }
}

/// The method as a label: one of the standard methods, else `other`.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    let label = match *method {
        Method::GET => MethodLabel::Get,
        Method::HEAD => MethodLabel::Head,
        Method::POST => MethodLabel::Post,
        Method::PUT => MethodLabel::Put,
        Method::PATCH => MethodLabel::Patch,
        Method::DELETE => MethodLabel::Delete,
        Method::OPTIONS => MethodLabel::Options,
        Method::TRACE => MethodLabel::Trace,
        Method::CONNECT => MethodLabel::Connect,
        _ => MethodLabel::Other,
    };
    label.as_str()
}

/// Middleware: counts every request and times it, labelled by the route template
/// (`/api/v1/orders/{id}/pay`, never the concrete id) so label sets stay bounded.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await?;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
    Ok(response)
}

/// How long a request waited for a pooled connection; a timeout counts as a wait too.
pub fn pool_checkout(waited: Duration, timed_out: bool) {
    metrics::histogram!("db_pool_wait_seconds").record(waited.as_secs_f64());
    if timed_out {
        metrics::counter!("db_pool_timeouts_total").increment(1);
    }
}

/// The database could not serve a request, by cause (`db::unavailable::Cause`).
pub fn db_unavailable(cause: &'static str) {
    metrics::counter!("db_unavailable_total", "cause" => cause).increment(1);
}

/// How long `BEGIN` took: on SQLite, the wait for the one write lock.
pub fn write_lock_wait(waited: Duration) {
    metrics::histogram!("db_write_lock_wait_seconds").record(waited.as_secs_f64());
}

/// How long a write transaction ran after its BEGIN, to its COMMIT or ROLLBACK: how
/// long it held the write lock (SQLite) or its row locks (PostgreSQL).
pub fn write_lock_held(held: Duration) {
    metrics::histogram!("db_write_tx_seconds").record(held.as_secs_f64());
}

/// One background checkpoint of SQLite's WAL (`db::checkpoint`): how long it took,
/// the WAL's frames it found, and whether another process's checkpoint was running.
pub fn sqlite_checkpoint(took: Duration, wal_frames: i32, busy: bool) {
    metrics::histogram!("sqlite_checkpoint_seconds").record(took.as_secs_f64());
    metrics::gauge!("sqlite_wal_frames").set(f64::from(wal_frames));
    if busy {
        metrics::counter!("sqlite_checkpoints_busy_total").increment(1);
    }
}

/// A voucher was claimed.
pub fn voucher_claimed() {
    metrics::counter!("vouchers_claimed_total").increment(1);
}

/// An order moved into `to` (`pending_payment` when created).
pub fn order_transition(to: &'static str) {
    metrics::counter!("order_transitions_total", "to" => to).increment(1);
}

/// A webhook POST was answered with a 2xx or not (another status, no answer).
pub fn webhook_attempt(acknowledged: bool) {
    let outcome = if acknowledged { "2xx" } else { "non_2xx" };
    metrics::counter!("webhook_attempts_total", "outcome" => outcome).increment(1);
}

crate::text_enum! {
    /// The steps of one webhook sender pass, timed apart so that what the sender
    /// costs the database (claim, record) shows apart from the POSTs themselves.
    pub enum SenderStep {
        /// Leasing due deliveries (the claim's transactions and the read of their bodies).
        Claim = "claiming",
        /// The POSTs, from the first one sent to the last one answered.
        Send = "sending",
        /// Writing the pass's attempts and moving its deliveries.
        Record = "recording",
    }
}

/// How long one step of a webhook sender pass took (`webhook_sender_step_seconds`).
pub fn webhook_sender_step(step: SenderStep, took: Duration) {
    metrics::histogram!("webhook_sender_step_seconds", "step" => step.as_str()).record(took.as_secs_f64());
}

/// A login or registration attempt was refused by the rate limiter.
pub fn rate_limited(what: &'static str) {
    metrics::counter!("rate_limited_total", "endpoint" => what).increment(1);
}

/// Equal-time comparison, so the token cannot be guessed byte by byte from timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// When `metrics.bearer_token` is set, the request must carry `Authorization: Bearer <it>`.
fn authorize(req: &HttpRequest, state: &AppState) -> AppResult<()> {
    let Some(expected) = state.settings.metrics.bearer_token.as_ref() else {
        return Ok(());
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(given.as_bytes(), expected.expose_secret().as_bytes()) {
        Ok(())
    } else {
        Err(AppError::unauthorized(
            "/metrics needs Authorization: Bearer <metrics.bearer_token>",
        ))
    }
}

/// `GET /metrics`: the Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    description = "Open unless `metrics.bearer_token` is configured; then it needs `Authorization: Bearer <token>` and answers 401 without it.",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String),
        (status = 401, description = "unauthorized: metrics.bearer_token is set and the request does not carry it")))]
pub async fn render(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    authorize(&req, &state)?;
    let pool = state.pool.state();
    let max = state.pool.max_size();
    metrics::gauge!("db_pool_max_connections").set(f64::from(max));
    metrics::gauge!("db_pool_connections").set(f64::from(pool.connections));
    metrics::gauge!("db_pool_idle_connections").set(f64::from(pool.idle_connections));
    metrics::gauge!("db_pool_in_use_connections").set(f64::from(pool.connections - pool.idle_connections));
    let body = install().map(PrometheusHandle::render).unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"AAAA1").expect("method")), "other");
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
