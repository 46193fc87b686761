//! The closing job: every instance runs one. Each pass refreshes the risk flags
//! (so a flagged merchant's new statements close `held`), then closes every day D
//! with D ended and `settlement.holding_days` more whole days passed, in platform
//! time. Instances need no other coordination: a day is claimed by its
//! `statement_days` row inside the transaction that writes it (repo::closing), so
//! it is closed exactly once whoever gets there first.
//!
//! `wenlv close-statements --through D` ([`close_now_through`]) closes every ended
//! day up to D at once, without the holding period (catch-up after an outage).

use std::sync::Arc;
use std::time::Duration;

use chrono::{Days, NaiveDate, NaiveDateTime};

use super::repo::closing::{self, local_date};
use crate::config::Settings;
use crate::db::{DbConnection, Pool};
use crate::risk;
use crate::time::now;

/// The last day whose statements may close at `at`: today (platform time) minus
/// one, minus the holding days.
pub fn due_through(settings: &Settings, at: NaiveDateTime) -> Option<NaiveDate> {
    let today = local_date(settings.timezone(), at);
    let holding = u64::try_from(settings.settlement.holding_days).unwrap_or(0);
    today.checked_sub_days(Days::new(1 + holding))
}

/// Refreshes the risk flags and closes the days up to `through`; how many
/// statements this call wrote.
fn close(conn: &mut DbConnection, settings: &Settings, through: NaiveDate) -> anyhow::Result<usize> {
    risk::repo::refresh(conn, &settings.risk)?;
    let holds = risk::repo::holds(conn, settings.risk.hold_score)?;
    Ok(closing::close_through(conn, settings.timezone(), through, &holds)?)
}

/// One pass of the job: closes what is due now.
pub fn run_pass(conn: &mut DbConnection, settings: &Settings) -> anyhow::Result<usize> {
    match due_through(settings, now()) {
        Some(through) => close(conn, settings, through),
        None => Ok(0),
    }
}

/// Closes every day up to `through` that has ended (platform time) and is not yet
/// closed, ignoring the holding period.
pub fn close_now_through(conn: &mut DbConnection, settings: &Settings, through: NaiveDate) -> anyhow::Result<usize> {
    let yesterday = local_date(settings.timezone(), now())
        .checked_sub_days(Days::new(1))
        .unwrap_or(through);
    close(conn, settings, through.min(yesterday))
}

/// Runs a pass every `interval` until the task is dropped. A failed pass is logged
/// and the next one tries again.
pub async fn run_forever(pool: Pool, settings: Arc<Settings>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let pool = pool.clone();
        let settings = settings.clone();
        let pass = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            run_pass(&mut conn, &settings)
        })
        .await;
        match pass {
            Ok(Ok(0)) => {}
            Ok(Ok(closed)) => tracing::info!(closed, "statements closed"),
            Ok(Err(error)) => tracing::warn!(error = %error, "closing pass failed"),
            Err(error) => tracing::warn!(error = %error, "closing task failed"),
        }
    }
}
