//! What one instance remembers about batches, so that the answers that can no longer
//! change are given without a database connection: `sold_out` (`remaining` only
//! falls) and `claim_ended` (a batch never changes once made), plus
//! `claim_not_started` before a window opens, and `sold_out_today` for the rest of
//! the platform-local day on which this instance saw the daily cap reached (a day's
//! count only rises; the next day is answered by the database again).
//!
//! API.md's precedence must still hold. Of the checks that come before those answers:
//! - the windows and `per_user_limit` never change, and are remembered;
//! - the campaign's status can (pause, resume, end). An answer from memory is given
//!   only while the remembered status is `active` and was read less than
//!   `claims.memory_ttl_ms` ago; otherwise the claim goes to the database, which
//!   refreshes the memory. So a pause (on this or another instance) can be answered
//!   `sold_out` instead of `campaign_not_active` for at most that long: the documented
//!   price of not reading the campaign on every claim;
//! - `claim_limit_reached` depends on the resident: once a batch is sold out no
//!   holding of it changes again (nor, for the rest of that day, once its day's cap
//!   is reached), so the instance reads once which residents hold the limit (8 bytes
//!   each) and answers them `claim_limit_reached`;
//! - `sold_out` comes before `sold_out_today`: a batch seen with stock when its day
//!   filled keeps that stock until the day ends, since no claim succeeds before;
//! - `real_name_required` depends on the resident too: on a real-name campaign only
//!   residents known to be verified (the limit holders) are answered from memory; the
//!   others go to the database.
//!
//! Several instances each learn for themselves; nothing here is shared.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::rules::Terms;
use crate::campaigns::models::{Allocation, CampaignStatus};
use crate::error::Code;

/// One batch as last read by this instance.
#[derive(Debug, Clone)]
pub struct Known {
    pub terms: Terms,
    /// `remaining` was read as 0: final.
    pub sold_out: bool,
    /// The platform-local day (`YYYY-MM-DD`) on which the daily cap was seen reached.
    pub full_on: Option<String>,
    /// When sold out (final) or full on `full_on` (for that day): the residents
    /// holding `per_user_limit`, ascending.
    pub at_limit: Option<Arc<Vec<i64>>>,
    /// When the campaign's status was read.
    pub read_at: Instant,
}

impl Known {
    /// Whether nothing about holdings or stock changes any more on `today`: sold out,
    /// or the day's cap was reached today.
    pub fn frozen_on(&self, today: &str) -> bool {
        self.sold_out || self.full_on.as_deref() == Some(today)
    }

    /// The answer memory can give `user_id` at `now`, the platform-local day `today`,
    /// if any. `fresh`: the campaign status was read within the TTL.
    pub fn answer(&self, user_id: i64, now: NaiveDateTime, today: &str, fresh: bool) -> Option<Code> {
        let t = &self.terms;
        if t.allocation != Allocation::FirstCome {
            // A fixed property of the batch, and the first check of a claim.
            return Some(Code::WrongAllocation);
        }
        let campaign_running =
            t.campaign_status == CampaignStatus::Active && now >= t.campaign_starts_at && now < t.campaign_ends_at;
        if !fresh || !campaign_running {
            return None;
        }
        if now < t.claim_starts_at {
            return Some(Code::ClaimNotStarted);
        }
        if now >= t.claim_ends_at {
            return Some(Code::ClaimEnded);
        }
        if !self.frozen_on(today) {
            return None;
        }
        let at_limit = self.at_limit.as_ref()?.binary_search(&user_id).is_ok();
        if at_limit {
            // Holding vouchers of a real-name campaign means verified.
            Some(Code::ClaimLimitReached)
        } else if t.require_real_name {
            None
        } else if self.sold_out {
            Some(Code::SoldOut)
        } else {
            Some(Code::SoldOutToday)
        }
    }
}

/// The instance's memory of batches.
#[derive(Debug, Default)]
pub struct Memory {
    batches: RwLock<HashMap<i64, Arc<Known>>>,
}

impl Memory {
    /// The answer from memory for a claim of `batch_id` by `user_id` at `now`.
    pub fn answer(&self, batch_id: i64, user_id: i64, now: NaiveDateTime, today: &str, ttl: Duration) -> Option<Code> {
        let known = self.get(batch_id)?;
        known.answer(user_id, now, today, known.read_at.elapsed() < ttl)
    }

    pub fn get(&self, batch_id: i64) -> Option<Arc<Known>> {
        let batches = self.batches.read().unwrap_or_else(|e| e.into_inner());
        batches.get(&batch_id).cloned()
    }

    pub fn remember(&self, batch_id: i64, known: Known) {
        let mut batches = self.batches.write().unwrap_or_else(|e| e.into_inner());
        batches.insert(batch_id, Arc::new(known));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Days;

    const DAY: &str = "2026-12-03";

    fn known(now: NaiveDateTime, sold_out: bool, real_name: bool) -> Known {
        Known {
            terms: Terms {
                campaign_id: 1,
                discount_fen: 100,
                min_spend_fen: 0,
                per_user_limit: 1,
                claim_starts_at: now - Days::hours(1),
                claim_ends_at: now + Days::hours(1),
                valid_days: 7,
                campaign_status: CampaignStatus::Active,
                campaign_starts_at: now - Days::days(1),
                campaign_ends_at: now + Days::days(1),
                require_real_name: real_name,
                allocation: Allocation::FirstCome,
                daily_quantity: None,
                usable: crate::vouchers::usable::UsableWindow::default(),
            },
            sold_out,
            full_on: None,
            at_limit: sold_out.then(|| Arc::new(vec![3, 7])),
            read_at: Instant::now(),
        }
    }

    #[test]
    fn memory_answers_only_what_cannot_change() {
        let now = crate::time::now();
        let open = known(now, false, false);
        assert_eq!(open.answer(1, now, DAY, true), None, "stock left: the database decides");
        assert_eq!(open.answer(1, now + Days::hours(2), DAY, true), Some(Code::ClaimEnded));
        assert_eq!(
            open.answer(1, now - Days::hours(2), DAY, true),
            Some(Code::ClaimNotStarted)
        );
        let drained = known(now, true, false);
        assert_eq!(drained.answer(1, now, DAY, true), Some(Code::SoldOut));
        assert_eq!(drained.answer(7, now, DAY, true), Some(Code::ClaimLimitReached));
        assert_eq!(drained.answer(1, now, DAY, false), None, "stale campaign status");
        // Past the campaign's end the campaign check comes first: not from memory.
        assert_eq!(drained.answer(1, now + Days::days(2), DAY, true), None);
        let paused = Known {
            terms: Terms {
                campaign_status: CampaignStatus::Paused,
                ..drained.terms.clone()
            },
            ..drained.clone()
        };
        assert_eq!(paused.answer(1, now, DAY, true), None);
        let real_name = known(now, true, true);
        assert_eq!(real_name.answer(1, now, DAY, true), None, "verification unknown");
        assert_eq!(real_name.answer(3, now, DAY, true), Some(Code::ClaimLimitReached));
        let unloaded = Known {
            at_limit: None,
            ..drained
        };
        assert_eq!(unloaded.answer(1, now, DAY, true), None);
        let lottery = Known {
            terms: Terms {
                allocation: Allocation::Lottery,
                ..open.terms.clone()
            },
            ..open
        };
        assert_eq!(lottery.answer(1, now, DAY, false), Some(Code::WrongAllocation));
    }

    #[test]
    fn a_full_day_is_answered_from_memory_that_day_only() {
        let now = crate::time::now();
        let full = Known {
            full_on: Some(DAY.to_owned()),
            at_limit: Some(Arc::new(vec![7])),
            ..known(now, false, false)
        };
        assert_eq!(full.answer(1, now, DAY, true), Some(Code::SoldOutToday));
        assert_eq!(full.answer(7, now, DAY, true), Some(Code::ClaimLimitReached));
        assert_eq!(
            full.answer(1, now, "2026-12-04", true),
            None,
            "a new day: the database decides"
        );
        let drained = Known {
            sold_out: true,
            ..full.clone()
        };
        assert_eq!(drained.answer(1, now, DAY, true), Some(Code::SoldOut), "sold_out first");
        let real_name = Known {
            terms: Terms {
                require_real_name: true,
                ..full.terms.clone()
            },
            ..full
        };
        assert_eq!(real_name.answer(1, now, DAY, true), None);
    }
}
