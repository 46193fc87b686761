//! Real-name verification: whether a resident identity number belongs to the
//! person who names it, behind one trait.
//!
//! The GB 11643 check character (`domain::IdNumber`) only proves a number is well
//! formed: anyone can type a real person's number and squat it. A deployment plugs
//! a real verification service (the public security bureau's name-and-number
//! check, or a licensed intermediary) in here; `accounts` asks the configured
//! [`IdentityVerifier`] before binding an identity, and an administrator can
//! release a disputed binding (`POST /admin/identities/release`).
//!
//! The built-in `sandbox` verifier (config `identity.provider = "sandbox"`)
//! accepts every checksum-valid number: development, tests and demos only.

use crate::config::IdentitySettings;
use crate::domain::IdNumber;

/// What a verification service says about a name and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The number exists and belongs to that name.
    Verified,
    /// The service did not confirm them (the reason is shown to the caller).
    Rejected(String),
}

/// A real-name verification service. Calls may block (network): the handler runs
/// them off the async threads.
pub trait IdentityVerifier: Send + Sync {
    /// The provider's name, as configured.
    fn name(&self) -> &'static str;
    /// Checks `name` against `id_number` (already checksum-valid). An `Err` is the
    /// service being unreachable, answered 503, never a rejection.
    fn verify(&self, name: &str, id_number: &IdNumber) -> anyhow::Result<Verdict>;
}

/// Accepts every checksum-valid number.
pub struct Sandbox;

impl IdentityVerifier for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn verify(&self, _name: &str, _id_number: &IdNumber) -> anyhow::Result<Verdict> {
        Ok(Verdict::Verified)
    }
}

/// The verifier named by config `identity.provider`.
pub fn from_settings(settings: &IdentitySettings) -> anyhow::Result<Box<dyn IdentityVerifier>> {
    match settings.provider.as_str() {
        "sandbox" => Ok(Box::new(Sandbox)),
        other => anyhow::bail!("identity.provider {other:?} is unknown (known: sandbox)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_accepts_checksum_valid_numbers_and_unknown_providers_are_refused() {
        let verifier = from_settings(&IdentitySettings {
            provider: "sandbox".to_owned(),
        })
        .expect("sandbox");
        let number = IdNumber::parse("11010519491231002X").expect("valid");
        assert_eq!(verifier.verify("王小明", &number).expect("answers"), Verdict::Verified);
        assert!(from_settings(&IdentitySettings {
            provider: "police".to_owned()
        })
        .is_err());
    }
}
