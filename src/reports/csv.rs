//! A campaign report as CSV, one table per document: the by-merchant rows (API.md's
//! `report.csv`, the default) or, with `?table=causal`, the causal figures (one row,
//! none while `causal` is null). UTF-8 with a byte-order mark (so spreadsheet
//! programs read Chinese names as UTF-8), RFC 4180 quoting, fen as integers, ratios
//! with up to four decimals and empty when null; a name that would start a
//! spreadsheet formula is prefixed with `'` (by [`crate::http::csv`]).
//!
//! The causal figures are a table of their own rather than extra columns or rows of
//! the by-merchant one: API.md fixes that document's header, and a spreadsheet
//! reads a second table glued under the first as more merchants.

use super::figures::{Breakdown, BreakdownKey, CausalFigures};
use crate::http::csv::{Cell, CsvWriter};

crate::text_enum! {
    /// Which table of the report `report.csv?table=` writes.
    pub enum ReportTable {
        ByMerchant = "by_merchant",
        Causal = "causal",
    }
}

const CAUSAL_HEADER: [&str; 9] = [
    "winners",
    "losers",
    "winners_mean_consumption_fen",
    "losers_mean_consumption_fen",
    "incremental_per_winner_fen",
    "subsidy_per_winner_fen",
    "causal_leverage",
    "ci95_low",
    "ci95_high",
];

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
            let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
            // A small negative ratio rounds to "-0"; it is 0 to four decimals.
            if trimmed == "-0" { "0" } else { trimmed }.to_owned()
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

/// The causal figures as a header and one row of numbers (the header alone while
/// the report has none).
pub fn causal(figures: Option<&CausalFigures>) -> String {
    let mut out = CsvWriter::new(&CAUSAL_HEADER);
    if let Some(c) = figures {
        let cells = [
            c.winners.to_string(),
            c.losers.to_string(),
            c.winners_mean_consumption_fen.to_string(),
            c.losers_mean_consumption_fen.to_string(),
            c.incremental_per_winner_fen.to_string(),
            c.subsidy_per_winner_fen.to_string(),
            leverage(c.causal_leverage),
            leverage(c.ci95_low),
            leverage(c.ci95_high),
        ];
        let row: Vec<Cell<'_>> = cells.iter().map(|n| Cell::Number(n)).collect();
        out.row(&row);
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
        assert_eq!(leverage(Some(-0.00001)), "0");
        assert_eq!(leverage(Some(-1.25)), "-1.25");
    }

    #[test]
    fn causal_figures_are_one_row_of_numbers() {
        let figures = CausalFigures {
            winners: 4,
            losers: 5,
            winners_mean_consumption_fen: 30_000,
            losers_mean_consumption_fen: 31_000,
            incremental_per_winner_fen: -1_000,
            subsidy_per_winner_fen: 3_000,
            causal_leverage: Some(-1.0 / 3.0),
            ci95_low: Some(-2.5),
            ci95_high: None,
        };
        let csv = causal(Some(&figures));
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], CAUSAL_HEADER.join(","));
        // Negative numbers stay numbers: no formula quote on "-1000".
        assert_eq!(lines[1], "4,5,30000,31000,-1000,3000,-0.3333,-2.5,");
        assert_eq!(
            causal(None).trim_start_matches('\u{feff}'),
            CAUSAL_HEADER.join(",") + "\r\n"
        );
    }
}
