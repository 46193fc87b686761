//! Fraud signals on merchants (API.md, Risk): `threshold_gaming`, `repeat_pairs`
//! and `redemption_burst`, each with its value, its threshold and the order ids
//! that are its evidence, summed into a score.
//!
//! The scan ([`scan`], pure) reads every voucher order once; it is too slow to run
//! per request at city scale, so [`repo::refresh`] stores its findings in
//! `risk_flags` (one transaction: the queue is never half old, half new) and the
//! admin queue reads that table. The closing job refreshes it before each pass,
//! and a merchant whose score reaches `risk.hold_score` gets its newly closed
//! statements `held` with the signals as the hold reason.

pub mod dto;
pub mod handlers;
pub mod plant;
pub mod repo;
pub mod scan;

crate::text_enum! {
    /// A kind of fraud signal.
    pub enum SignalKind {
        /// Far more of the merchant's voucher orders than elsewhere sit just above
        /// the voucher's minimum spend (within 5%).
        ThresholdGaming = "threshold_gaming",
        /// One resident keeps ordering at the merchant with one campaign's vouchers.
        RepeatPairs = "repeat_pairs",
        /// Many redemptions within one minute.
        RedemptionBurst = "redemption_burst",
    }
}
