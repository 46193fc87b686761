//! Prometheus metrics at `GET /metrics`: HTTP requests by route template and status
//! with a latency histogram, the database pool (size, idle, in use, waits), and the
//! write transactions' duration, and the business events operators watch during a release (vouchers claimed, order state
//! transitions, rate-limit rejections).
//!
//! The recorder is process-global (one per process, however many servers a test
//! binary starts), so counters only ever grow; tests compare before and after.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

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
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Middleware: counts every request and times it, labelled by the route template
/// (`/api/v1/orders/{id}/pay`, never the concrete id) so label sets stay bounded.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await?;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
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

/// A voucher was claimed.
pub fn voucher_claimed() {
    metrics::counter!("vouchers_claimed_total").increment(1);
}

/// An order moved into `to` (`pending_payment` when created).
pub fn order_transition(to: &'static str) {
    metrics::counter!("order_transitions_total", "to" => to).increment(1);
}

/// A login or registration attempt was refused by the rate limiter.
pub fn rate_limited(what: &'static str) {
    metrics::counter!("rate_limited_total", "endpoint" => what).increment(1);
}

/// `GET /metrics`: the Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub async fn render(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    let max = state.pool.max_size();
    metrics::gauge!("db_pool_max_connections").set(f64::from(max));
    metrics::gauge!("db_pool_connections").set(f64::from(pool.connections));
    metrics::gauge!("db_pool_idle_connections").set(f64::from(pool.idle_connections));
    metrics::gauge!("db_pool_in_use_connections").set(f64::from(pool.connections - pool.idle_connections));
    let body = install().map(PrometheusHandle::render).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
