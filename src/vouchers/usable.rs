//! When a voucher may be used in a new order: on some ISO weekdays (1 = Monday ..
//! 7) and inside a platform-local hours window `[from, to)` (API.md, Fair release:
//! pacing). Both are set on the batch; each voucher carries a copy, as it carries
//! its discount, so checkout reads the voucher row only.
//!
//! Stored as TEXT: the weekdays comma-separated (empty = every day), the hours as
//! `HH:MM` (both NULL = all day). A window is checked against the platform-local
//! time of the order ([`UsableWindow::allows`]); a voucher used outside it is 422
//! `voucher_not_usable_now`, checked after `voucher_not_applicable`.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;

/// Every ISO weekday, Monday first.
const ALL_WEEKDAYS: [u8; 7] = [1, 2, 3, 4, 5, 6, 7];

/// A platform-local time-of-day window `[from, to)`, minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub from: u16,
    pub to: u16,
}

impl Hours {
    /// `HH:MM` of a minute of the day.
    fn text(minutes: u16) -> String {
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }

    pub fn from_text(&self) -> String {
        Hours::text(self.from)
    }

    pub fn to_text(&self) -> String {
        Hours::text(self.to)
    }
}

/// When a batch's vouchers may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsableWindow {
    /// The ISO weekdays allowed, ascending, distinct; empty means every day.
    weekdays: Vec<u8>,
    pub hours: Option<Hours>,
}

impl Default for UsableWindow {
    /// Any day, any time.
    fn default() -> Self {
        UsableWindow {
            weekdays: Vec::new(),
            hours: None,
        }
    }
}

impl UsableWindow {
    /// A window from validated parts; `weekdays` covering all seven is stored as
    /// "every day".
    pub fn new(mut weekdays: Vec<u8>, hours: Option<Hours>) -> UsableWindow {
        weekdays.sort_unstable();
        weekdays.dedup();
        if weekdays == ALL_WEEKDAYS {
            weekdays.clear();
        }
        UsableWindow { weekdays, hours }
    }

    /// The window as stored in a batch or voucher row. The texts were written by
    /// [`UsableWindow::stored_weekdays`] and [`Hours`]; anything unreadable is
    /// treated as no restriction rather than making a voucher unusable.
    pub fn from_stored(weekdays: &str, from: Option<&str>, to: Option<&str>) -> UsableWindow {
        let days = weekdays
            .split(',')
            .filter_map(|d| d.trim().parse::<u8>().ok())
            .filter(|d| ALL_WEEKDAYS.contains(d))
            .collect();
        let hours = match (from.and_then(minute_of_day), to.and_then(minute_of_day)) {
            (Some(from), Some(to)) if from < to => Some(Hours { from, to }),
            _ => None,
        };
        UsableWindow::new(days, hours)
    }

    /// The stored text of the weekdays (empty = every day).
    pub fn stored_weekdays(&self) -> String {
        self.weekdays.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
    }

    /// The weekdays a voucher may be used on, as the API shows them: all seven when
    /// unrestricted.
    pub fn weekdays(&self) -> Vec<u8> {
        if self.weekdays.is_empty() {
            ALL_WEEKDAYS.to_vec()
        } else {
            self.weekdays.clone()
        }
    }

    /// Whether a voucher may be used at `local`, a platform-local time.
    pub fn allows(&self, local: NaiveDateTime) -> bool {
        let weekday = local.weekday().number_from_monday() as u8;
        if !self.weekdays.is_empty() && !self.weekdays.contains(&weekday) {
            return false;
        }
        match self.hours {
            None => true,
            Some(Hours { from, to }) => {
                let minute = (local.hour() * 60 + local.minute()) as u16;
                minute >= from && minute < to
            }
        }
    }
}

/// `HH:MM` (00:00 to 23:59, or 24:00 as the end of the day) as minutes after midnight.
fn minute_of_day(text: &str) -> Option<u16> {
    if text == "24:00" {
        return Some(24 * 60);
    }
    if text.len() != 5 {
        return None;
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
    Some((time.hour() * 60 + time.minute()) as u16)
}

/// Request field `usable_weekdays`: a non-empty list of ISO weekdays 1..7.
pub fn parse_weekdays(value: &Value) -> Result<Vec<u8>, String> {
    const MESSAGE: &str = "must be a non-empty list of ISO weekdays, 1 (Monday) to 7 (Sunday)";
    let items = value.as_array().ok_or_else(|| MESSAGE.to_owned())?;
    if items.is_empty() {
        return Err(MESSAGE.to_owned());
    }
    items
        .iter()
        .map(|item| {
            item.as_i64()
                .filter(|d| (1..=7).contains(d))
                .map(|d| d as u8)
                .ok_or_else(|| MESSAGE.to_owned())
        })
        .collect()
}

/// Request field `usable_hours`: `{"from": "HH:MM", "to": "HH:MM"}` with `from` < `to`
/// (`to` may be `24:00`).
pub fn parse_hours(value: &Value) -> Result<Hours, String> {
    const SHAPE: &str = "must be an object {\"from\": \"HH:MM\", \"to\": \"HH:MM\"}";
    let object = value.as_object().ok_or_else(|| SHAPE.to_owned())?;
    if object.keys().any(|k| k != "from" && k != "to") {
        return Err(SHAPE.to_owned());
    }
    let read = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .and_then(minute_of_day)
            .ok_or_else(|| SHAPE.to_owned())
    };
    let (from, to) = (read("from")?, read("to")?);
    if from >= 24 * 60 {
        return Err(SHAPE.to_owned());
    }
    if from >= to {
        return Err("from must be before to".to_owned());
    }
    Ok(Hours { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|day| day.and_hms_opt(h, min, 0))
            .expect("a valid time")
    }

    #[test]
    fn weekdays_and_hours_bound_the_window() {
        // 2026-12-05 is a Saturday.
        let weekend = UsableWindow::new(
            vec![7, 6],
            Some(Hours {
                from: 9 * 60,
                to: 21 * 60,
            }),
        );
        assert!(weekend.allows(at(2026, 12, 5, 9, 0)));
        assert!(weekend.allows(at(2026, 12, 6, 20, 59)));
        assert!(!weekend.allows(at(2026, 12, 5, 21, 0)), "to is exclusive");
        assert!(!weekend.allows(at(2026, 12, 5, 8, 59)));
        assert!(!weekend.allows(at(2026, 12, 7, 12, 0)), "Monday");
        assert_eq!(weekend.weekdays(), vec![6, 7]);
        assert!(UsableWindow::default().allows(at(2026, 12, 7, 3, 0)));
        assert_eq!(UsableWindow::default().weekdays(), ALL_WEEKDAYS.to_vec());
    }

    #[test]
    fn the_stored_form_reads_back() {
        let window = UsableWindow::new(vec![1, 3, 3, 5], Some(Hours { from: 30, to: 24 * 60 }));
        let hours = window.hours.expect("hours");
        let back = UsableWindow::from_stored(
            &window.stored_weekdays(),
            Some(&hours.from_text()),
            Some(&hours.to_text()),
        );
        assert_eq!(back, window);
        assert_eq!(window.stored_weekdays(), "1,3,5");
        assert_eq!(hours.from_text(), "00:30");
        assert_eq!(hours.to_text(), "24:00");
        assert_eq!(UsableWindow::new(ALL_WEEKDAYS.to_vec(), None).stored_weekdays(), "");
    }

    #[test]
    fn request_fields_are_checked() {
        assert_eq!(parse_weekdays(&json!([5, 1, 5])), Ok(vec![5, 1, 5]));
        assert!(parse_weekdays(&json!([])).is_err());
        assert!(parse_weekdays(&json!([0])).is_err());
        assert!(parse_weekdays(&json!([8])).is_err());
        assert!(parse_weekdays(&json!(["1"])).is_err());
        assert_eq!(
            parse_hours(&json!({"from": "09:00", "to": "21:30"})),
            Ok(Hours { from: 540, to: 1290 })
        );
        assert!(parse_hours(&json!({"from": "21:00", "to": "09:00"})).is_err());
        assert!(parse_hours(&json!({"from": "09:00", "to": "09:00"})).is_err());
        assert!(parse_hours(&json!({"from": "9:00", "to": "10:00"})).is_err());
        assert!(parse_hours(&json!({"from": "24:00", "to": "24:00"})).is_err());
        assert!(parse_hours(&json!({"from": "09:00"})).is_err());
        assert!(parse_hours(&json!({"from": "09:00", "to": "10:00", "x": 1})).is_err());
        assert!(parse_hours(&json!("09:00-10:00")).is_err());
    }
}
