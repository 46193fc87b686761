//! Stage 2: the merchants, each with its owner's membership, its review (approved,
//! waiting in the queue, or rejected, with the audit row an admin's decision
//! leaves) and, when approved, its offers; then how popular each approved one is.

use std::collections::HashMap;

use chrono::Duration;
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::clock::Clock;
use super::data::{district_label, district_weight, BRANDS, STREETS, STYLES};
use super::{offers, DemoSize, ADMIN_ID};
use crate::audit::AuditTarget;
use crate::demo::rows::{Audit, Member, Merchant, Offer};
use crate::domain::{credit_code, Category};
use crate::merchants::models::{MemberRole, MerchantStatus};
use crate::search;

/// An approved merchant as the order stages see it.
pub struct MerchantPick {
    pub id: i64,
    pub category: Category,
    /// Indexes into the offers of this merchant's active offers.
    pub offers: Vec<usize>,
}

/// What this stage makes.
pub struct Town {
    pub merchants: Vec<Merchant>,
    pub members: Vec<Member>,
    pub offers: Vec<Offer>,
    /// The approved merchants, in id order.
    pub picks: Vec<MerchantPick>,
}

/// The approved merchants first, then the review queue, then the rejected, spread
/// over `districts` by population (only `guangyang` when none are configured). The
/// merchant with index `i` belongs to the owner `first_owner_id + i`.
pub fn generate(
    rng: &mut StdRng,
    clock: &Clock,
    size: &DemoSize,
    districts: &[String],
    first_owner_id: i64,
    audits: &mut Vec<Audit>,
) -> anyhow::Result<Town> {
    let districts: Vec<String> = if districts.is_empty() {
        vec!["guangyang".to_owned()]
    } else {
        districts.to_vec()
    };
    let district_pick = WeightedIndex::new(districts.iter().map(|d| district_weight(d)))?;
    let style_pick = WeightedIndex::new(STYLES.iter().map(|s| s.weight))?;

    let merchant_total = size.approved_merchants + size.pending_merchants + size.rejected_merchants;
    let mut merchants = Vec::with_capacity(merchant_total);
    let mut members = Vec::with_capacity(merchant_total);
    let mut offers: Vec<Offer> = Vec::new();
    let mut picks: Vec<MerchantPick> = Vec::new();
    let mut name_counts: HashMap<String, usize> = HashMap::new();
    for i in 0..merchant_total {
        let id = i as i64 + 1;
        let owner_id = first_owner_id + i as i64;
        let style = &STYLES[style_pick.sample(rng)];
        let district = &districts[district_pick.sample(rng)];
        let status = if i < size.approved_merchants {
            MerchantStatus::Approved
        } else if i < size.approved_merchants + size.pending_merchants {
            MerchantStatus::Pending
        } else {
            MerchantStatus::Rejected
        };
        let base = format!(
            "{}{}{}",
            district_label(district),
            BRANDS.choose(rng).unwrap_or(&"文旅"),
            style.nouns.choose(rng).unwrap_or(&"商户")
        );
        let seen = name_counts.entry(base.clone()).or_insert(0);
        *seen += 1;
        let name = if *seen == 1 {
            base
        } else {
            format!("{base}（{}店）", seen)
        };
        let created_at = if status == MerchantStatus::Pending {
            // The review queue is oldest first: later ids applied later.
            clock.days(-5)
                + Duration::hours(8 * (i - size.approved_merchants) as i64)
                + Duration::minutes(rng.gen_range(0..400))
        } else {
            clock.days(-390) + Duration::minutes(rng.gen_range(0..20_000))
        };
        let license_no = credit_code::with_check_char(&format!("91131000MA{:07}", id)).unwrap_or_default();
        let review_note = (status == MerchantStatus::Rejected).then(|| "营业执照经营范围与申报类别不符".to_owned());
        if status != MerchantStatus::Pending {
            audits.push(Audit {
                id: 0,
                actor_id: ADMIN_ID,
                action: if status == MerchantStatus::Approved {
                    "merchant.approve"
                } else {
                    "merchant.reject"
                },
                target_type: AuditTarget::Merchant.as_str(),
                target_id: id,
                reason: review_note.clone(),
                created_at: created_at + Duration::hours(rng.gen_range(2..72)),
            });
        }
        merchants.push(Merchant {
            id,
            search_text: search::merchant_text(&name),
            name,
            license_no,
            category: style.category,
            district: district.clone(),
            address: format!(
                "廊坊市{}{}路{}号",
                district_label(district),
                STREETS.choose(rng).unwrap_or(&"新华"),
                rng.gen_range(1..400)
            ),
            contact_phone: format!("0316-{}", rng.gen_range(2_000_000..9_000_000)),
            status,
            review_note,
            owner_id,
            created_at,
        });
        members.push(Member {
            merchant_id: id,
            user_id: owner_id,
            role: MemberRole::Owner,
            created_at,
        });
        if status != MerchantStatus::Approved {
            continue;
        }
        let shop = &merchants[i];
        picks.push(MerchantPick {
            id,
            category: style.category,
            offers: offers::for_merchant(rng, style, shop, &mut offers),
        });
    }
    Ok(Town {
        merchants,
        members,
        offers,
        picks,
    })
}

/// Each approved merchant's weight as a seller: a few sell a lot, most a little.
pub fn popularity(rng: &mut StdRng, merchants: usize) -> Vec<f64> {
    let mut popularity: Vec<f64> = (1..=merchants)
        .map(|rank| 1.0 / ((rank + 5) as f64).powf(0.7))
        .collect();
    popularity.shuffle(rng);
    popularity
}
