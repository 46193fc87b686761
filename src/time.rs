//! The service's clock. Times are stored as naive UTC `TIMESTAMP`s truncated to
//! microseconds (PostgreSQL's precision), so both engines give back what was written.

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
