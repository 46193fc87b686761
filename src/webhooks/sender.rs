//! The background sender every instance runs: claims due deliveries under a lease,
//! POSTs each signed body with a timeout, and records the pass's attempts in one
//! transaction (each delivered, or due again after an exponential backoff, or
//! failed after the retry window), through connections of its own.
//!
//! Instances need no other coordination: the lease on an endpoint, taken by a
//! conditional UPDATE of its row, keeps its deliveries to one sender at a time,
//! and a sender that dies mid-send only delays them until the lease lapses (so a
//! receiver may see an event twice, which the contract allows: at least once,
//! deduplicate by `Wenlv-Event-Id`).

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::attempts::{self, Backoff, Outcome};
use super::lease::{self, Due};
use super::signature;
use crate::config::{DatabaseSettings, WebhookSettings};
use crate::db::Pool;
use crate::metrics::SenderStep;
use crate::time::now;

/// The sender's HTTP client: rustls, the configured timeout, no redirects (a
/// receiver answers; it does not send the event elsewhere).
pub fn client(settings: &WebhookSettings) -> anyhow::Result<reqwest::Client> {
    let timeout = Duration::from_millis(settings.timeout_ms);
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("wenlv-webhooks/1")
        .build()?)
}

/// The sender's own connections (`webhooks.sender_connections`, one is enough: a
/// pass claims, then records), apart from the request handlers' pool so that a
/// busy sender never makes a request wait for a connection.
pub fn pool(database: &DatabaseSettings, settings: &WebhookSettings) -> Pool {
    crate::db::build_lazy_pool(&DatabaseSettings {
        max_connections: settings.sender_connections,
        ..database.clone()
    })
}

fn backoff(settings: &WebhookSettings) -> Backoff {
    Backoff {
        initial: chrono::Duration::milliseconds(settings.retry_initial_ms),
        max: chrono::Duration::milliseconds(settings.retry_max_ms),
        window: chrono::Duration::seconds(settings.retry_window_seconds),
    }
}

/// POSTs one delivery; never fails, the outcome says what happened.
async fn send(client: &reqwest::Client, due: &Due) -> Outcome {
    let at = now();
    let started = Instant::now();
    let header = signature::header(&due.secret, at.and_utc().timestamp(), &due.body);
    let answer = client
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Wenlv-Event-Id", &due.public_id)
        .header("Wenlv-Signature", header)
        .body(due.body.clone())
        .send()
        .await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match answer {
        Ok(response) => Outcome {
            at,
            status_code: Some(response.status().as_u16()),
            error: None,
            duration_ms,
        },
        Err(error) => Outcome {
            at,
            status_code: None,
            error: Some(if error.is_timeout() {
                "timed out".to_owned()
            } else if error.is_connect() {
                "could not connect".to_owned()
            } else {
                "request failed".to_owned()
            }),
            duration_ms,
        },
    }
}

/// The latest moment a pass that took its lease at `leased` may start a POST: a
/// POST takes at most `webhooks.timeout_ms`, and another timeout's worth is left
/// for recording the pass before the lease lapses and another instance may send
/// the same deliveries again.
///
/// A pass leases endpoints with up to `webhooks.batch` due deliveries in all, and
/// sends each endpoint's one after another only until this moment; the rest stay
/// pending, still in order, for the next pass, once the record releases the
/// lease. A receiver that answers at once thus gets a whole batch per pass (one lease and
/// one record for many events: on SQLite each of those transactions takes the
/// write lock the redemptions wait for), and one that times out every time still
/// never holds a lease past its end.
fn last_start(leased: Instant, settings: &WebhookSettings) -> Instant {
    let lease = Duration::from_millis(u64::try_from(settings.lease_ms.max(0)).unwrap_or(0));
    let spare = Duration::from_millis(settings.timeout_ms.saturating_mul(2));
    leased + lease.saturating_sub(spare)
}

/// Sends one endpoint's deliveries in order, each after the previous one answered,
/// the first always, the others only if they start by `last_start`; returns the
/// outcomes. The tail it had no time for stays pending, in order, for the next
/// pass, once this pass's record releases the endpoint.
async fn send_in_order(client: &reqwest::Client, due: Vec<Due>, last_start: Instant) -> Vec<(Due, Outcome)> {
    let mut done = Vec::with_capacity(due.len());
    for d in due {
        if !done.is_empty() && Instant::now() > last_start {
            break;
        }
        let outcome = send(client, &d).await;
        done.push((d, outcome));
    }
    done
}

/// One pass: claims what is due (endpoint by endpoint, see [`lease::claim`]),
/// sends each endpoint's deliveries in order and the endpoints concurrently, then
/// records the outcomes and hands back what it had no time to send, in one
/// transaction. Returns how many deliveries it attempted. `pool` is the sender's
/// own ([`pool`]), not the requests'.
pub async fn send_once(pool: &Pool, client: &reqwest::Client, settings: &WebhookSettings) -> anyhow::Result<usize> {
    let claim_pool = pool.clone();
    let (limit, lease) = (settings.batch, chrono::Duration::milliseconds(settings.lease_ms));
    let claiming = Instant::now();
    let mut claimed = tokio::task::spawn_blocking(move || -> anyhow::Result<lease::Claimed> {
        let mut conn = claim_pool.get()?;
        Ok(lease::claim(&mut conn, limit, lease)?)
    })
    .await??;
    crate::metrics::webhook_sender_step(SenderStep::Claim, claiming.elapsed());
    if claimed.due.is_empty() {
        return Ok(0);
    }
    let due = std::mem::take(&mut claimed.due);
    let leased = due.len();
    let sending = Instant::now();
    // `claim` answers in delivery id order, so each endpoint's queue keeps it.
    let mut queues: Vec<(i64, Vec<Due>)> = Vec::new();
    for d in due {
        match queues.iter_mut().find(|(webhook_id, _)| *webhook_id == d.webhook_id) {
            Some((_, queue)) => queue.push(d),
            None => queues.push((d.webhook_id, vec![d])),
        }
    }
    let until = last_start(claiming, settings);
    let mut sent: Vec<(Due, Outcome)> = Vec::with_capacity(leased);
    for done in join_all(queues.into_iter().map(|(_, queue)| send_in_order(client, queue, until))).await {
        sent.extend(done);
    }
    crate::metrics::webhook_sender_step(SenderStep::Send, sending.elapsed());
    let attempted = sent.len();
    let recording = Instant::now();
    let record_pool = pool.clone();
    let backoff = backoff(settings);
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for (_, outcome) in &sent {
            crate::metrics::webhook_attempt(outcome.acknowledged());
        }
        let mut conn = record_pool.get()?;
        if let Err(error) = attempts::record(&mut conn, &sent, &claimed, backoff) {
            // Nothing of the pass is recorded: its deliveries go again after the lease.
            tracing::warn!(error = %error, attempts = sent.len(), "webhook attempts not recorded");
        }
        Ok(())
    })
    .await??;
    crate::metrics::webhook_sender_step(SenderStep::Record, recording.elapsed());
    Ok(attempted)
}

/// Sends every `webhooks.poll_interval_ms` until `stop` turns true. A pass that
/// found work is followed at once by another, so a backlog drains at full speed,
/// unless every connection of the request handlers' pool (`requests`) is in use:
/// then the database is what requests are waiting for, and the sender pauses
/// `webhooks.yield_to_requests_ms` between passes. Events wait a little longer in
/// a burst (they are asynchronous anyway); a redemption at the counter does not.
/// The pause is short, so under sustained load deliveries still go on.
pub async fn run_forever(
    pool: Pool,
    requests: Pool,
    settings: WebhookSettings,
    client: reqwest::Client,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = Duration::from_millis(settings.poll_interval_ms.max(1));
    let yield_to_requests = Duration::from_millis(settings.yield_to_requests_ms);
    loop {
        let busy = match send_once(&pool, &client, &settings).await {
            Ok(n) => n > 0,
            Err(error) => {
                tracing::warn!(error = %error, "webhook sender pass failed");
                false
            }
        };
        if *stop.borrow() {
            break;
        }
        let pause = if !busy {
            interval
        } else if requests_saturated(&requests) {
            yield_to_requests
        } else {
            Duration::ZERO
        };
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Whether every connection the request handlers may open is open and in use.
fn requests_saturated(requests: &Pool) -> bool {
    let state = requests.state();
    state.idle_connections == 0 && state.connections >= requests.max_size()
}
