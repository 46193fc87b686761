//! The signals, computed from plain order facts (no database here, so each rule is
//! unit-tested on hand-made orders).
//!
//! - `threshold_gaming`: the merchant's share of voucher orders whose gross is
//!   within 5% above the voucher's min spend (`min ≤ gross ≤ 1.05 × min`), judged
//!   once it has `threshold_gaming_min_orders` voucher orders, against the higher
//!   of `threshold_gaming_min_share` and `threshold_gaming_factor` × the rest of
//!   the platform's share.
//! - `repeat_pairs`: the most voucher orders of one resident at the merchant in one
//!   campaign, against `repeat_pair_orders`.
//! - `redemption_burst`: the most redemptions within any 60 seconds, against
//!   `burst_redemptions`.
//!
//! A signal fires when its value reaches its threshold; the score is the sum over
//! the fired signals of value / threshold, rounded to two decimals.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::SignalKind;
use crate::config::RiskSettings;

/// What the scan needs of one voucher order (paid, redeemed or reversed).
#[derive(Debug, Clone, Copy)]
pub struct OrderFact {
    pub id: i64,
    pub merchant_id: i64,
    pub user_id: i64,
    pub campaign_id: i64,
    pub gross_fen: i64,
    pub min_spend_fen: i64,
    pub redeemed_at: Option<NaiveDateTime>,
}

impl OrderFact {
    /// Within 5% above the voucher's minimum spend, in integer arithmetic.
    fn near_threshold(&self) -> bool {
        self.gross_fen >= self.min_spend_fen && self.gross_fen * 100 <= self.min_spend_fen * 105
    }
}

/// One fired signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signal {
    pub kind: SignalKind,
    /// The merchant's figure: a share (0–1) for `threshold_gaming`, a count otherwise.
    pub value: f64,
    /// The figure at which the signal fires.
    pub threshold: f64,
    /// The orders that show it (at most `risk.evidence_limit`), ascending.
    pub order_ids: Vec<i64>,
}

/// A merchant with at least one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub merchant_id: i64,
    pub score: f64,
    pub signals: Vec<Signal>,
}

fn evidence(mut ids: Vec<i64>, limit: usize) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(limit);
    ids
}

/// Every merchant with at least one signal, by score descending (then merchant id).
pub fn scan(orders: &[OrderFact], settings: &RiskSettings) -> Vec<Flag> {
    let mut by_merchant: BTreeMap<i64, Vec<&OrderFact>> = BTreeMap::new();
    for order in orders {
        by_merchant.entry(order.merchant_id).or_default().push(order);
    }
    let total = orders.len() as f64;
    let total_near = orders.iter().filter(|o| o.near_threshold()).count() as f64;
    let mut flags = Vec::new();
    for (merchant_id, mine) in by_merchant {
        let mut signals = Vec::new();
        signals.extend(threshold_gaming(&mine, total, total_near, settings));
        signals.extend(repeat_pairs(&mine, settings));
        signals.extend(redemption_burst(&mine, settings));
        if signals.is_empty() {
            continue;
        }
        let score: f64 = signals.iter().map(|s| s.value / s.threshold).sum();
        flags.push(Flag {
            merchant_id,
            score: (score * 100.0).round() / 100.0,
            signals,
        });
    }
    flags.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.merchant_id.cmp(&b.merchant_id)));
    flags
}

fn threshold_gaming(mine: &[&OrderFact], total: f64, total_near: f64, settings: &RiskSettings) -> Option<Signal> {
    let n = mine.len();
    if (n as i64) < settings.threshold_gaming_min_orders {
        return None;
    }
    let near: Vec<i64> = mine.iter().filter(|o| o.near_threshold()).map(|o| o.id).collect();
    let share = near.len() as f64 / n as f64;
    let rest = total - n as f64;
    let rest_share = if rest > 0.0 {
        (total_near - near.len() as f64) / rest
    } else {
        0.0
    };
    let threshold = settings
        .threshold_gaming_min_share
        .max(settings.threshold_gaming_factor * rest_share)
        .min(1.0);
    (share >= threshold && !near.is_empty()).then(|| Signal {
        kind: SignalKind::ThresholdGaming,
        value: (share * 10_000.0).round() / 10_000.0,
        threshold: (threshold * 10_000.0).round() / 10_000.0,
        order_ids: evidence(near, settings.evidence_limit),
    })
}

fn repeat_pairs(mine: &[&OrderFact], settings: &RiskSettings) -> Option<Signal> {
    let mut pairs: HashMap<(i64, i64), Vec<i64>> = HashMap::new();
    for o in mine {
        pairs.entry((o.user_id, o.campaign_id)).or_default().push(o.id);
    }
    let most = pairs.values().map(Vec::len).max().unwrap_or(0) as i64;
    if most < settings.repeat_pair_orders {
        return None;
    }
    let ids: Vec<i64> = pairs
        .into_values()
        .filter(|ids| ids.len() as i64 >= settings.repeat_pair_orders)
        .flatten()
        .collect();
    Some(Signal {
        kind: SignalKind::RepeatPairs,
        value: most as f64,
        threshold: settings.repeat_pair_orders as f64,
        order_ids: evidence(ids, settings.evidence_limit),
    })
}

fn redemption_burst(mine: &[&OrderFact], settings: &RiskSettings) -> Option<Signal> {
    let mut redeemed: Vec<(NaiveDateTime, i64)> =
        mine.iter().filter_map(|o| o.redeemed_at.map(|t| (t, o.id))).collect();
    redeemed.sort_unstable();
    let window = chrono::Duration::seconds(60);
    let (mut best, mut best_start) = (0_usize, 0_usize);
    let mut start = 0;
    for end in 0..redeemed.len() {
        while redeemed[end].0 - redeemed[start].0 >= window {
            start += 1;
        }
        if end + 1 - start > best {
            best = end + 1 - start;
            best_start = start;
        }
    }
    if (best as i64) < settings.burst_redemptions {
        return None;
    }
    let ids = redeemed[best_start..best_start + best]
        .iter()
        .map(|&(_, id)| id)
        .collect();
    Some(Signal {
        kind: SignalKind::RedemptionBurst,
        value: best as f64,
        threshold: settings.burst_redemptions as f64,
        order_ids: evidence(ids, settings.evidence_limit),
    })
}

/// The hold reason written on a flagged merchant's statements.
pub fn hold_reason(score: f64, signals: &[Signal]) -> String {
    let parts: Vec<String> = signals
        .iter()
        .map(|s| {
            format!(
                "{} {} (threshold {}, orders {})",
                s.kind,
                s.value,
                s.threshold,
                s.order_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    let text = format!("risk score {score}: {}", parts.join("; "));
    // API.md caps a reason at 500 characters.
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn settings() -> RiskSettings {
        RiskSettings {
            repeat_pair_orders: 5,
            burst_redemptions: 10,
            threshold_gaming_min_orders: 10,
            threshold_gaming_min_share: 0.5,
            threshold_gaming_factor: 3.0,
            hold_score: 1.0,
            evidence_limit: 50,
        }
    }

    fn t(seconds: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.and_hms_opt(2, 0, 0))
            .expect("time")
            + chrono::Duration::seconds(seconds)
    }

    /// `n` honest orders of merchant `m`: distinct residents, gross 150 on a 100
    /// minimum, redeemed ten minutes apart.
    fn honest(m: i64, first_id: i64, n: i64) -> Vec<OrderFact> {
        (0..n)
            .map(|i| OrderFact {
                id: first_id + i,
                merchant_id: m,
                user_id: 1000 * m + i,
                campaign_id: 1,
                gross_fen: 15_000,
                min_spend_fen: 10_000,
                redeemed_at: Some(t(600 * i)),
            })
            .collect()
    }

    #[test]
    fn honest_merchants_raise_nothing() {
        let mut orders = honest(1, 1, 30);
        orders.extend(honest(2, 100, 30));
        assert!(scan(&orders, &settings()).is_empty());
    }

    #[test]
    fn each_planted_pattern_is_found_with_its_evidence() {
        let mut orders = honest(1, 1, 30);
        // Merchant 2: every order at 100.00–105.00 on a 100 minimum.
        let gaming: Vec<OrderFact> = honest(2, 100, 30)
            .into_iter()
            .enumerate()
            .map(|(i, o)| OrderFact {
                gross_fen: 10_000 + (i as i64 % 6) * 100,
                ..o
            })
            .collect();
        orders.extend(gaming);
        // Merchant 3: one resident, six orders.
        let ring: Vec<OrderFact> = honest(3, 200, 30)
            .into_iter()
            .map(|o| OrderFact {
                user_id: if o.id < 206 { 7 } else { o.user_id },
                ..o
            })
            .collect();
        orders.extend(ring);
        // Merchant 4: twelve redemptions within 55 seconds.
        let burst: Vec<OrderFact> = honest(4, 300, 30)
            .into_iter()
            .map(|o| OrderFact {
                redeemed_at: if o.id < 312 {
                    Some(t(5 * (o.id - 300)))
                } else {
                    o.redeemed_at
                },
                ..o
            })
            .collect();
        orders.extend(burst);
        let flags = scan(&orders, &settings());
        let by_merchant: HashMap<i64, &Flag> = flags.iter().map(|f| (f.merchant_id, f)).collect();
        assert!(!by_merchant.contains_key(&1), "{flags:?}");
        let gaming = &by_merchant[&2].signals;
        assert_eq!(gaming.len(), 1);
        assert_eq!(gaming[0].kind, SignalKind::ThresholdGaming);
        assert_eq!(gaming[0].value, 1.0);
        assert_eq!(gaming[0].order_ids, (100..130).collect::<Vec<_>>());
        let ring = &by_merchant[&3].signals;
        assert_eq!(ring[0].kind, SignalKind::RepeatPairs);
        assert_eq!(ring[0].value, 6.0);
        assert_eq!(ring[0].order_ids, (200..206).collect::<Vec<_>>());
        let burst = &by_merchant[&4].signals;
        assert_eq!(burst[0].kind, SignalKind::RedemptionBurst);
        assert_eq!(burst[0].value, 12.0);
        assert_eq!(burst[0].order_ids, (300..312).collect::<Vec<_>>());
        assert_eq!(by_merchant[&4].score, 1.2);
        assert!(flags.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn a_minute_apart_is_not_within_one_minute() {
        let mut orders = honest(1, 1, 10);
        for (i, o) in orders.iter_mut().enumerate() {
            o.redeemed_at = Some(t(60 * i as i64));
        }
        let mut s = settings();
        s.burst_redemptions = 2;
        assert!(scan(&orders, &s).is_empty());
    }
}
