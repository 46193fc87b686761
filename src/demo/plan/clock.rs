//! The demo's calendar: every time is relative to the moment of the run, and orders
//! fall on the platform's local days and shopping hours.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::Rng;

/// Now, and the platform's time zone for local days.
pub struct Clock {
    pub now: NaiveDateTime,
    pub tz: Tz,
}

impl Clock {
    /// `d` days from now (negative: ago).
    pub fn days(&self, d: i64) -> NaiveDateTime {
        self.now + Duration::days(d)
    }

    /// The local calendar day of a UTC instant.
    pub fn local_day(&self, t: NaiveDateTime) -> NaiveDate {
        self.tz.from_utc_datetime(&t).date_naive()
    }

    /// A local day and minute of day, as UTC.
    pub fn at(&self, day: NaiveDate, minute: i64) -> Option<NaiveDateTime> {
        let local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(minute);
        self.tz.from_local_datetime(&local).earliest().map(|t| t.naive_utc())
    }
}

pub fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A shopping minute of the day: 09:30–21:30, busiest in the afternoon and evening.
pub fn shopping_minute(rng: &mut StdRng) -> i64 {
    let a: i64 = rng.gen_range(570..1290);
    let b: i64 = rng.gen_range(780..1290);
    if rng.gen_bool(0.5) {
        a
    } else {
        b
    }
}
