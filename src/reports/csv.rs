//! The by-merchant rows of a campaign report as CSV: UTF-8 with a byte-order mark
//! (so spreadsheet programs read Chinese names as UTF-8), RFC 4180 quoting, fen as
//! integers, leverage with up to four decimals and empty when null; a name that
//! would start a spreadsheet formula is prefixed with `'`.

use super::figures::{Breakdown, BreakdownKey};
use crate::http::csv::{Cell, CsvWriter};

const HEADER: [&str; 6] = [
    "merchant_id",
    "name",
    "orders",
    "consumption_fen",
    "subsidy_fen",
    "leverage",
];

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

/// The merchant's name is the only text cell (neutralised against formulas by
/// [`crate::http::csv`]); ids, counts, fen and leverage are numbers.
pub fn by_merchant(rows: &[Breakdown]) -> String {
    let mut out = CsvWriter::new(&HEADER);
    for row in rows {
        let BreakdownKey::Merchant { merchant_id, name } = &row.key else {
            continue;
        };
        let (id, orders, consumption, subsidy, leverage) = (
            merchant_id.to_string(),
            row.orders.to_string(),
            row.consumption_fen.to_string(),
            row.subsidy_fen.to_string(),
            leverage(row.leverage),
        );
        out.row(&[
            Cell::Number(&id),
            Cell::Text(name),
            Cell::Number(&orders),
            Cell::Number(&consumption),
            Cell::Number(&subsidy),
            Cell::Number(&leverage),
        ]);
    }
    out.finish()
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
