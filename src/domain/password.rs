//! A password of 8 to 128 characters. Longer ones are refused before hashing, so a
//! megabyte "password" cannot buy a megabyte of argon2 work.

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: &str) -> Result<Password, String> {
        let length = raw.chars().count();
        if (8..=128).contains(&length) {
            Ok(Password(SecretString::from(raw.to_owned())))
        } else {
            Err("must be 8 to 128 characters".to_owned())
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn length_is_counted_in_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"密".repeat(128)).is_ok());
        assert!(Password::parse(&"a".repeat(129)).is_err());
    }
}
