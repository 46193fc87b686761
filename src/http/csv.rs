//! The one way the service writes CSV (reports, statements): the `csv`
//! crate does RFC 4180 quoting, and every text cell that a spreadsheet would read
//! as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading
//! `'` (CSV formula injection: a merchant named `=HYPERLINK(...)` must not run in
//! an administrator's spreadsheet).
//!
//! Only text cells are neutralised: numbers we format ourselves (fen, counts,
//! leverage) are written as [`Cell::Number`] and stay numbers, so a negative fen
//! amount in a statement reads `-300`, not `'-300`. A number cannot carry a
//! formula, and quoting it would break sums in the spreadsheet.

/// Byte-order mark written first, so spreadsheet programs read UTF-8.
pub const BOM: &str = "\u{feff}";

/// One cell of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Text from users or the database: neutralised when it would start a formula.
    Text(&'a str),
    /// A number the service formatted itself (digits, an optional leading `-`, a `.`).
    Number(&'a str),
}

/// A text cell as it may go into a CSV: `'` prefixed when it would start a formula.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Builds a CSV document: BOM, a header row, then rows; CRLF line ends.
pub struct CsvWriter {
    inner: csv::Writer<Vec<u8>>,
}

impl CsvWriter {
    pub fn new(header: &[&str]) -> Self {
        let mut inner = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(BOM.as_bytes().to_vec());
        let header: Vec<_> = header.iter().map(|h| neutralise(h)).collect();
        // Writing into a Vec cannot fail.
        let _ = inner.write_record(header.iter().map(|h| h.as_bytes()));
        Self { inner }
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) {
        let record = cells.iter().map(|cell| match cell {
            Cell::Text(text) => neutralise(text),
            Cell::Number(n) => std::borrow::Cow::Borrowed(*n),
        });
        let record: Vec<_> = record.collect();
        // Writing into a Vec cannot fail.
        let _ = self.inner.write_record(record.iter().map(|c| c.as_bytes()));
    }

    pub fn finish(self) -> String {
        let bytes = self
            .inner
            .into_inner()
            .unwrap_or_else(|e| e.into_inner().get_ref().clone());
        // Every cell went in as &str, so the output is UTF-8.
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_get_a_quote_and_numbers_stay_numbers() {
        let mut w = CsvWriter::new(&["a", "b"]);
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            w.row(&[Cell::Text(bad), Cell::Number("-300")]);
        }
        w.row(&[Cell::Text("书店, \"新华\""), Cell::Number("3.5")]);
        let out = w.finish();
        assert!(out.starts_with("\u{feff}a,b\r\n"));
        assert!(out.contains("\"'=HYPERLINK(\"\"x\"\")\",-300\r\n"));
        assert!(out.contains("'+1,-300\r\n"));
        assert!(out.contains("'-2,-300\r\n"));
        assert!(out.contains("'@SUM(A1),-300\r\n"));
        assert!(out.contains("'\tx,-300\r\n"));
        assert!(out.contains("\"'\rx\",-300\r\n"));
        assert!(out.contains("\"书店, \"\"新华\"\"\",3.5\r\n"));
    }
}
