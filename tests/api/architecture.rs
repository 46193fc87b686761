//! The floors of DESIGN.md ("Layout: floors, and nothing reaches up"), kept by a test.
//!
//! It reads the source as text (no database, no server) and fails when:
//! - a module below the wiring imports `startup`, `routes` or `openapi`, or any
//!   module but the wiring imports a feature's handlers;
//! - a repo (`repo.rs` or `repo/*.rs`) imports actix, a DTO or an extractor;
//! - a status, role, kind or category text stands outside its `text_enum!`
//!   declaration (as a Rust string literal `"paid"` or inside SQL text `'paid'`).
//!
//! When it fails, move the code down a floor (or the value into its enum); do not
//! widen the allow-lists below without a reason written next to the entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The wiring and the entry: the only files that may import the wiring.
const WIRING: &[&str] = &["main.rs", "lib.rs", "cli.rs", "startup.rs", "routes.rs", "openapi.rs"];

/// Enum names whose variants are the vocabulary a literal must not repeat.
const VOCABULARY_SUFFIXES: &[&str] = &["Status", "Role", "Kind", "Target", "Category", "Allocation"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as (path relative to `src/`, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read src")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).expect("read source")));
            }
        }
    }
    let root = src_dir();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// The code of a file without its `#[cfg(test)]` part and without comment lines:
/// (line number, line).
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        lines.push((i + 1, line));
    }
    lines
}

fn is_repo(path: &str) -> bool {
    path.ends_with("/repo.rs") || path.contains("/repo/")
}

#[test]
fn nothing_below_the_wiring_imports_it() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if WIRING.contains(&path.as_str()) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            // A feature's handlers are called by the route table only.
            if line.contains("::handlers::") && line.contains("crate::") {
                offenders.push(format!("src/{path}:{n}: {}", line.trim()));
            }
            for upward in ["crate::startup", "crate::routes", "crate::openapi"] {
                let hit = line.match_indices(upward).any(|(at, _)| {
                    // `crate::state` must not match `crate::startup`'s prefix rules, and
                    // `crate::routes_x` is another module.
                    !line[at + upward.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if hit {
                    offenders.push(format!("src/{path}:{n}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "modules below the wiring reach up (DESIGN.md, Layout):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn repos_know_nothing_of_http() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if !is_repo(&path) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            let http = [
                "actix_web",
                "::dto",
                "super::dto",
                "AuthUser",
                "AdminUser",
                "MaybeUser",
                "Resident",
            ];
            if http.iter().any(|needle| line.contains(needle)) {
                offenders.push(format!("src/{path}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "repos import HTTP types, DTOs or extractors (take a domain::Caller instead):\n{}",
        offenders.join("\n")
    );
}

/// Where a `text_enum!` stands: (file, first line, last line).
type Declaration = (String, usize, usize);

/// text → the enums that declare it, from every `text_enum!` of a vocabulary type,
/// and where every declaration stands.
fn vocabulary(sources: &[(String, String)]) -> (BTreeMap<String, Vec<String>>, Vec<Declaration>) {
    let mut words: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // (file, first line, last line) of each declaration, where literals belong.
    let mut declarations = Vec::new();
    for (path, text) in sources {
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].contains("text_enum!")
                && lines[i].trim_end().ends_with('{')
                && !lines[i].contains("macro_rules")
            {
                let start = i;
                let mut depth = 0i32;
                let mut name = None;
                let mut entries = Vec::new();
                loop {
                    let line = lines[i];
                    depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
                    if let Some(rest) = line
                        .trim()
                        .strip_prefix("pub enum ")
                        .or_else(|| line.trim().strip_prefix("enum "))
                    {
                        name = rest.split_whitespace().next().map(str::to_owned);
                    }
                    if let Some((_, rhs)) = line.split_once("= \"") {
                        if let Some((word, _)) = rhs.split_once('"') {
                            entries.push(word.to_owned());
                        }
                    }
                    if depth <= 0 || i + 1 == lines.len() {
                        break;
                    }
                    i += 1;
                }
                declarations.push((path.clone(), start + 1, i + 1));
                if let Some(name) = name {
                    if VOCABULARY_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                        for word in entries {
                            words.entry(word).or_default().push(name.clone());
                        }
                    }
                }
            }
            i += 1;
        }
    }
    (words, declarations)
}

#[test]
fn no_status_literal_stands_outside_its_enum() {
    let sources = sources();
    let (words, declarations) = vocabulary(&sources);
    for expected in [
        "pending_payment",
        "available",
        "approved",
        "draft",
        "owner",
        "bookstore",
    ] {
        assert!(
            words.contains_key(expected),
            "the vocabulary scan did not find '{expected}': is its enum declared with text_enum!?"
        );
    }
    let inside_declaration = |path: &str, n: usize| {
        declarations
            .iter()
            .any(|(p, first, last)| p == path && (*first..=*last).contains(&n))
    };
    let mut offenders = Vec::new();
    for (path, text) in &sources {
        for (n, line) in code_lines(text) {
            if inside_declaration(path, n) {
                continue;
            }
            for (word, enums) in &words {
                let quoted = format!("\"{word}\"");
                let sql = format!("'{word}'");
                if line.contains(&quoted) || line.contains(&sql) {
                    offenders.push(format!("src/{path}:{n}: {word} ({}): {}", enums.join("/"), line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "status texts outside their enums (use the enum, e.g. OrderStatus::Paid):\n{}",
        offenders.join("\n")
    );
}
