//! The map in `docs/architecture.md`, checked against the code: every module of `src/` has a row
//! in its table, uses only what its "may use" column lists, and that column only ever points
//! further down the table, so that there are no circles between modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Names in backticks in a table cell: `` `poll`, `store` (its error type) `` → poll, store.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|n| n.trim_end_matches(".rs").to_string())
        .collect()
}

/// The table's rows in order: the modules of the row, and what they may use.
fn table() -> Vec<(Vec<String>, BTreeSet<String>)> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/architecture.md")).unwrap();
    let start = doc
        .find("| module | does | may use | never |")
        .expect("the module table");
    doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').collect();
            (names(cells[1]), names(cells[3]).into_iter().collect())
        })
        .collect()
}

/// The modules each top-level module of `src/` refers to (`crate::x`, `newswatch::x`), outside
/// comments and tests.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let module = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs").to_string();
        if module == "lib" || rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let deps = out.entry(module.clone()).or_default();
        // The code as one text (strings and comments out), so that a `use crate::{...}` group
        // spread over several lines is read whole.
        let code: String = code
            .lines()
            .map(|l| without_strings(l).split("//").next().unwrap_or_default().to_string() + "\n")
            .collect();
        for prefix in ["crate::", "newswatch::"] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                let items = match rest.strip_prefix('{') {
                    Some(inner) => top_level_items(inner),
                    None => vec![rest],
                };
                for item in items {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" && name != module {
                        deps.insert(name);
                    }
                }
            }
        }
    }
    out
}

/// The items of a `{...}` group that `inner` starts inside of, each from its start (nested
/// groups are part of their item): `a::{b, c}, d}` → `a::{b, c}`, ` d`.
fn top_level_items(inner: &str) -> Vec<&str> {
    let (mut items, mut depth, mut from) = (Vec::new(), 0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&inner[from..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// `line` with the contents of its string literals blanked (a log filter names modules too).
fn without_strings(line: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in line.chars() {
        match (in_string, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, _, _) => escaped = false,
            (false, _, '"') => in_string = true,
            (false, _, c) => out.push(c),
        }
    }
    out
}

#[test]
fn modules_use_only_what_the_map_allows_and_nothing_circles() {
    let table = table();
    let row_of: BTreeMap<&str, usize> = table
        .iter()
        .enumerate()
        .flat_map(|(i, (modules, _))| modules.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let uses = uses();
    for (module, deps) in &uses {
        let row = *row_of
            .get(module.as_str())
            .unwrap_or_else(|| panic!("src/{module} has no row in docs/architecture.md"));
        let allowed = &table[row].1;
        for dep in deps {
            assert!(
                allowed.contains(dep),
                "{module} uses {dep}, which docs/architecture.md does not allow it"
            );
        }
    }
    for module in row_of.keys() {
        assert!(
            uses.contains_key(*module),
            "docs/architecture.md names {module}, which is not in src/"
        );
    }
    for (i, (modules, allowed)) in table.iter().enumerate() {
        for dep in allowed {
            let below = row_of.get(dep.as_str()).copied();
            assert!(
                below.is_some_and(|j| j > i),
                "{modules:?} may use {dep}, which is not further down the table: a circle could form"
            );
        }
    }
}
