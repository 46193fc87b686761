//! A lottery batch's secret seed and its public commitment (API.md, Fair release).
//!
//! At batch creation the service draws 32 bytes from the operating system's CSPRNG
//! and publishes `commitment` = hex SHA-256 of those bytes. The seed itself stays
//! secret until the draw, then is published, so anyone can check it against the
//! commitment and recompute the winners: nobody (the operator included) can pick a
//! seed after seeing the entries.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The 32 secret bytes of one batch's draw.
#[derive(Clone, PartialEq, Eq)]
pub struct DrawSeed([u8; 32]);

impl std::fmt::Debug for DrawSeed {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DrawSeed(…)")
    }
}

impl DrawSeed {
    /// A fresh seed from the OS's CSPRNG.
    pub fn generate() -> DrawSeed {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        DrawSeed(bytes)
    }

    /// A seed from chosen bytes: only for the demo, whose city (and so whose
    /// winners) must come out the same on every run; a real batch's seed is
    /// always `generate`d.
    pub fn from_bytes(bytes: [u8; 32]) -> DrawSeed {
        DrawSeed(bytes)
    }

    /// A seed from its stored hex; `None` unless it is 64 hex digits.
    pub fn from_hex(text: &str) -> Option<DrawSeed> {
        let bytes = hex::decode(text).ok()?;
        Some(DrawSeed(bytes.try_into().ok()?))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex of the 32 bytes, as stored and (after the draw) published.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Lowercase hex of SHA-256 of the 32 bytes: what is published before the draw.
    pub fn commitment(&self) -> String {
        commitment_of(&self.0)
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn commitment_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_matches_its_commitment_and_round_trips() {
        let seed = DrawSeed::generate();
        assert_eq!(DrawSeed::from_hex(&seed.to_hex()), Some(seed.clone()));
        assert_eq!(seed.commitment().len(), 64);
        assert_ne!(DrawSeed::generate(), seed, "fresh randomness each time");
        // SHA-256 of 32 zero bytes, from any other implementation.
        assert_eq!(
            commitment_of(&[0u8; 32]),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert_eq!(DrawSeed::from_hex("00"), None);
        assert_eq!(format!("{seed:?}"), "DrawSeed(…)");
    }
}
