//! A resident identity number (居民身份证号码, GB 11643): 17 digits, the first six the
//! region, the next eight the birth date, and a check character over ISO 7064
//! MOD 11-2 (`0`–`9` or `X`; a lowercase `x` is accepted and stored uppercase).

use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

impl IdNumber {
    pub fn parse(raw: &str) -> Result<IdNumber, String> {
        let upper = raw.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err("must be 18 characters: 17 digits and a check character".to_owned());
        }
        let birth = std::str::from_utf8(&bytes[6..14])
            .ok()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
        if birth.is_none() {
            return Err("has no valid birth date".to_owned());
        }
        if bytes[17] != check_char(&bytes[..17]) {
            return Err("has a wrong check character".to_owned());
        }
        Ok(IdNumber(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four characters, the only part ever stored in clear.
    pub fn last4(&self) -> &str {
        &self.0[14..]
    }
}

fn check_char(digits: &[u8]) -> u8 {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Completes 17 digits with their check character (for tests and demo data).
pub fn with_check_char(first17: &str) -> String {
    format!("{first17}{}", check_char(first17.as_bytes()) as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_check_character() {
        // The GB 11643 specimen number.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert!(IdNumber::parse("110105194912310021").is_err());
        assert!(IdNumber::parse("11010519491331002X").is_err(), "month 13");
        assert!(IdNumber::parse("1101051949123100").is_err());
        assert_eq!(with_check_char("11010519491231002"), "11010519491231002X");
        assert_eq!(
            IdNumber::parse("11010519491231002x").map(|n| n.last4().to_owned()),
            Ok("002X".to_owned())
        );
    }
}
