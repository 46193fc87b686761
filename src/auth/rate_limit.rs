//! Fixed-window attempt counters for login and register, per client address
//! ([`super::client_ip`]) and per phone, checked before any password hashing. Every
//! attempt counts, successful or not.
//!
//! Memory is bounded: keys are short (an address, or a phone that was validated
//! before it is counted), the map holds at most `rate_limit.max_tracked_keys`, and
//! expired windows are swept by a timer task (`rate_limit.sweep_interval_seconds`),
//! never by a request. When the map is full a new key is refused (429) until the
//! next sweep: failing closed under a flood of distinct keys, rather than growing.
//!
//! On SQLite (one instance) the counters live in memory. On PostgreSQL every
//! instance shares them in the table `rate_limit_windows`, one upsert per attempt
//! ([`hit_shared`]), so N instances behind a load balancer still give a client the
//! configured rate, not N times it; the timer task deletes expired rows there too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};
use diesel::PgConnection;

use crate::db::{DbConnection, Pool};

const WINDOW: Duration = Duration::from_secs(60);
/// The default cap on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    max_keys: usize,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_MAX_KEYS)
    }
}

impl RateLimiter {
    pub fn new(max_keys: usize) -> RateLimiter {
        RateLimiter {
            windows: Mutex::new(HashMap::new()),
            max_keys,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, u32)>> {
        match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Counts one attempt for `key`; `Err(seconds)` when it is over `limit` per
    /// minute, or when the map is full and `key` is new. O(1).
    pub fn hit(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.lock();
        if !windows.contains_key(key) {
            if windows.len() >= self.max_keys {
                tracing::warn!(
                    keys = windows.len(),
                    "rate limiter full; refusing new keys until the next sweep"
                );
                return Err(WINDOW.as_secs());
            }
            windows.insert(key.to_owned(), (now, 0));
        }
        let Some(entry) = windows.get_mut(key) else {
            return Ok(());
        };
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > limit {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            Err(left.as_secs().max(1))
        } else {
            Ok(())
        }
    }

    /// Drops expired windows (the timer task calls this); returns how many remain.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut windows = self.lock();
        windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        windows.len()
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts one attempt for `key` in the shared table: one statement decides (a
/// window older than a minute restarts at 1), so concurrent instances never lose
/// a hit. `Err(seconds)` past `limit`.
pub fn hit_shared(conn: &mut PgConnection, key: &str, limit: u32) -> QueryResult<Result<(), u64>> {
    #[derive(QueryableByName)]
    struct Window {
        #[diesel(sql_type = Integer)]
        hits: i32,
        #[diesel(sql_type = Timestamp)]
        window_start: NaiveDateTime,
    }
    let now = crate::time::now();
    let window = chrono::Duration::from_std(WINDOW).unwrap_or_else(|_| chrono::Duration::seconds(60));
    let row: Window = diesel::sql_query(
        "INSERT INTO rate_limit_windows (key, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limit_windows.window_start <= $3 THEN 1 ELSE rate_limit_windows.hits + 1 END, \
           window_start = CASE WHEN rate_limit_windows.window_start <= $3 THEN $2 ELSE rate_limit_windows.window_start END \
         RETURNING hits, window_start",
    )
    .bind::<Text, _>(key)
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(now - window)
    .get_result(conn)?;
    if i64::from(row.hits) > i64::from(limit) {
        let left = (row.window_start + window - now).num_seconds();
        Ok(Err(left.clamp(1, 60) as u64))
    } else {
        Ok(Ok(()))
    }
}

/// Deletes expired shared windows.
fn sweep_shared(conn: &mut DbConnection) -> QueryResult<usize> {
    let cutoff = crate::time::now() - chrono::Duration::seconds(WINDOW.as_secs() as i64);
    match conn {
        DbConnection::Postgresql(c) => diesel::sql_query("DELETE FROM rate_limit_windows WHERE window_start <= $1")
            .bind::<Timestamp, _>(cutoff)
            .execute(c),
        DbConnection::Sqlite(_) => Ok(0),
    }
}

/// Sweeps `limiter` (and the shared table, with a pool on PostgreSQL) every
/// `interval` until the task is aborted.
pub async fn sweep_forever(limiter: std::sync::Arc<RateLimiter>, pool: Option<Pool>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        limiter.sweep();
        if let Some(pool) = &pool {
            let pool = pool.clone();
            let swept = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                Ok(sweep_shared(&mut conn)?)
            })
            .await;
            if let Ok(Err(error)) = swept {
                tracing::warn!(error = %error, "rate-limit sweep failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn allows_the_limit_then_refuses_with_a_wait() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert!(limiter.hit("ip:1", 3).is_ok());
        }
        let wait = limiter.hit("ip:1", 3).expect_err("fourth attempt refused");
        assert!((1..=60).contains(&wait));
        assert!(limiter.hit("ip:2", 3).is_ok(), "keys are independent");
    }

    #[test]
    fn the_map_is_capped_and_known_keys_still_count() {
        let limiter = RateLimiter::new(2);
        assert!(limiter.hit("a", 5).is_ok());
        assert!(limiter.hit("b", 5).is_ok());
        assert!(limiter.hit("c", 5).is_err(), "a third key is refused while full");
        assert_eq!(limiter.len(), 2);
        assert!(limiter.hit("a", 5).is_ok(), "known keys keep counting");
        // Nothing has expired yet, so a sweep keeps both.
        assert_eq!(limiter.sweep(), 2);
    }
}
