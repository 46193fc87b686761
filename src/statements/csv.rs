//! A statement as CSV, and its `digest` (the hex SHA-256 of exactly these bytes).
//!
//! UTF-8 with a byte-order mark (spreadsheet programs then read Chinese names),
//! RFC 4180 quoting, CRLF rows, fen as integers, times RFC 3339 UTC. A cell that
//! would begin with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
//! `'`, so a spreadsheet never runs a merchant's name (or a negative amount) as a
//! formula. The CSV holds only what never changes after closing (not the status),
//! so the digest written at closing always matches the CSV served later.

use sha2::{Digest, Sha256};

use super::models::{LineRow, StatementLineKind};
use crate::http::csv::{Cell, CsvWriter};

const HEADER: [&str; 8] = [
    "statement_id",
    "merchant_id",
    "name",
    "day",
    "kind",
    "order_id",
    "amount_fen",
    "redeemed_at",
];

/// What the CSV shows of a statement: its fixed figures.
#[derive(Debug, Clone)]
pub struct StatementFigures<'a> {
    pub id: i64,
    pub merchant_id: i64,
    pub name: &'a str,
    pub day: &'a str,
    pub subsidy_fen: i64,
    pub clawback_fen: i64,
    pub net_fen: i64,
    pub carried_in_fen: i64,
    pub payout_fen: i64,
}

/// The statement's CSV, written by the service's one CSV writer (`http::csv`): one
/// row per line (subsidies by order, then clawbacks), then the totals as rows of
/// kind `total_subsidy`, `total_clawback`, `net`, `carried_in` and `payout`; like
/// every amount taken back, `carried_in` (the part of `total_clawback` that is the
/// previous statement's debt) is negative or 0.
/// Amounts go in as text cells, so a negative one gets the leading `'` API.md asks
/// of every cell that begins with `-`.
pub fn statement(figures: &StatementFigures<'_>, lines: &[LineRow]) -> String {
    let mut ordered: Vec<&LineRow> = lines.iter().collect();
    ordered.sort_by_key(|l| (l.kind != StatementLineKind::Subsidy, l.order_id));
    let id = figures.id.to_string();
    let merchant_id = figures.merchant_id.to_string();
    let mut csv = CsvWriter::new(&HEADER);
    for line in ordered {
        let redeemed_at = line
            .redeemed_at
            .map(|t| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default();
        let order_id = line.order_id.to_string();
        let amount = line.amount_fen.to_string();
        csv.row(&[
            Cell::Number(&id),
            Cell::Number(&merchant_id),
            Cell::Text(figures.name),
            Cell::Text(figures.day),
            Cell::Text(line.kind.as_str()),
            Cell::Number(&order_id),
            Cell::Text(&amount),
            Cell::Text(&redeemed_at),
        ]);
    }
    let totals = [
        ("total_subsidy", figures.subsidy_fen),
        ("total_clawback", -figures.clawback_fen),
        ("net", figures.net_fen),
        ("carried_in", figures.carried_in_fen),
        ("payout", figures.payout_fen),
    ];
    for (kind, amount) in totals {
        let amount = amount.to_string();
        csv.row(&[
            Cell::Number(&id),
            Cell::Number(&merchant_id),
            Cell::Text(figures.name),
            Cell::Text(figures.day),
            Cell::Text(kind),
            Cell::Text(""),
            Cell::Text(&amount),
            Cell::Text(""),
        ]);
    }
    csv.finish()
}

/// The hex SHA-256 of a CSV body.
pub fn digest(csv: &str) -> String {
    hex::encode(Sha256::digest(csv.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_csv_lists_lines_then_totals_and_its_digest_is_stable() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.and_hms_opt(2, 0, 0))
            .expect("time");
        let line = |id, order_id, kind, amount_fen| LineRow {
            id,
            statement_id: Some(9),
            merchant_id: 3,
            order_id,
            kind,
            amount_fen,
            redeemed_at: Some(at),
            created_at: at,
        };
        let lines = [
            line(2, 8, StatementLineKind::Clawback, -3000),
            line(1, 7, StatementLineKind::Subsidy, 3000),
        ];
        let figures = StatementFigures {
            id: 9,
            merchant_id: 3,
            name: "=HYPERLINK(\"x\")",
            day: "2026-11-25",
            subsidy_fen: 3000,
            clawback_fen: 3000,
            net_fen: 0,
            carried_in_fen: 0,
            payout_fen: 0,
        };
        let csv = statement(&figures, &lines);
        assert!(csv.starts_with('\u{feff}'));
        let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(rows[0], HEADER.join(","));
        assert!(
            rows[1].contains(",subsidy,7,3000,2026-11-25T02:00:00.000000Z"),
            "{}",
            rows[1]
        );
        assert!(rows[2].contains(",clawback,8,'-3000,"), "{}", rows[2]);
        assert!(
            rows[1].starts_with("9,3,\"'=HYPERLINK(\"\"x\"\")\",2026-11-25,"),
            "{}",
            rows[1]
        );
        assert_eq!(digest(&csv), digest(&statement(&figures, &lines)));
        assert_eq!(digest(&csv).len(), 64);
    }
}
