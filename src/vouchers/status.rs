//! The one place the effective status of a voucher is decided.
//!
//! Stored statuses are `available`, `locked`, `used` and `void`; `expired` is never
//! written. A voucher whose `expires_at` has passed (`expires_at <= now`) reads
//! `expired` everywhere at once, unless it is `used` or `void` (API.md): that covers
//! a stored `available` and also a stored `locked` one. Every reader (the wallet,
//! the orders feature, reports) must go through [`effective_status`] for one row or
//! [`filter_by_status`] in SQL, so the rule cannot drift between them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::vouchers;
use crate::db::MultiBackend;

crate::text_enum! {
    /// A voucher's effective status (`expired` once past `expires_at`, unless used or void).
    pub enum VoucherStatus {
        Available = "available",
        /// Held by an unpaid order.
        Locked = "locked",
        /// Its order is paid or redeemed.
        Used = "used",
        /// Never stored: read from `expires_at` (see [`effective_status`]).
        Expired = "expired",
        /// Forfeited by a refund.
        Void = "void",
    }
}

/// Every status a client can see (and filter by).
pub const STATUSES: &[&str] = &["available", "locked", "used", "expired", "void"];

/// Stored statuses that turn into `expired` once `expires_at` has passed.
const EXPIRING: &[&str] = &["available", "locked"];

/// The status a voucher reads as at `now`.
pub fn effective_status(stored: &str, expires_at: NaiveDateTime, now: NaiveDateTime) -> &str {
    if EXPIRING.contains(&stored) && expires_at <= now {
        "expired"
    } else {
        stored
    }
}

/// Whether a voucher can be spent at `now`: stored `available` and not yet expired.
/// The orders feature asks this before it locks a voucher.
pub fn is_spendable(stored: VoucherStatus, expires_at: NaiveDateTime, now: NaiveDateTime) -> bool {
    effective_status(stored.as_str(), expires_at, now) == VoucherStatus::Available.as_str()
}

/// Restricts a vouchers query to those whose effective status at `now` is `status`
/// (one of [`STATUSES`]; anything else matches nothing).
pub fn filter_by_status<'a>(
    query: vouchers::BoxedQuery<'a, MultiBackend>,
    status: &str,
    now: NaiveDateTime,
) -> vouchers::BoxedQuery<'a, MultiBackend> {
    match status {
        "expired" => query
            .filter(vouchers::status.eq_any(EXPIRING))
            .filter(vouchers::expires_at.le(now)),
        s if EXPIRING.contains(&s) => query
            .filter(vouchers::status.eq(s.to_owned()))
            .filter(vouchers::expires_at.gt(now)),
        "used" | "void" => query.filter(vouchers::status.eq(status.to_owned())),
        _ => query.filter(vouchers::id.lt(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn past_expiry_reads_expired_unless_used_or_void() {
        let now = crate::time::now();
        let past = now - Duration::seconds(1);
        let future = now + Duration::days(1);
        assert_eq!(effective_status("available", past, now), "expired");
        assert_eq!(effective_status("available", now, now), "expired");
        assert_eq!(effective_status("locked", past, now), "expired");
        assert_eq!(effective_status("used", past, now), "used");
        assert_eq!(effective_status("void", past, now), "void");
        assert_eq!(effective_status("available", future, now), "available");
        assert_eq!(effective_status("locked", future, now), "locked");
        assert!(is_spendable(VoucherStatus::Available, future, now));
        assert!(!is_spendable(VoucherStatus::Available, past, now));
    }
}
