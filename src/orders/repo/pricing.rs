//! The pure rules of a purchase: whether a voucher applies to an offer, and what the
//! order costs. No database and no clock: checkout reads the rows and the time, these
//! functions decide, so every rule is unit-tested right here.
//!
//! A voucher applies (else 422 `voucher_not_applicable`) when the buyer is not a
//! member of the offer's merchant (no self-dealing), its campaign is `active` with
//! now in `[starts_at, ends_at)`, the merchant's category and district are in the
//! campaign's eligibility lists (empty = all), the gross reaches the min spend, and
//! the discount does not exceed the gross (possible only with a min spend of 0).
//! Amounts are checked i64 fen: `payable = gross − subsidy ≥ 0`.

use chrono::NaiveDateTime;

use crate::campaigns::models::CampaignStatus;
use crate::error::{AppError, AppResult, Code};
use crate::orders::models::{OfferForSale, VoucherForOrder};

fn not_applicable(detail: &str) -> AppError {
    AppError::new(Code::VoucherNotApplicable, detail)
}

/// Whether `value` is in a stored comma-separated eligibility list (empty = all).
pub fn eligible(list: &str, value: &str) -> bool {
    let mut items = list.split(',').map(str::trim).filter(|s| !s.is_empty()).peekable();
    items.peek().is_none() || items.any(|item| item == value)
}

/// Everything about a voucher's fit to this purchase except the amounts.
/// `buyer_is_member`: the buyer is an owner or staff of the offer's merchant.
pub fn check_voucher_fits(
    voucher: &VoucherForOrder,
    offer: &OfferForSale,
    buyer_is_member: bool,
    now: NaiveDateTime,
) -> AppResult<()> {
    if buyer_is_member {
        return Err(not_applicable(
            "members of a merchant cannot use vouchers at their own merchant",
        ));
    }
    if voucher.campaign_status != CampaignStatus::Active || now < voucher.starts_at || now >= voucher.ends_at {
        return Err(not_applicable("the voucher's campaign is not active"));
    }
    if !eligible(&voucher.eligible_categories, offer.category.as_str()) {
        return Err(not_applicable("the campaign does not cover this merchant's category"));
    }
    if !eligible(&voucher.eligible_districts, &offer.district) {
        return Err(not_applicable("the campaign does not cover this merchant's district"));
    }
    Ok(())
}

/// What a voucher takes off an order, and the gross it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discount {
    pub discount_fen: i64,
    pub min_spend_fen: i64,
}

impl VoucherForOrder {
    /// When it may be used (its batch's window, copied onto it).
    pub fn usable(&self) -> crate::vouchers::usable::UsableWindow {
        crate::vouchers::usable::UsableWindow::from_stored(
            &self.usable_weekdays,
            self.usable_from.as_deref(),
            self.usable_to.as_deref(),
        )
    }

    pub fn discount(&self) -> Discount {
        Discount {
            discount_fen: self.discount_fen,
            min_spend_fen: self.min_spend_fen,
        }
    }
}

/// An order's money, in fen: `payable_fen = gross_fen − subsidy_fen ≥ 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub gross_fen: i64,
    pub subsidy_fen: i64,
    pub payable_fen: i64,
}

/// The amounts of `quantity` at `price_fen`, with an optional discount; 422
/// `voucher_not_applicable` below the min spend or for a discount above the gross.
pub fn amounts(price_fen: i64, quantity: i64, discount: Option<Discount>) -> AppResult<Amounts> {
    let gross_fen = price_fen
        .checked_mul(quantity)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("gross overflows: {price_fen} x {quantity}")))?;
    let Some(discount) = discount else {
        return Ok(Amounts {
            gross_fen,
            subsidy_fen: 0,
            payable_fen: gross_fen,
        });
    };
    if gross_fen < discount.min_spend_fen {
        return Err(not_applicable("the order is below the voucher's minimum spend"));
    }
    match gross_fen.checked_sub(discount.discount_fen) {
        Some(payable_fen) if payable_fen >= 0 => Ok(Amounts {
            gross_fen,
            subsidy_fen: discount.discount_fen,
            payable_fen,
        }),
        _ => Err(not_applicable("the voucher's discount exceeds the order's value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Category;
    use crate::merchants::models::MerchantStatus;
    use crate::offers::models::OfferStatus;
    use crate::vouchers::status::VoucherStatus;
    use chrono::Duration;

    fn offer() -> OfferForSale {
        OfferForSale {
            id: 1,
            merchant_id: 2,
            price_fen: 10_000,
            stock: Some(5),
            status: OfferStatus::Active,
            merchant_status: MerchantStatus::Approved,
            category: Category::Cinema,
            district: "Yuexiu".to_owned(),
        }
    }

    fn voucher(now: NaiveDateTime) -> VoucherForOrder {
        VoucherForOrder {
            id: 3,
            campaign_id: 4,
            discount_fen: 2_000,
            min_spend_fen: 8_000,
            status: VoucherStatus::Available,
            expires_at: now + Duration::days(1),
            campaign_status: CampaignStatus::Active,
            starts_at: now - Duration::days(1),
            ends_at: now + Duration::days(1),
            eligible_categories: String::new(),
            eligible_districts: String::new(),
            usable_weekdays: String::new(),
            usable_from: None,
            usable_to: None,
        }
    }

    fn refused(result: AppResult<impl std::fmt::Debug>) -> bool {
        matches!(result, Err(e) if e.code() == Code::VoucherNotApplicable)
    }

    #[test]
    fn an_empty_eligibility_list_covers_everything() {
        assert!(eligible("", "cinema"));
        assert!(eligible(" , ", "cinema"));
        assert!(eligible("cinema,museum", "museum"));
        assert!(eligible("cinema, museum", "museum"));
        assert!(!eligible("cinema,museum", "dining"));
        assert!(!eligible("cinemas", "cinema"));
    }

    #[test]
    fn a_voucher_fits_an_eligible_offer_of_a_stranger() {
        let now = crate::time::now();
        assert!(check_voucher_fits(&voucher(now), &offer(), false, now).is_ok());
        let mut listed = voucher(now);
        listed.eligible_categories = "museum,cinema".to_owned();
        listed.eligible_districts = "Yuexiu".to_owned();
        assert!(check_voucher_fits(&listed, &offer(), false, now).is_ok());
    }

    #[test]
    fn eligibility_refuses_self_dealing_inactive_campaigns_and_other_places() {
        let now = crate::time::now();
        assert!(refused(check_voucher_fits(&voucher(now), &offer(), true, now)));
        for status in [CampaignStatus::Draft, CampaignStatus::Paused, CampaignStatus::Ended] {
            let mut v = voucher(now);
            v.campaign_status = status;
            assert!(refused(check_voucher_fits(&v, &offer(), false, now)), "{status}");
        }
        let mut early = voucher(now);
        early.starts_at = now + Duration::seconds(1);
        assert!(refused(check_voucher_fits(&early, &offer(), false, now)));
        let mut over = voucher(now);
        over.ends_at = now;
        assert!(
            refused(check_voucher_fits(&over, &offer(), false, now)),
            "ends_at is exclusive"
        );
        let mut elsewhere = voucher(now);
        elsewhere.eligible_categories = "museum".to_owned();
        assert!(refused(check_voucher_fits(&elsewhere, &offer(), false, now)));
        let mut other_district = voucher(now);
        other_district.eligible_districts = "Tianhe".to_owned();
        assert!(refused(check_voucher_fits(&other_district, &offer(), false, now)));
    }

    #[test]
    fn without_a_voucher_the_gross_is_payable() {
        let plain = amounts(2_500, 3, None).expect("amounts");
        assert_eq!(
            plain,
            Amounts {
                gross_fen: 7_500,
                subsidy_fen: 0,
                payable_fen: 7_500
            }
        );
    }

    #[test]
    fn the_min_spend_is_inclusive() {
        let discount = Discount {
            discount_fen: 2_000,
            min_spend_fen: 8_000,
        };
        assert!(refused(amounts(7_999, 1, Some(discount))));
        let at_min = amounts(4_000, 2, Some(discount)).expect("at the min spend");
        assert_eq!(
            at_min,
            Amounts {
                gross_fen: 8_000,
                subsidy_fen: 2_000,
                payable_fen: 6_000
            }
        );
    }

    #[test]
    fn a_discount_larger_than_the_gross_is_refused_never_negative() {
        let big = Discount {
            discount_fen: 5_000,
            min_spend_fen: 0,
        };
        assert!(refused(amounts(4_999, 1, Some(big))));
        let exact = amounts(5_000, 1, Some(big)).expect("discount equal to the gross");
        assert_eq!(exact.payable_fen, 0);
        assert_eq!(exact.subsidy_fen, 5_000);
    }

    #[test]
    fn an_overflowing_gross_is_an_error_not_a_wrap() {
        assert!(amounts(i64::MAX, 2, None).is_err());
    }
}
