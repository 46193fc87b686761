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
//! The counters live in each instance's memory: behind a load balancer with N
//! instances a client gets at most N times the configured rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Sweeps `limiter` every `interval` until the task is dropped or aborted.
pub async fn sweep_forever(limiter: std::sync::Arc<RateLimiter>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        limiter.sweep();
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
