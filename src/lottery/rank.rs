//! The ranking rule of a draw, `hmac-sha256-rank-v1` (API.md, Fair release): every
//! entry is ranked by the lowercase hex of HMAC-SHA256(key = the seed's 32 bytes,
//! message = the ASCII decimal `entry_no`), ascending; the first `quantity` win.
//!
//! This is the whole algorithm: the README shows the same rule in ten lines of
//! Python, and `wenlv verify-draw` calls these functions. Comparing the raw digests
//! byte by byte orders them exactly as comparing their lowercase hex does (hex keeps
//! byte order), so no strings are made for the sort.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The algorithm's published name.
pub const ALGORITHM: &str = "hmac-sha256-rank-v1";

/// HMAC-SHA256 of the decimal `entry_no` under `seed`: the entry's rank key.
pub fn rank_key(seed: &[u8; 32], entry_no: i64) -> [u8; 32] {
    // A 32-byte key is always accepted by HMAC.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed).expect("HMAC takes a key of any length");
    mac.update(entry_no.to_string().as_bytes());
    mac.finalize().into_bytes().into()
}

/// The winning entry numbers, ascending, of a draw over entries `1..=entries` with
/// `quantity` prizes (every entry wins when fewer entered).
pub fn winners(seed: &[u8; 32], entries: i64, quantity: i64) -> Vec<i64> {
    let entries = entries.max(0);
    let quantity = quantity.clamp(0, entries) as usize;
    let mut ranked: Vec<([u8; 32], i64)> = (1..=entries).map(|n| (rank_key(seed, n), n)).collect();
    if quantity < ranked.len() {
        // Only the first `quantity` need to be found, not the whole order.
        ranked.select_nth_unstable(quantity);
        ranked.truncate(quantity);
    }
    let mut won: Vec<i64> = ranked.into_iter().map(|(_, n)| n).collect();
    won.sort_unstable();
    won
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_keys_win_and_come_back_in_entry_order() {
        let seed = [7u8; 32];
        let mut all: Vec<(String, i64)> = (1..=50).map(|n| (hex::encode(rank_key(&seed, n)), n)).collect();
        all.sort();
        let mut expected: Vec<i64> = all.iter().take(12).map(|(_, n)| *n).collect();
        expected.sort_unstable();
        assert_eq!(winners(&seed, 50, 12), expected);
        assert_eq!(
            winners(&seed, 5, 12),
            vec![1, 2, 3, 4, 5],
            "fewer entries than prizes: all win"
        );
        assert!(winners(&seed, 0, 3).is_empty());
    }

    #[test]
    fn the_key_is_hmac_sha256_of_the_decimal_entry_number() {
        // An independent value: HMAC-SHA256 with a key of 32 zero bytes over "1", from
        // Python's `hmac.new(bytes(32), b"1", hashlib.sha256).hexdigest()`.
        assert_eq!(
            hex::encode(rank_key(&[0u8; 32], 1)),
            "41e0a9448f91edba4b05c6c2fc0edb1d6418aa292b5b2942637bec43a29b9523"
        );
    }
}
