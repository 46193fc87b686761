//! The service's clock. Times are stored as naive UTC `TIMESTAMP`s truncated to
//! microseconds (PostgreSQL's precision), so both engines give back what was written.
//!
//! [`Clock`] is one instance's clock for the rules that depend on the calendar
//! (claim windows, the daily cap's platform-local day, entry windows): the system
//! clock, shifted by an offset that only code holding the instance's handle can set
//! (tests moving one instance to 23:59 Shanghai); no config or request moves it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

/// Now, in UTC, to the microsecond.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// A stored time as it goes on the wire (RFC 3339, `Z`).
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The platform-local calendar day of `at` (UTC) in `tz`, as `YYYY-MM-DD`.
pub fn local_day(at: NaiveDateTime, tz: chrono_tz::Tz) -> String {
    at.and_utc()
        .with_timezone(&tz)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// One instance's clock and the platform's time zone; clones share it. Runs with
/// the system clock, from wherever [`Clock::set`] last put it.
#[derive(Debug, Clone)]
pub struct Clock {
    offset_us: Arc<AtomicI64>,
    zone: chrono_tz::Tz,
}

impl Clock {
    /// The system clock, in the platform's zone `zone` (config `platform.timezone`).
    pub fn system(zone: chrono_tz::Tz) -> Clock {
        Clock {
            offset_us: Arc::new(AtomicI64::new(0)),
            zone,
        }
    }

    /// The platform-local day of `at`, as `YYYY-MM-DD`.
    pub fn day_of(&self, at: NaiveDateTime) -> String {
        local_day(at, self.zone)
    }

    /// Now on this clock, in UTC, to the microsecond.
    pub fn now(&self) -> NaiveDateTime {
        now() + chrono::Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// Moves this clock so that it reads `at` now (and runs on from there).
    pub fn set(&self, at: NaiveDateTime) {
        let offset = (at - now()).num_microseconds().unwrap_or(0);
        self.offset_us.store(offset, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_runs_on_from_where_it_was_put() {
        let clock = Clock::system(chrono_tz::Asia::Shanghai);
        let midnight = chrono::NaiveDate::from_ymd_opt(2030, 5, 1)
            .and_then(|d| d.and_hms_opt(15, 59, 0))
            .expect("a time");
        clock.set(midnight);
        let read = clock.now();
        assert!(read >= midnight && read < midnight + chrono::Duration::seconds(5));
        assert_eq!(clock.day_of(read), "2030-05-01");
        assert_eq!(
            local_day(read + chrono::Duration::minutes(2), chrono_tz::Asia::Shanghai),
            "2030-05-02"
        );
        assert!(clock.clone().now() >= read, "clones share the clock");
    }
}
