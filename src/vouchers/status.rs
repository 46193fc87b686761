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

/// Stored statuses that turn into `expired` once `expires_at` has passed.
const EXPIRING: &[VoucherStatus] = &[VoucherStatus::Available, VoucherStatus::Locked];

/// The status a voucher reads as at `now`.
pub fn effective_status(stored: VoucherStatus, expires_at: NaiveDateTime, now: NaiveDateTime) -> VoucherStatus {
    if EXPIRING.contains(&stored) && expires_at <= now {
        VoucherStatus::Expired
    } else {
        stored
    }
}

/// Whether a voucher can be spent at `now`: stored `available` and not yet expired.
/// The orders feature asks this before it locks a voucher.
pub fn is_spendable(stored: VoucherStatus, expires_at: NaiveDateTime, now: NaiveDateTime) -> bool {
    effective_status(stored, expires_at, now) == VoucherStatus::Available
}

/// Restricts a vouchers query to those whose effective status at `now` is `status`.
pub fn filter_by_status<'a>(
    query: vouchers::BoxedQuery<'a, MultiBackend>,
    status: VoucherStatus,
    now: NaiveDateTime,
) -> vouchers::BoxedQuery<'a, MultiBackend> {
    match status {
        VoucherStatus::Expired => query
            .filter(vouchers::status.eq_any(EXPIRING.iter().map(|s| s.as_str())))
            .filter(vouchers::expires_at.le(now)),
        VoucherStatus::Available | VoucherStatus::Locked => query
            .filter(vouchers::status.eq(status))
            .filter(vouchers::expires_at.gt(now)),
        VoucherStatus::Used | VoucherStatus::Void => query.filter(vouchers::status.eq(status)),
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
        use VoucherStatus::*;
        assert_eq!(effective_status(Available, past, now), Expired);
        assert_eq!(effective_status(Available, now, now), Expired);
        assert_eq!(effective_status(Locked, past, now), Expired);
        assert_eq!(effective_status(Used, past, now), Used);
        assert_eq!(effective_status(Void, past, now), Void);
        assert_eq!(effective_status(Available, future, now), Available);
        assert_eq!(effective_status(Locked, future, now), Locked);
        assert!(is_spendable(Available, future, now));
        assert!(!is_spendable(Available, past, now));
        assert!(!is_spendable(Locked, future, now));
    }
}
