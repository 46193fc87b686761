//! Fixed-window attempt counters for login and register, per client IP and per
//! phone, checked before any password hashing. Every attempt counts, successful or
//! not. The counters live in each instance's memory: behind a load balancer with N
//! instances a client gets at most N times the configured rate, which still bounds
//! password guessing and hashing work; a shared store (PostgreSQL or Redis) is the
//! upgrade when that matters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Above this many tracked keys, expired windows are swept on the next check.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Counts one attempt for `key`; `Err(seconds)` when it is over `limit` per minute.
    pub fn hit(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > SWEEP_THRESHOLD {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
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
}
