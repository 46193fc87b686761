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

const BOM: &str = "\u{feff}";
const HEADER: &str = "statement_id,merchant_id,name,day,kind,order_id,amount_fen,redeemed_at";

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

/// One cell: formula-safe, then quoted when it holds a comma, quote or line break.
pub fn cell(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

/// The statement's CSV: one row per line (subsidies by order, then clawbacks), then
/// the totals as rows of kind `total_subsidy`, `total_clawback`, `net`,
/// `carried_in` and `payout`.
pub fn statement(figures: &StatementFigures<'_>, lines: &[LineRow]) -> String {
    let mut ordered: Vec<&LineRow> = lines.iter().collect();
    ordered.sort_by_key(|l| (l.kind != StatementLineKind::Subsidy, l.order_id));
    let mut out = String::from(BOM);
    out.push_str(HEADER);
    out.push_str("\r\n");
    let prefix = format!(
        "{},{},{},{}",
        figures.id,
        figures.merchant_id,
        cell(figures.name),
        cell(figures.day)
    );
    for line in ordered {
        let redeemed_at = line
            .redeemed_at
            .map(|t| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default();
        out.push_str(&format!(
            "{prefix},{},{},{},{}\r\n",
            line.kind.as_str(),
            line.order_id,
            cell(&line.amount_fen.to_string()),
            cell(&redeemed_at)
        ));
    }
    let totals = [
        ("total_subsidy", figures.subsidy_fen),
        ("total_clawback", -figures.clawback_fen),
        ("net", figures.net_fen),
        ("carried_in", figures.carried_in_fen),
        ("payout", figures.payout_fen),
    ];
    for (kind, amount) in totals {
        out.push_str(&format!("{prefix},{kind},,{},\r\n", cell(&amount.to_string())));
    }
    out
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
    fn cells_that_could_be_formulas_get_a_quote_mark() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("+86"), "'+86");
        assert_eq!(cell("-3000"), "'-3000");
        assert_eq!(cell("@cmd"), "'@cmd");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(cell("书店, \"新华\""), "\"书店, \"\"新华\"\"\"");
        assert_eq!(cell("plain"), "plain");
    }

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
        assert_eq!(rows[0], HEADER);
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
