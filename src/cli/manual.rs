//! newswatch.toml(5): the configuration reference as a manual page, made from README.md's
//! "Configuration reference" when newswatch is built, so the page and the README never
//! disagree. Markdown's few shapes there (headings, key tables, paragraphs, lists, code
//! blocks, `code`, [links](url)) become roff.

const README: &str = include_str!("../../README.md");

/// The page, in roff.
pub(super) fn config_page() -> String {
    let section = README
        .split("\n## Configuration reference\n")
        .nth(1)
        .map(|rest| rest.split("\n## ").next().unwrap_or(rest))
        .unwrap_or("");
    let mut out = format!(
        ".TH NEWSWATCH.TOML 5 \"\" \"newswatch {}\" \"File Formats\"\n\
         .SH NAME\nnewswatch.toml \\- the configuration of newswatch, the news monitor\n\
         .SH SYNOPSIS\n\\fBnewswatch \\-\\-config\\fR \\fIPATH\\fR \\fICOMMAND\\fR (or the NEWSWATCH_CONFIG variable)\n\
         .SH DESCRIPTION\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut code = false;
    let mut lines = section.lines().peekable();
    while let Some(line) = lines.next() {
        // A table's head is the row before its |---| line.
        let head = lines.peek().is_some_and(|next| next.starts_with("|---"));
        if line.starts_with("```") {
            out += if code { ".fi\n.RE\n" } else { ".RS 4\n.nf\n" };
            code = !code;
            continue;
        }
        if code {
            out += &format!("{}\n", escape(line));
            continue;
        }
        // A list item's continued lines are indented in markdown; in roff that would break them.
        let line = line.trim();
        if let Some(heading) = line.strip_prefix("#### ") {
            out += &format!(".SS \"{}\"\n", inline(heading).replace('"', "\\(dq"));
        } else if let Some(heading) = line.strip_prefix("### ") {
            out += &format!(".SH \"{}\"\n", inline(heading).replace('"', "\\(dq"));
        } else if line.starts_with("|---") || (head && line.starts_with('|')) {
        } else if let Some(row) = line.strip_prefix('|') {
            let row = row.trim_end_matches('|').replace("\\|", "\u{0}");
            let cells: Vec<String> = row.split(" | ").map(|c| c.trim().replace('\u{0}', "|")).collect();
            match cells.as_slice() {
                [key, default, meaning, ..] => {
                    out += &format!(
                        ".TP\n{}\nDefault: {}. {}\n",
                        inline(key),
                        inline(default),
                        inline(meaning)
                    )
                }
                [term, meaning] => out += &format!(".TP\n{}\n{}\n", inline(term), inline(meaning)),
                _ => {}
            }
        } else if let Some(item) = line.strip_prefix("- ") {
            out += &format!(".IP \\(bu 2\n{}\n", inline(item));
        } else if line.is_empty() {
            out += ".PP\n";
        } else {
            out += &format!("{}\n", inline(line));
        }
    }
    out += ".SH SEE ALSO\n\\fBnewswatch\\fR(1), README.md in newswatch's source\n";
    out
}

/// roff's specials escaped, and a line that would read as a request kept as text.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.starts_with('.') || text.starts_with('\'') {
        true => format!("\\&{text}"),
        false => text,
    }
}

/// `code` in bold, [text](url) as "text <url>", the rest escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(['`', '[']) {
        out += &escape(&rest[..start]);
        let after = &rest[start + 1..];
        if rest[start..].starts_with('`') {
            match after.find('`') {
                Some(end) => {
                    out += &format!("\\fB{}\\fR", escape(&after[..end]));
                    rest = &after[end + 1..];
                }
                None => {
                    out += "`";
                    rest = after;
                }
            }
            continue;
        }
        let link = after
            .find("](")
            .and_then(|mid| after[mid + 2..].find(')').map(|end| (mid, mid + 2 + end)));
        match link {
            Some((mid, end)) => {
                out += &format!("{} <{}>", escape(&after[..mid]), escape(&after[mid + 2..end]));
                rest = &after[end + 1..];
            }
            None => {
                out += "[";
                rest = after;
            }
        }
    }
    // `escape` keeps a line that begins with a control character from reading as a request;
    // bold and links begin with none.
    out + &escape(rest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_section_and_key_of_the_reference_is_on_the_page() {
        let page = super::config_page();
        for needle in [
            ".SH \"\\fB[fetch]\\fR\"",
            ".SH \"\\fB[[source]]\\fR (one or more)\"",
            "\\fBinterval\\fR\nDefault: \\fB\"30m\"\\fR.",
            "\\fBcertainty\\fR",
            "\\fBtimeout\\fR\nDefault: \\fB\"10s\"\\fR",
            "\\fBNATO OR Ukraine\\fR, \\fBNATO | Ukraine\\fR\neither",
        ] {
            assert!(page.contains(needle), "{needle:?} missing in\n{page}");
        }
        assert!(!page.contains('`'), "markdown left in the page");
        let requests = [".TH", ".SH", ".SS", ".TP", ".PP", ".IP", ".RS", ".RE", ".nf", ".fi"];
        for line in page.lines().filter(|l| l.starts_with('.') || l.starts_with('\'')) {
            assert!(
                requests.iter().any(|r| line.starts_with(r)),
                "a text line read as a request: {line}"
            );
        }
    }
}
