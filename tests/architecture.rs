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

/// The table's rows in order: the modules of the row, what they may use, and what they never
/// do (its text).
fn table() -> Vec<(Vec<String>, BTreeSet<String>, String)> {
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
            (
                names(cells[1]),
                names(cells[3]).into_iter().collect(),
                cells[4].to_string(),
            )
        })
        .collect()
}

/// The code of each top-level module of `src/` (all its files), outside comments, strings and
/// tests.
fn code() -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
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
        // As one text, so that a `use crate::{...}` group over several lines is read whole.
        let mut code = String::new();
        for line in text.lines() {
            code.push_str(without_strings(line).split("//").next().unwrap_or_default());
            code.push('\n');
        }
        out.entry(module).or_default().push_str(&without_tests(&code));
    }
    out
}

/// `code` without the items marked `#[cfg(test)]` (a test module, or a helper for tests): each
/// from its mark to its end (a `;` before any `{`, else the `}` that closes its first `{`),
/// so that code after one is still read.
fn without_tests(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at + MARK.len()..];
        let end = match (item.find(';'), item.find('{')) {
            (Some(semi), open) if open.is_none_or(|o| semi < o) => semi + 1,
            (_, Some(open)) => {
                let mut depth = 0usize;
                let mut end = item.len();
                for (i, c) in item[open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = open + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The modules each top-level module refers to (`crate::x`, `newswatch::x`).
fn uses(code: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in code {
        let deps = out.entry(module.clone()).or_default();
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
                    if !name.is_empty() && name != "self" && name != *module {
                        deps.insert(name);
                    }
                }
            }
        }
    }
    out
}

/// Whether `code` runs a job on the store (`App::store` or `App::read` with a closure): how a
/// module that may not use `store` could reach it through `app`.
fn reaches_store(code: &str) -> bool {
    let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    [".store(|", ".store(move|", ".read(|", ".read(move|"]
        .iter()
        .any(|call| squeezed.contains(call))
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
        .flat_map(|(i, (modules, _, _))| modules.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let code = code();
    let uses = uses(&code);
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
    for (i, (modules, allowed, _)) in table.iter().enumerate() {
        for dep in allowed {
            let below = row_of.get(dep.as_str()).copied();
            assert!(
                below.is_some_and(|j| j > i),
                "{modules:?} may use {dep}, which is not further down the table: a circle could form"
            );
        }
    }
}

#[test]
fn modules_the_map_keeps_from_the_store_do_not_reach_it_through_the_app() {
    let code = code();
    for (modules, _, never) in table() {
        if !never.contains("store") {
            continue;
        }
        for module in modules {
            let text = code.get(module.trim_end_matches(".rs")).map_or("", String::as_str);
            assert!(
                !reaches_store(text),
                "{module} runs jobs on the store (App::store or App::read), which docs/architecture.md says it never does ({})",
                never.trim()
            );
        }
    }
}
