//! A merchant's contact number: 5–20 characters of digits, spaces and `-`, with an
//! optional leading `+` (landlines such as `0316-1234567` are common).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPhone(String);

impl ContactPhone {
    pub fn parse(raw: &str) -> Result<ContactPhone, String> {
        let trimmed = raw.trim();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let length = trimmed.chars().count();
        let valid = (5..=20).contains(&length)
            && body.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
            && body.chars().any(|c| c.is_ascii_digit());
        if valid {
            Ok(ContactPhone(trimmed.to_owned()))
        } else {
            Err("must be 5 to 20 characters of digits, spaces and '-', with an optional leading '+'".to_owned())
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ContactPhone;

    #[test]
    fn accepts_landlines_and_international_numbers() {
        assert!(ContactPhone::parse("0316-1234567").is_ok());
        assert!(ContactPhone::parse("+86 316 123 4567").is_ok());
        assert!(ContactPhone::parse("1234").is_err());
        assert!(ContactPhone::parse("12-34+5678").is_err());
        assert!(ContactPhone::parse("-----").is_err());
    }
}
