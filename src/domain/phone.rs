//! A mainland mobile number: exactly 11 ASCII digits matching `1[3-9]\d{9}`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, String> {
        let bytes = raw.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid {
            Ok(Phone(raw.to_owned()))
        } else {
            Err("must be an 11-digit mainland mobile number such as 13800138000".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Phone;

    #[test]
    fn accepts_mainland_mobiles_only() {
        assert!(Phone::parse("13800138000").is_ok());
        assert!(Phone::parse("19912345678").is_ok());
        for bad in [
            "12800138000",
            "1380013800",
            "138001380001",
            "+8613800138000",
            "1380013800a",
            "１３８００１３８０００",
            "",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
