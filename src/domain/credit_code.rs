//! A unified social credit code (统一社会信用代码, GB 32100): 18 characters over the
//! 31-character alphabet below (no I, O, S, V, Z); the last is a check character
//! over the first 17 with weights 3^i mod 31.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

fn check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    Some(ALPHABET[((31 - sum % 31) % 31) as usize])
}

impl CreditCode {
    pub fn parse(raw: &str) -> Result<CreditCode, String> {
        let upper = raw.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() != 18 || !bytes.iter().all(|&c| value(c).is_some()) {
            return Err("must be 18 characters of 0-9 and A-Y without I, O, S, V, Z".to_owned());
        }
        if check_char(&bytes[..17]) != Some(bytes[17]) {
            return Err("has a wrong check character".to_owned());
        }
        Ok(CreditCode(upper))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Completes 17 characters with their check character (for tests and demo data).
pub fn with_check_char(first17: &str) -> Option<String> {
    check_char(first17.as_bytes()).map(|c| format!("{first17}{}", c as char))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_check_character() {
        // Published codes: the standard's example and a listed company.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert!(CreditCode::parse("91110000802100433B").is_ok());
        assert!(CreditCode::parse("91350100M000100Y44").is_err());
        assert!(CreditCode::parse("91350100M000100I43").is_err());
        assert!(CreditCode::parse("9135").is_err());
        assert_eq!(
            with_check_char("91350100M000100Y4").as_deref(),
            Some("91350100M000100Y43")
        );
    }
}
