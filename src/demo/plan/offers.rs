//! Stage 2b: an approved merchant's offers, 5 to 15 of its category, priced as
//! shops price, most of them on sale.

use chrono::Duration;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::data::CategoryStyle;
use crate::demo::rows::{Merchant, Offer};
use crate::offers::models::OfferStatus;
use crate::search;

/// Appends `merchant`'s offers to `offers` (ids follow on) and returns the indexes
/// of the active ones, which orders may buy.
pub fn for_merchant(
    rng: &mut StdRng,
    style: &CategoryStyle,
    merchant: &Merchant,
    offers: &mut Vec<Offer>,
) -> Vec<usize> {
    let mut active_offers = Vec::new();
    let count = rng.gen_range(5..=15);
    let offer_created = merchant.created_at + Duration::days(4);
    for k in 0..count {
        let title = format!(
            "{}{}",
            style.offers.choose(rng).unwrap_or(&"体验券"),
            if k >= style.offers.len() {
                format!(" · {}号", k + 1)
            } else {
                String::new()
            }
        );
        let description = format!("{}，到店出示核销码使用。", merchant.name);
        // Prices end in 0 or 8 yuan, as shops price.
        let yuan = rng.gen_range(style.price.0..=style.price.1) / 10 * 10 + if rng.gen_bool(0.3) { 8 } else { 0 };
        let active = k == 0 || rng.gen_bool(0.95);
        let stock = rng.gen_bool(0.15).then(|| rng.gen_range(20..500));
        if active {
            active_offers.push(offers.len());
        }
        offers.push(Offer {
            id: offers.len() as i64 + 1,
            merchant_id: merchant.id,
            search_text: search::offer_text(&title, &description),
            title,
            description,
            price_fen: yuan.max(1) * 100,
            stock,
            status: if active {
                OfferStatus::Active
            } else {
                OfferStatus::Inactive
            },
            created_at: offer_created,
            updated_at: offer_created,
        });
    }
    active_offers
}
