//! Request-body validation that names every offending field at once.
//!
//! Bodies arrive as a JSON object ([`JsonBody`]); a handler takes each field out of
//! a [`Form`] with a parser, and [`Form::finish`] answers 422 `validation_failed`
//! listing every field that failed, every required field that was missing, and every
//! unknown field under its own name, so a client can never set a field it may not
//! set. serde's `deny_unknown_fields` would stop at the first problem instead.

use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::error::{AppError, FieldErrors};

/// The extractor for bodies: `Content-Type: application/json` (else 415), at most
/// 1 MiB (else 413), valid JSON (else 400); see [`crate::http::json_config`].
pub type JsonBody = web::Json<Value>;

/// Largest integer a JSON number may carry without losing precision in clients.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

pub struct Form {
    fields: Map<String, Value>,
    errors: FieldErrors,
}

impl Form {
    /// Starts validating a body, which must be a JSON object.
    pub fn new(body: JsonBody) -> Result<Form, AppError> {
        match body.into_inner() {
            Value::Object(fields) => Ok(Form {
                fields,
                errors: FieldErrors::new(),
            }),
            _ => Err(AppError::field("body", "must be a JSON object")),
        }
    }

    fn record(&mut self, name: &str, message: String) {
        self.errors.entry(name.to_owned()).or_default().push(message);
    }

    /// A field that must be present and not null.
    pub fn required<T>(&mut self, name: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => {
                self.record(name, "is required".to_owned());
                None
            }
            Some(value) => self.parse(name, &value, parse),
        }
    }

    /// A field that may be absent or null (`Some(None)`); `None` means it was invalid.
    pub fn optional<T>(&mut self, name: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<Option<T>> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => self.parse(name, &value, parse).map(Some),
        }
    }

    /// A PATCH field: absent (`Patch::Keep`), null (`Patch::Set(None)`), or a value.
    /// `None` means it was invalid.
    pub fn patch<T>(&mut self, name: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<Patch<T>> {
        match self.fields.remove(name) {
            None => Some(Patch::Keep),
            Some(Value::Null) => Some(Patch::Set(None)),
            Some(value) => self.parse(name, &value, parse).map(|v| Patch::Set(Some(v))),
        }
    }

    fn parse<T>(&mut self, name: &str, value: &Value, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.record(name, message);
                None
            }
        }
    }

    /// Adds an error found by a cross-field rule (say, `ends_at` before `starts_at`).
    pub fn reject(&mut self, name: &str, message: impl Into<String>) {
        self.record(name, message.into());
    }

    /// Ends validation: fails with every error found, unknown fields included.
    pub fn finish(mut self) -> Result<(), AppError> {
        let unknown: Vec<String> = self.fields.keys().cloned().collect();
        for name in unknown {
            self.record(&name, "unknown field".to_owned());
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}

/// A PATCH field's instruction.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    Keep,
    Set(Option<T>),
}

/// Turns the fields a handler took out of a finished [`Form`] into values; any
/// `None` left after `finish()` succeeded is a bug in that handler, not bad input.
pub fn present<T>(value: Option<T>) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::Internal(anyhow::anyhow!("form field missing after validation")))
}

// ---- value parsers, composed by handlers with the domain types' `parse` ----

/// A string without NUL characters: PostgreSQL cannot store them (the statement
/// fails), so they are refused here, on both engines, as bad input.
pub fn string(value: &Value) -> Result<&str, String> {
    let text = value.as_str().ok_or_else(|| "must be a string".to_owned())?;
    if text.contains('\0') {
        return Err("must not contain NUL characters".to_owned());
    }
    Ok(text)
}

/// An integer within ±(2^53 − 1): no fractions, no strings, nothing clients can't hold.
/// `42.0` is the integer 42, as JSON Schema (and so the OpenAPI document) counts it.
pub fn integer(value: &Value) -> Result<i64, String> {
    const SAFE: std::ops::RangeInclusive<i64> = -MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER;
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if SAFE.contains(&i) => Ok(i),
            (Some(_), _) => Err("is out of range".to_owned()),
            (None, Some(f)) if n.is_f64() && f.fract() != 0.0 => Err("must be a whole number".to_owned()),
            // Whole and within the safe range, so the cast is exact.
            (None, Some(f)) if n.is_f64() && f.abs() <= MAX_SAFE_INTEGER as f64 => Ok(f as i64),
            _ => Err("is out of range".to_owned()),
        },
        _ => Err("must be an integer".to_owned()),
    }
}

/// An integer in `min..=max`.
pub fn integer_in(value: &Value, min: i64, max: i64) -> Result<i64, String> {
    let i = integer(value)?;
    if (min..=max).contains(&i) {
        Ok(i)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

pub fn boolean(value: &Value) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| "must be true or false".to_owned())
}

/// A JSON number (integer or fraction).
pub fn number(value: &Value) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| "must be a number".to_owned())
}

/// An RFC 3339 timestamp with an offset, returned as naive UTC (how it is stored).
pub fn timestamp(value: &Value) -> Result<NaiveDateTime, String> {
    let text = string(value)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .map_err(|_| "must be an RFC 3339 timestamp such as 2026-11-26T02:00:00Z".to_owned())
}

/// Trimmed text of `min..=max` Unicode characters.
pub fn text(value: &Value, min: usize, max: usize) -> Result<String, String> {
    let trimmed = string(value)?.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        if min == 0 {
            return Err(format!("must be at most {max} characters"));
        }
        return Err(format!("must be {min} to {max} characters"));
    }
    Ok(trimmed.to_owned())
}

/// A list of strings, each one of `allowed`; duplicates are folded.
pub fn choice_list(value: &Value, allowed: &[&str]) -> Result<Vec<String>, String> {
    let items = value.as_array().ok_or_else(|| "must be a list of strings".to_owned())?;
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let s = choice(item, allowed)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// A list of distinct values of a closed vocabulary (a `text_enum!`, whose `NAMES`
/// are `names`), in the order given; the errors are those of [`choice_list`].
pub fn vocabulary_list<T: std::str::FromStr>(value: &Value, names: &[&str]) -> Result<Vec<T>, String> {
    choice_list(value, names)?
        .iter()
        .map(|text| {
            text.parse()
                .map_err(|_| format!("must be one of: {}", names.join(", ")))
        })
        .collect()
}

/// One string out of `allowed`; the error names the allowed values.
pub fn choice(value: &Value, allowed: &[&str]) -> Result<String, String> {
    let s = string(value)?;
    if allowed.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(format!("must be one of: {}", allowed.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(value: Value) -> Form {
        Form::new(web::Json(value)).expect("an object")
    }

    #[test]
    fn names_every_bad_missing_and_unknown_field() {
        let mut f = form(json!({"a": "x", "role": "admin", "n": 1.5}));
        let _ = f.required("a", integer);
        let _ = f.required("b", |v| string(v).map(str::to_owned));
        let _ = f.required("n", integer);
        let Err(AppError::Validation(errors)) = f.finish() else {
            panic!("expected a validation error")
        };
        let names: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(names, ["a", "b", "n", "role"]);
    }

    #[test]
    fn integers_refuse_fractions_strings_and_unsafe_magnitudes() {
        assert_eq!(integer(&json!(42)), Ok(42));
        assert!(integer(&json!(1.5)).is_err());
        assert_eq!(integer(&json!(42.0)), Ok(42));
        assert_eq!(integer(&json!(-7.0)), Ok(-7));
        assert!(integer(&json!(9007199254740994.0)).is_err());
        assert!(integer(&json!("42")).is_err());
        assert!(integer(&json!(9007199254740993_i64)).is_err());
        assert!(integer(&json!(18446744073709551615_u64)).is_err());
        assert!(integer(&json!(1e300)).is_err());
    }

    #[test]
    fn text_is_trimmed_and_counted_in_characters() {
        assert_eq!(text(&json!("  书店  "), 1, 2), Ok("书店".to_owned()));
        assert!(text(&json!("   "), 1, 5).is_err());
        assert!(text(&json!("书店书"), 1, 2).is_err());
        assert!(text(&json!("书\u{0}店"), 1, 5).is_err());
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let mut f = form(json!({"stock": null}));
        assert_eq!(f.patch("stock", integer), Some(Patch::Set(None)));
        assert_eq!(f.patch("title", integer), Some(Patch::Keep));
    }

    #[test]
    fn timestamps_need_an_offset() {
        assert!(timestamp(&json!("2026-11-26T02:00:00Z")).is_ok());
        assert!(timestamp(&json!("2026-11-26T10:00:00+08:00")).is_ok());
        assert!(timestamp(&json!("2026-11-26 02:00:00")).is_err());
        assert!(timestamp(&json!(12)).is_err());
    }
}
