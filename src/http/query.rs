//! Query-string validation: unknown parameters are ignored, but an unknown value of
//! a known one (`status=bogus`, `limit=0`, a bad cursor) is 422 naming the parameter.

use std::collections::HashMap;

use actix_web::web;

use super::{decode_cursor, PageRequest};
use crate::error::{AppError, FieldErrors};

/// The extractor for list endpoints' query strings.
pub type QueryMap = web::Query<HashMap<String, String>>;

pub struct QueryForm {
    params: HashMap<String, String>,
    errors: FieldErrors,
}

impl QueryForm {
    pub fn new(query: QueryMap) -> QueryForm {
        QueryForm {
            params: query.into_inner(),
            errors: FieldErrors::new(),
        }
    }

    fn reject(&mut self, name: &str, message: String) {
        self.errors.entry(name.to_owned()).or_default().push(message);
    }

    /// A parameter's raw value; an empty value counts as absent.
    fn raw(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// `limit` (1–100, default 20) and `cursor`.
    pub fn page(&mut self) -> PageRequest {
        let limit = match self.raw("limit").map(str::parse::<i64>) {
            None => 20,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            Some(_) => {
                self.reject("limit", "must be an integer from 1 to 100".to_owned());
                20
            }
        };
        let after = match self.raw("cursor") {
            None => None,
            Some(c) => match decode_cursor(c) {
                Some(key) => Some(key),
                None => {
                    self.reject("cursor", "is not a cursor this service gave out".to_owned());
                    None
                }
            },
        };
        PageRequest { limit, after }
    }

    /// An optional parameter restricted to `allowed` values.
    pub fn choice(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let value = self.raw(name)?.to_owned();
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.reject(name, format!("must be one of: {}", allowed.join(", ")));
            None
        }
    }

    /// An optional parameter naming a variant of a closed vocabulary (a
    /// `text_enum!`, whose `NAMES` are `names`): `status=bogus` is 422 listing them.
    pub fn one_of<T: std::str::FromStr>(&mut self, name: &str, names: &[&str]) -> Option<T> {
        self.choice(name, names).and_then(|value| value.parse().ok())
    }

    /// An optional id or other integer parameter.
    pub fn integer(&mut self, name: &str) -> Option<i64> {
        let value = self.raw(name)?;
        match value.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.reject(name, "must be an integer".to_owned());
                None
            }
        }
    }

    /// Optional free text of at most `max` characters, trimmed; empty counts as absent.
    /// NUL characters are refused (PostgreSQL cannot take them in a statement).
    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        let value = self.params.get(name)?.trim().to_owned();
        if value.contains('\0') {
            self.reject(name, "must not contain NUL characters".to_owned());
            return None;
        }
        if value.chars().count() > max {
            self.reject(name, format!("must be at most {max} characters"));
            return None;
        }
        Some(value).filter(|v| !v.is_empty())
    }

    /// An optional RFC 3339 timestamp, as naive UTC.
    pub fn timestamp(&mut self, name: &str) -> Option<chrono::NaiveDateTime> {
        let value = self.raw(name)?.to_owned();
        match super::form::timestamp(&serde_json::Value::String(value)) {
            Ok(t) => Some(t),
            Err(message) => {
                self.reject(name, message);
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}
