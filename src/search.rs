//! Text search `q` the same way on both engines: a case-insensitive substring match.
//!
//! SQLite's `LIKE` folds ASCII case only and PostgreSQL's not at all, so neither
//! is trusted with case: each searchable row stores a `search_text` lower-cased by
//! Rust (`to_lowercase`, full Unicode), the query is lower-cased the same way, and
//! the comparison is a plain `LIKE` with `%`, `_` and the escape character escaped,
//! so every character of `q` (quotes and SQL fragments included, which travel as a
//! bound parameter anyway) matches itself. Chinese has no case and simply matches.

/// The escape character of the `LIKE` patterns made here.
pub const ESCAPE: char = '\\';

/// The `LIKE` pattern matching any text that contains `q`, case-insensitively.
pub fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.to_lowercase().chars() {
        if c == ESCAPE || c == '%' || c == '_' {
            pattern.push(ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What a merchant's `search_text` holds.
pub fn merchant_text(name: &str) -> String {
    name.to_lowercase()
}

/// What an offer's `search_text` holds: title and description, so `q` matches either
/// (the newline keeps a match from spanning the two).
pub fn offer_text(title: &str, description: &str) -> String {
    format!("{title}\n{description}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_the_escape_character_are_literal() {
        assert_eq!(contains_pattern("书店"), "%书店%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("ABC"), "%abc%");
        assert_eq!(contains_pattern("' OR 1=1 --"), "%' or 1=1 --%");
    }

    #[test]
    fn search_text_is_lower_cased() {
        assert_eq!(merchant_text("Xinhua 书店"), "xinhua 书店");
        assert_eq!(offer_text("Ticket", "Ändern"), "ticket\nändern");
    }
}
