//! Stage 3: the campaigns of [`super::data::CAMPAIGNS`] with their batches, the
//! vouchers residents claimed from them (within each batch's window and per-user
//! limit) and the audit rows of their creation, publication and end. Each campaign
//! gets claims enough for its share of the orders, about 62% of them spent.

use std::collections::HashMap;
use std::ops::Range;

use chrono::{Duration, NaiveDateTime};
use rand::distributions::WeightedIndex;
use rand::rngs::StdRng;
use rand::Rng;

use super::clock::Clock;
use super::data::CAMPAIGNS;
use super::merchants::MerchantPick;
use super::ADMIN_ID;
use crate::audit::AuditTarget;
use crate::campaigns::models::CampaignStatus;
use crate::demo::rows::{Audit, Batch, Campaign};

/// A voucher a resident claimed, before it is known what became of it.
pub struct Claim {
    /// Index into the batches.
    pub batch: usize,
    pub user_id: i64,
    pub slot: i64,
    pub claimed_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// The order made with it, as an index into the order drafts.
    pub order: Option<usize>,
}

/// What this stage makes; campaign `i` (from 0) has id `i + 1`, as batches do.
pub struct Issued {
    pub campaigns: Vec<Campaign>,
    pub batches: Vec<Batch>,
    pub claims: Vec<Claim>,
}

/// Campaigns, batches and claims, sized for `voucher_orders_total` orders with a
/// voucher; claimants are drawn from `residents`.
pub fn issue(
    rng: &mut StdRng,
    clock: &Clock,
    voucher_orders_total: usize,
    residents: &Range<i64>,
    audits: &mut Vec<Audit>,
) -> Issued {
    let now = clock.now;
    let mut campaigns = Vec::new();
    let mut batches = Vec::new();
    let mut claims: Vec<Claim> = Vec::new();
    let mut held: HashMap<(usize, i64), i64> = HashMap::new();
    for (c, spec) in CAMPAIGNS.iter().enumerate() {
        let campaign_id = c as i64 + 1;
        let starts_at = clock
            .at(clock.local_day(clock.days(spec.starts)), 0)
            .unwrap_or(clock.days(spec.starts));
        let ends_at = clock
            .at(clock.local_day(clock.days(spec.ends)), 0)
            .unwrap_or(clock.days(spec.ends));
        let created_at = (starts_at - Duration::days(14)).min(now - Duration::days(2));
        let orders_here = voucher_orders_total * spec.share / 100;
        // About 62% of claimed vouchers get used.
        let claims_here = orders_here * 100 / 62;
        let per_batch = claims_here / spec.batches.len().max(1);
        let mut face_value = 0;
        let mut audit =
            |action: &'static str, target: AuditTarget, target_id: i64, reason: Option<&str>, at: NaiveDateTime| {
                audits.push(Audit {
                    id: 0,
                    actor_id: ADMIN_ID,
                    action,
                    target_type: target.as_str(),
                    target_id,
                    reason: reason.map(str::to_owned),
                    created_at: at,
                })
            };
        audit("campaign.create", AuditTarget::Campaign, campaign_id, None, created_at);
        if spec.status != CampaignStatus::Draft {
            audit(
                "campaign.publish",
                AuditTarget::Campaign,
                campaign_id,
                None,
                starts_at - Duration::days(1),
            );
        }
        if spec.status == CampaignStatus::Ended {
            audit(
                "campaign.end",
                AuditTarget::Campaign,
                campaign_id,
                Some("活动期满"),
                ends_at,
            );
        }
        for b in spec.batches {
            let batch_index = batches.len();
            let claim_starts_at = starts_at + Duration::days(b.claim_from);
            let claim_ends_at = (starts_at + Duration::days(b.claim_to)).min(ends_at);
            let wanted = if spec.status == CampaignStatus::Draft {
                0
            } else {
                per_batch
            };
            // Claims happen from the window's start until it closes or until now.
            let claim_until = claim_ends_at.min(now - Duration::hours(1));
            let mut made = 0i64;
            if claim_until > claim_starts_at {
                let span = (claim_until - claim_starts_at).num_minutes().max(1);
                for _ in 0..wanted {
                    // A rush in the first days after a release, then a steady trickle.
                    let minute = if rng.gen_bool(0.4) {
                        rng.gen_range(0..span.min(3 * 1440))
                    } else {
                        rng.gen_range(0..span)
                    };
                    let claimed_at =
                        claim_starts_at + Duration::minutes(minute) + Duration::seconds(rng.gen_range(0..60));
                    // A resident who still may claim from this batch.
                    let mut found = None;
                    for _ in 0..20 {
                        let user_id = rng.gen_range(residents.clone());
                        let slot = held.get(&(batch_index, user_id)).copied().unwrap_or(0) + 1;
                        if slot <= b.per_user_limit {
                            found = Some((user_id, slot));
                            break;
                        }
                    }
                    let Some((user_id, slot)) = found else { continue };
                    held.insert((batch_index, user_id), slot);
                    claims.push(Claim {
                        batch: batch_index,
                        user_id,
                        slot,
                        claimed_at,
                        expires_at: (claimed_at + Duration::days(b.valid_days)).min(ends_at),
                        order: None,
                    });
                    made += 1;
                }
            }
            let quantity = if b.sells_out && made > 0 {
                made
            } else {
                ((made + made / 4) / 100 + 1) * 100
            };
            let discount_fen = b.discount_yuan * 100;
            face_value += discount_fen * quantity;
            batches.push(Batch {
                id: batch_index as i64 + 1,
                campaign_id,
                name: b.name.to_owned(),
                discount_fen,
                min_spend_fen: b.min_spend_yuan * 100,
                quantity,
                remaining: quantity - made,
                per_user_limit: b.per_user_limit,
                claim_starts_at,
                claim_ends_at,
                valid_days: b.valid_days,
                created_at: created_at + Duration::hours(1),
            });
            audit(
                "batch.create",
                AuditTarget::Batch,
                batch_index as i64 + 1,
                None,
                created_at + Duration::hours(1),
            );
        }
        // Budgets are round sums a little above what the batches reserve.
        let budget_fen = ((face_value * 6 / 5) / 1_000_000 + 1) * 1_000_000;
        campaigns.push(Campaign {
            id: campaign_id,
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            status: spec.status,
            budget_fen,
            reserved_fen: face_value,
            target_leverage: 10.0,
            starts_at,
            ends_at,
            eligible_categories: spec.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
            eligible_districts: String::new(),
            require_real_name: false,
            refund_returns_voucher: spec.refund_returns_voucher,
            created_by: ADMIN_ID,
            created_at,
        });
    }
    Issued {
        campaigns,
        batches,
        claims,
    }
}

/// Per campaign (by index), the approved merchants its vouchers may be spent at,
/// weighted by popularity; `None` where there are none.
pub fn eligible_merchants(picks: &[MerchantPick], popularity: &[f64]) -> Vec<Option<WeightedIndex<f64>>> {
    CAMPAIGNS
        .iter()
        .map(|spec| {
            let weights = picks.iter().zip(popularity).map(|(p, w)| {
                if spec.categories.is_empty() || spec.categories.contains(&p.category) {
                    *w
                } else {
                    0.0
                }
            });
            WeightedIndex::new(weights).ok()
        })
        .collect()
}
