//! The claim rules of API.md, in their order, as pure functions: the one-at-a-time
//! claim, the coalesced group and the answers from memory all decide through them,
//! so the precedence (`campaign_not_active`, `claim_not_started`, `claim_ended`,
//! `real_name_required`, `claim_limit_reached`, `sold_out`, `sold_out_today`) is
//! written once.
//!
//! The first three depend only on the batch, its campaign and the time; the next two
//! on the resident; `sold_out` on the stock. A group decides the batch part once and
//! the resident part per claim, in arrival order. Before all of them, a batch given
//! out the other way (a lottery batch claimed, a first-come batch entered) is 409
//! `wrong_allocation`: a fixed property of the batch. Entries into a lottery batch
//! ([`crate::lottery`]) follow the same order with `already_entered` in place of the
//! limit and the stock.

use chrono::NaiveDateTime;

use crate::campaigns::models::{Allocation, CampaignStatus};
use crate::error::{AppError, Code};
use crate::vouchers::usable::UsableWindow;

/// What a batch and its campaign say about claiming, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub campaign_id: i64,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub per_user_limit: i64,
    pub claim_starts_at: NaiveDateTime,
    pub claim_ends_at: NaiveDateTime,
    pub valid_days: i64,
    pub campaign_status: CampaignStatus,
    pub campaign_starts_at: NaiveDateTime,
    pub campaign_ends_at: NaiveDateTime,
    pub require_real_name: bool,
    pub allocation: Allocation,
    /// At most this many claims per platform-local day; `None` = no cap.
    pub daily_quantity: Option<i64>,
    /// When the batch's vouchers may be used (copied onto each voucher).
    pub usable: UsableWindow,
}

impl Terms {
    /// The first failing check of a claim that depends on the batch, its campaign and
    /// `at` only.
    pub fn batch_refusal(&self, at: NaiveDateTime) -> Option<Code> {
        self.refusal_for(Allocation::FirstCome, at)
    }

    /// The first failing check that depends on the batch, its campaign and `at` only,
    /// for a call that gives vouchers out the way `way` (claim: first come; entry:
    /// lottery).
    pub fn refusal_for(&self, way: Allocation, at: NaiveDateTime) -> Option<Code> {
        if self.allocation != way {
            Some(Code::WrongAllocation)
        } else if self.campaign_status != CampaignStatus::Active
            || at < self.campaign_starts_at
            || at >= self.campaign_ends_at
        {
            Some(Code::CampaignNotActive)
        } else if at < self.claim_starts_at {
            Some(Code::ClaimNotStarted)
        } else if at >= self.claim_ends_at {
            Some(Code::ClaimEnded)
        } else {
            None
        }
    }

    /// The first failing check that depends on the resident (after the batch's).
    pub fn resident_refusal(&self, verified: bool, held: i64) -> Option<Code> {
        if self.require_real_name && !verified {
            Some(Code::RealNameRequired)
        } else if held >= self.per_user_limit {
            Some(Code::ClaimLimitReached)
        } else {
            None
        }
    }

    /// The last checks of a claim: `sold_out` when no stock is left, then
    /// `sold_out_today` when the day's cap is (`left_today`: `None` without a cap).
    pub fn stock_refusal(left: i64, left_today: Option<i64>) -> Option<Code> {
        if left <= 0 {
            Some(Code::SoldOut)
        } else if left_today.is_some_and(|n| n <= 0) {
            Some(Code::SoldOutToday)
        } else {
            None
        }
    }

    /// The first failing check of an entry into a lottery batch that depends on the
    /// resident (after the batch's).
    pub fn entrant_refusal(&self, verified: bool, entered: bool) -> Option<Code> {
        if self.require_real_name && !verified {
            Some(Code::RealNameRequired)
        } else if entered {
            Some(Code::AlreadyEntered)
        } else {
            None
        }
    }

    /// When a voucher claimed at `at` expires: `valid_days` later, never after the
    /// campaign ends.
    pub fn expires_at(&self, at: NaiveDateTime) -> NaiveDateTime {
        (at + chrono::Duration::days(self.valid_days)).min(self.campaign_ends_at)
    }
}

/// The answer a refused claim gets.
pub fn refusal(code: Code) -> AppError {
    let detail = match code {
        Code::CampaignNotActive => "the campaign is not running now",
        Code::ClaimNotStarted => "claiming this batch has not started yet",
        Code::ClaimEnded => "claiming this batch has ended",
        Code::RealNameRequired => "this campaign is for real-name-verified residents",
        Code::ClaimLimitReached => "you hold as many vouchers of this batch as allowed",
        Code::SoldOut => "this batch is sold out",
        Code::SoldOutToday => "today's vouchers of this batch are all claimed; more are released at midnight",
        Code::WrongAllocation => {
            "this batch is not given out that way: claim a first-come batch, enter a lottery batch"
        }
        Code::AlreadyEntered => "you have already entered this lottery",
        _ => "the claim was refused",
    };
    AppError::new(code, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn terms(now: NaiveDateTime) -> Terms {
        Terms {
            campaign_id: 1,
            discount_fen: 100,
            min_spend_fen: 0,
            per_user_limit: 2,
            claim_starts_at: now - Duration::hours(1),
            claim_ends_at: now + Duration::hours(1),
            valid_days: 7,
            campaign_status: CampaignStatus::Active,
            campaign_starts_at: now - Duration::days(1),
            campaign_ends_at: now + Duration::days(1),
            require_real_name: true,
            allocation: Allocation::FirstCome,
            daily_quantity: None,
            usable: UsableWindow::default(),
        }
    }

    #[test]
    fn checks_come_in_api_order() {
        let now = crate::time::now();
        let t = terms(now);
        assert_eq!(t.batch_refusal(now), None);
        let paused = Terms {
            campaign_status: CampaignStatus::Paused,
            claim_ends_at: now - Duration::minutes(1),
            ..t.clone()
        };
        assert_eq!(paused.batch_refusal(now), Some(Code::CampaignNotActive));
        let over = Terms {
            claim_ends_at: now,
            ..t.clone()
        };
        assert_eq!(over.batch_refusal(now), Some(Code::ClaimEnded));
        assert_eq!(t.batch_refusal(now - Duration::hours(2)), Some(Code::ClaimNotStarted));
        assert_eq!(t.batch_refusal(now + Duration::days(2)), Some(Code::CampaignNotActive));
        assert_eq!(t.resident_refusal(false, 5), Some(Code::RealNameRequired));
        assert_eq!(t.resident_refusal(true, 2), Some(Code::ClaimLimitReached));
        assert_eq!(t.resident_refusal(true, 1), None);
        assert_eq!(t.expires_at(now), now + Duration::days(1));
        let lottery = Terms {
            allocation: Allocation::Lottery,
            campaign_status: CampaignStatus::Paused,
            ..t.clone()
        };
        assert_eq!(lottery.batch_refusal(now), Some(Code::WrongAllocation));
        assert_eq!(
            lottery.refusal_for(Allocation::Lottery, now),
            Some(Code::CampaignNotActive)
        );
        assert_eq!(t.refusal_for(Allocation::Lottery, now), Some(Code::WrongAllocation));
        assert_eq!(t.entrant_refusal(false, true), Some(Code::RealNameRequired));
        assert_eq!(t.entrant_refusal(true, true), Some(Code::AlreadyEntered));
        assert_eq!(t.entrant_refusal(true, false), None);
        assert_eq!(Terms::stock_refusal(0, Some(0)), Some(Code::SoldOut), "sold_out first");
        assert_eq!(Terms::stock_refusal(3, Some(0)), Some(Code::SoldOutToday));
        assert_eq!(Terms::stock_refusal(3, Some(1)), None);
        assert_eq!(Terms::stock_refusal(3, None), None);
    }
}
