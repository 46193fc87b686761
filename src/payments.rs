//! Payment providers: who moves the resident's money, behind one trait.
//!
//! The order logic never talks to a provider's API. It asks a [`PaymentProvider`]
//! to start a charge or a refund and gets back a [`ProviderAnswer`]: the provider's
//! reference for the movement and whether it is already confirmed. Every movement
//! is recorded as a row of `payments` (provider, reference, amount, kind, status,
//! times) in the same transaction as the order's state change, so the books and the
//! order can never disagree, whatever crashes.
//!
//! The built-in `sandbox` provider confirms everything at once. A real provider
//! (WeChat Pay, Alipay, UnionPay) answers `Pending` and later posts a signed
//! notification; its implementation verifies the signature and hands the
//! reference to `orders::repo::settle_payment`, which makes the same state change
//! the sandbox makes immediately (README.md, "Payments", says how to add one).

use rand::RngCore;

use crate::config::PaymentSettings;

crate::text_enum! {
    /// What a movement of money is for (`payments.kind`).
    pub enum PaymentKind {
        Payment = "payment",
        Refund = "refund",
    }
}

crate::text_enum! {
    /// Where a recorded movement of money stands (`payments.status`).
    pub enum PaymentStatus {
        /// Asked for; the provider will tell us (a signed notification).
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

/// The provider's word on a movement it was asked to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    /// The money moved; the order may change state now.
    Confirmed,
    /// The provider will tell us later (a signed notification).
    Pending,
}

impl ProviderStatus {
    /// The `payments.status` a fresh row gets.
    pub fn row_status(self) -> PaymentStatus {
        match self {
            ProviderStatus::Confirmed => PaymentStatus::Succeeded,
            ProviderStatus::Pending => PaymentStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAnswer {
    /// The provider's identifier of this movement; unique per provider.
    pub reference: String,
    pub status: ProviderStatus,
}

/// What the provider is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct MoneyMovement {
    pub order_id: i64,
    pub amount_fen: i64,
    pub kind: PaymentKind,
}

/// A payment service. Implementations are called outside any database
/// transaction (a real one makes a network call) and must not touch the database.
pub trait PaymentProvider: Send + Sync {
    /// The name stored in `payments.provider` (and used in config `payments.provider`).
    fn name(&self) -> &'static str;

    /// Starts a charge or a refund of `movement.amount_fen`.
    fn start(&self, movement: &MoneyMovement) -> anyhow::Result<ProviderAnswer>;
}

/// Confirms every movement at once; for development, tests and demonstrations.
#[derive(Debug, Default)]
pub struct Sandbox;

impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn start(&self, movement: &MoneyMovement) -> anyhow::Result<ProviderAnswer> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        Ok(ProviderAnswer {
            reference: format!(
                "sbx-{}-{}-{}",
                movement.kind.as_str(),
                movement.order_id,
                hex::encode(nonce)
            ),
            status: ProviderStatus::Confirmed,
        })
    }
}

/// The provider named by config `payments.provider` (checked at start-up).
pub fn from_settings(settings: &PaymentSettings) -> anyhow::Result<Box<dyn PaymentProvider>> {
    match settings.provider.as_str() {
        "sandbox" => Ok(Box::new(Sandbox)),
        other => anyhow::bail!("payments.provider {other:?} is unknown (known: sandbox)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_confirms_at_once_with_fresh_references() {
        let movement = MoneyMovement {
            order_id: 7,
            amount_fen: 12_000,
            kind: PaymentKind::Payment,
        };
        let a = Sandbox.start(&movement).expect("sandbox answers");
        let b = Sandbox.start(&movement).expect("sandbox answers");
        assert_eq!(a.status, ProviderStatus::Confirmed);
        assert!(a.reference.starts_with("sbx-payment-7-"));
        assert_ne!(a.reference, b.reference);
    }
}
