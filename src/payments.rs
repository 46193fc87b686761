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
//!
//! The provider is called outside the order's transaction, so two guards keep a
//! retried or doubled request from moving money twice: the order is claimed first
//! (`orders.money_in_flight_at`, a conditional UPDATE: one movement per order at a
//! time), and our reference is derived from the order ([`MoneyMovement::reference`])
//! so a real provider deduplicates whatever slips through.

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

impl MoneyMovement {
    /// Our reference for the movement, derived from the order (`pay-<order_id>`,
    /// `refund-<order_id>`): asked twice, a real provider (which deduplicates on
    /// the merchant's reference: WeChat Pay's `out_trade_no`, Alipay's
    /// `out_trade_no` / `out_request_no`) moves the money once. An order is paid at
    /// most once and refunded at most once, so one reference per kind suffices.
    pub fn reference(&self) -> String {
        let prefix = match self.kind {
            PaymentKind::Payment => "pay",
            refund => refund.as_str(),
        };
        format!("{prefix}-{}", self.order_id)
    }
}

/// A payment service. Implementations are called outside any database
/// transaction (a real one makes a network call) and must not touch the database.
pub trait PaymentProvider: Send + Sync {
    /// The name stored in `payments.provider` (and used in config `payments.provider`).
    fn name(&self) -> &'static str;

    /// Starts a charge or a refund of `movement.amount_fen`.
    fn start(&self, movement: &MoneyMovement) -> anyhow::Result<ProviderAnswer>;
}

/// Confirms every movement at once; for development, tests and demonstrations. Its
/// answer's reference is ours (`sbx-pay-<order_id>`). `delay` (config
/// `payments.sandbox_delay_ms`) imitates a provider's network round trip, so tests
/// can race calls; every call is counted per reference ([`sandbox_calls`]).
#[derive(Debug, Default)]
pub struct Sandbox {
    pub delay: std::time::Duration,
}

/// Calls the sandbox received, by our reference: the test hook that shows how many
/// requests reached the provider.
static SANDBOX_CALLS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, u64>>> =
    std::sync::LazyLock::new(Default::default);

/// How many times any sandbox in this process was asked to move money under `reference`.
pub fn sandbox_calls(reference: &str) -> u64 {
    let calls = SANDBOX_CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    calls.get(reference).copied().unwrap_or(0)
}

impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn start(&self, movement: &MoneyMovement) -> anyhow::Result<ProviderAnswer> {
        let reference = movement.reference();
        {
            let mut calls = SANDBOX_CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *calls.entry(reference.clone()).or_default() += 1;
        }
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        Ok(ProviderAnswer {
            reference: format!("sbx-{reference}"),
            status: ProviderStatus::Confirmed,
        })
    }
}

/// The provider named by config `payments.provider` (checked at start-up).
pub fn from_settings(settings: &PaymentSettings) -> anyhow::Result<Box<dyn PaymentProvider>> {
    match settings.provider.as_str() {
        "sandbox" => Ok(Box::new(Sandbox {
            delay: std::time::Duration::from_millis(settings.sandbox_delay_ms),
        })),
        other => anyhow::bail!("payments.provider {other:?} is unknown (known: sandbox)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_confirms_at_once_under_the_order_derived_reference() {
        let movement = MoneyMovement {
            order_id: -7,
            amount_fen: 12_000,
            kind: PaymentKind::Payment,
        };
        let before = sandbox_calls("pay--7");
        let a = Sandbox::default().start(&movement).expect("sandbox answers");
        assert_eq!(a.status, ProviderStatus::Confirmed);
        assert_eq!(a.reference, "sbx-pay--7");
        assert_eq!(sandbox_calls("pay--7"), before + 1);
        let refund = MoneyMovement {
            kind: PaymentKind::Refund,
            ..movement
        };
        assert_eq!(refund.reference(), "refund--7");
    }
}
