//! The by-merchant rows of a campaign report as CSV: UTF-8 with a byte-order mark
//! (so spreadsheet programs read Chinese names as UTF-8), RFC 4180 quoting, fen as
//! integers, leverage with up to four decimals and empty when null.

use super::figures::{Breakdown, BreakdownKey};

const BOM: &str = "\u{feff}";
const HEADER: &str = "merchant_id,name,orders,consumption_fen,subsidy_fen,leverage";

/// Quotes a field when it holds a comma, quote or line break; quotes are doubled.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Up to four decimals, trailing zeros dropped: 10 → "10", 3.333333 → "3.3333".
fn leverage(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(v) => {
            let fixed = format!("{v:.4}");
            fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

pub fn by_merchant(rows: &[Breakdown]) -> String {
    let mut out = String::from(BOM);
    out.push_str(HEADER);
    out.push_str("\r\n");
    for row in rows {
        let BreakdownKey::Merchant { merchant_id, name } = &row.key else {
            continue;
        };
        out.push_str(&format!(
            "{merchant_id},{},{},{},{},{}\r\n",
            field(name),
            row.orders,
            row.consumption_fen,
            row.subsidy_fen,
            leverage(row.leverage)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting_and_formats_leverage() {
        let row = Breakdown {
            key: BreakdownKey::Merchant {
                merchant_id: 7,
                name: "书店, \"新华\"".to_owned(),
            },
            orders: 3,
            consumption_fen: 1000,
            subsidy_fen: 300,
            leverage: Some(1000.0 / 300.0),
        };
        let csv = by_merchant(&[row]);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("7,\"书店, \"\"新华\"\"\",3,1000,300,3.3333\r\n"));
        assert_eq!(leverage(Some(10.0)), "10");
        assert_eq!(leverage(Some(2.5)), "2.5");
        assert_eq!(leverage(None), "");
    }
}
