//! What can still be read from a feed that feed-rs rejects: the document with its commonest
//! faults mended, else each item or entry on its own, else each one's fields picked out by
//! pattern, the way liberal readers do. One broken entry then costs that entry, not the feed.
//!
//! Everything here is text surgery on documents that are not (or not quite) XML; whatever it
//! produces is read by feed-rs like any other feed.

use std::sync::LazyLock;

use feed_rs::model::Entry as FeedEntry;
use quick_xml::escape::escape;
use regex::Regex;

/// The commonest faults mended: stray text before the root element, `&` that begins no
/// reference, `<` that begins no tag. `None` when there is nothing to mend.
pub(super) fn repair(text: &str) -> Option<String> {
    static START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[?!A-Za-z_]").expect("valid regex"));
    static REFERENCE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\A&(?:[A-Za-z_][\w.-]*|#[0-9]+|#[xX][0-9a-fA-F]+);").expect("valid regex"));
    let start = START.find(text).map_or(0, |m| m.start());
    let text = &text[start..];
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = start > 0;
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // CDATA sections and comments are copied untouched.
        for (open, close) in [("<![CDATA[", "]]>"), ("<!--", "-->")] {
            if rest.starts_with(open) {
                let end = rest.find(close).map_or(rest.len(), |j| j + close.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
        }
        if rest.starts_with('&') && !REFERENCE.is_match(rest) {
            out.push_str("&amp;");
            changed = true;
            rest = &rest[1..];
        } else if rest.starts_with('<')
            && !rest[1..].starts_with(['?', '!', '/'])
            && !rest[1..].starts_with(is_name_start)
        {
            out.push_str("&lt;");
            changed = true;
            rest = &rest[1..];
        } else if let Some(c) = rest.chars().next() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

/// Entries read one by one: how many, how, and the first reason one could not be.
#[derive(Debug, Default)]
pub(super) struct Recovered {
    pub entries: Vec<FeedEntry>,
    /// Items or entries found in the document.
    pub found: usize,
    /// Of those, read only by picking out their fields.
    pub picked: usize,
    /// Of those, not read at all.
    pub lost: usize,
    /// Past the cap, not looked at.
    pub over_cap: usize,
    pub first_fault: Option<String>,
}

/// Reads each item or entry of `text` as a feed of its own, through `read` (which normalises
/// and parses a document). `None` when no root element can be found.
pub(super) fn by_entry(
    text: &str,
    max_entries: usize,
    read: &dyn Fn(&str) -> Result<Vec<FeedEntry>, String>,
) -> Option<Recovered> {
    let root = Root::find(text)?;
    let blocks = blocks(text, if root.local == "feed" { "entry" } else { "item" });
    let mut got = Recovered {
        found: blocks.len(),
        over_cap: blocks.len().saturating_sub(max_entries),
        ..Recovered::default()
    };
    for block in blocks.into_iter().take(max_entries) {
        let whole = read(&root.wrap(block)).and_then(non_empty).or_else(|fault| {
            let mended = repair(block).ok_or_else(|| fault.clone())?;
            read(&root.wrap(&mended)).and_then(non_empty).map_err(|_| fault)
        });
        match whole {
            Ok(entries) => got.entries.extend(entries),
            Err(fault) => match pick_fields(block).map(|doc| read(&doc).and_then(non_empty)) {
                Some(Ok(entries)) => {
                    got.picked += 1;
                    got.entries.extend(entries);
                    got.first_fault.get_or_insert(fault);
                }
                _ => {
                    got.lost += 1;
                    got.first_fault.get_or_insert(fault);
                }
            },
        }
    }
    Some(got)
}

fn non_empty(entries: Vec<FeedEntry>) -> Result<Vec<FeedEntry>, String> {
    if entries.is_empty() {
        Err("nothing readable in it".to_string())
    } else {
        Ok(entries)
    }
}

/// The root element's start tag, to wrap each entry in.
struct Root<'a> {
    tag: &'a str,
    qname: &'a str,
    local: &'a str,
}

impl<'a> Root<'a> {
    fn find(text: &'a str) -> Option<Root<'a>> {
        static TAG: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"<(([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))(?:\s[^<>]*)?>").expect("valid regex")
        });
        let caps = TAG.captures(text)?;
        let tag = caps.get(0)?.as_str();
        if tag.ends_with("/>") {
            return None;
        }
        Some(Root {
            tag,
            qname: caps.get(1)?.as_str(),
            local: caps.get(3)?.as_str(),
        })
    }

    /// A document of the same kind holding only `block`.
    fn wrap(&self, block: &str) -> String {
        let (open, close) = if self.local == "rss" {
            ("<channel>", "</channel>")
        } else {
            ("", "")
        };
        format!("{}{open}{block}{close}</{}>", self.tag, self.qname)
    }
}

/// The items (or entries) of a document that may be ill-formed: each runs from its start tag
/// to its end tag, or to the start of the next one when its end tag is missing. Tags inside
/// CDATA sections and comments do not count, unless the section is never closed.
fn blocks<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let start = Regex::new(&format!(r"<(?:[A-Za-z_][\w.-]*:)?{name}[\s/>]")).expect("valid regex");
    let end = Regex::new(&format!(r"</(?:[A-Za-z_][\w.-]*:)?{name}\s*>")).expect("valid regex");
    let hidden = hidden_sections(text);
    // The next match of `re` at or after `pos` that is not hidden.
    let next = |re: &Regex, mut pos: usize| loop {
        let m = re.find_at(text, pos)?;
        let i = hidden.partition_point(|&(_, e)| e <= m.start());
        match hidden.get(i) {
            Some(&(s, e)) if s <= m.start() => pos = e,
            _ => return Some(m),
        }
    };
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(m) = next(&start, pos) {
        pos = m.end();
        if m.as_str().ends_with('/') {
            continue; // <item/>
        }
        let next_start = next(&start, m.end()).map(|s| s.start());
        let next_end = next(&end, m.end());
        let to = match (next_start, next_end) {
            (Some(s), Some(e)) if s < e.start() => s,
            (_, Some(e)) => e.end(),
            (Some(s), None) => s,
            (None, None) => text.len(),
        };
        found.push(&text[m.start()..to]);
        pos = to.max(pos);
    }
    found
}

/// Byte ranges of the closed CDATA sections and comments of `text`, in order. A CDATA section
/// counts as closed only if its `]]>` comes before the next `<![CDATA[`: otherwise that `]]>`
/// closes another one, and this one was left open.
fn hidden_sections(text: &str) -> Vec<(usize, usize)> {
    const CDATA: &str = "<![CDATA[";
    let find = |pat: &str, from: usize| text.get(from..).and_then(|t| t.find(pat)).map(|i| from + i);
    let mut ranges = Vec::new();
    let mut pos = 0;
    // Searches that found nothing need not run again: this keeps the scan linear.
    let (mut no_cdata_end, mut no_comment_end) = (false, false);
    loop {
        let cdata = find(CDATA, pos);
        let comment = find("<!--", pos);
        let (at, is_cdata) = match (cdata, comment) {
            (Some(c), Some(m)) if m < c => (m, false),
            (Some(c), _) => (c, true),
            (None, Some(m)) => (m, false),
            (None, None) => break,
        };
        let body = at + if is_cdata { CDATA.len() } else { 4 };
        let close = if is_cdata {
            if no_cdata_end { None } else { find("]]>", body) }
        } else if no_comment_end {
            None
        } else {
            find("-->", body)
        };
        match close {
            None => {
                if is_cdata {
                    no_cdata_end = true;
                } else {
                    no_comment_end = true;
                }
                pos = body;
            }
            Some(c) if is_cdata && find(CDATA, body).is_some_and(|o| o < c) => pos = body,
            Some(c) => {
                ranges.push((at, c + 3));
                pos = c + 3;
            }
        }
    }
    ranges
}

/// A well-formed RSS 2.0 document made of the fields that can be picked out of a broken item or
/// entry; `None` when there are none.
fn pick_fields(block: &str) -> Option<String> {
    let title = field(block, &["title"]);
    let link = field(block, &["link"])
        .filter(|l| !l.is_empty())
        .or_else(|| atom_link(block));
    let id = field(block, &["guid", "id"]);
    let date = field(
        block,
        &["pubDate", "published", "issued", "date", "updated", "modified"],
    );
    let text = field(block, &["encoded", "content", "description", "summary"]);
    if title.is_none() && link.is_none() && text.is_none() {
        return None;
    }
    let mut doc = String::from(r#"<rss version="2.0"><channel><item>"#);
    for (tag, value) in [
        ("title", title),
        ("link", link),
        ("pubDate", date),
        ("description", text),
    ] {
        if let Some(v) = value {
            doc.push_str(&format!("<{tag}>{}</{tag}>", escape(v.as_str())));
        }
    }
    if let Some(id) = id {
        doc.push_str(&format!(r#"<guid isPermaLink="false">{}</guid>"#, escape(id.as_str())));
    }
    doc.push_str("</item></channel></rss>");
    Some(doc)
}

/// The content of the first of `names` (any prefix) that is present with an end tag: CDATA
/// sections as they are, the rest with its references resolved.
fn field(block: &str, names: &[&str]) -> Option<String> {
    static FIELDS: LazyLock<Vec<(&str, Regex)>> = LazyLock::new(|| {
        let names = [
            "title",
            "link",
            "guid",
            "id",
            "pubDate",
            "published",
            "issued",
            "date",
            "updated",
            "modified",
            "encoded",
            "content",
            "description",
            "summary",
        ];
        names
            .into_iter()
            .map(|name| {
                let pattern =
                    format!(r"(?s)<(?:[A-Za-z_][\w.-]*:)?{name}(?:\s[^<>]*)?>(.*?)</(?:[A-Za-z_][\w.-]*:)?{name}\s*>");
                (name, Regex::new(&pattern).expect("valid regex"))
            })
            .collect()
    });
    names.iter().find_map(|name| {
        let (_, re) = FIELDS.iter().find(|(n, _)| n == name)?;
        let raw = re.captures(block)?.get(1)?.as_str();
        let value = inner(raw);
        (!value.trim().is_empty()).then(|| value.trim().to_string())
    })
}

/// An Atom `<link href>` that is an alternate (or has no rel).
fn atom_link(block: &str) -> Option<String> {
    static LINK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<(?:[A-Za-z_][\w.-]*:)?link\s([^<>]*)>").expect("valid regex"));
    static ATTR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("valid regex"));
    LINK.captures_iter(block).find_map(|caps| {
        let attrs = caps.get(1)?.as_str();
        let get = |key: &str| {
            ATTR.captures_iter(attrs)
                .find(|a| &a[1] == key)
                .and_then(|a| a.get(2).or(a.get(3)).map(|v| unreference(v.as_str())))
        };
        let rel = get("rel");
        let alternate = rel.as_deref().is_none_or(|r| r.trim() == "alternate");
        get("href").filter(|h| alternate && !h.trim().is_empty())
    })
}

/// Element content as text: CDATA sections literally, references resolved elsewhere.
fn inner(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find("<![CDATA[") {
        out.push_str(&unreference(&rest[..i]));
        rest = &rest[i + "<![CDATA[".len()..];
        let end = rest.find("]]>").unwrap_or(rest.len());
        out.push_str(&rest[..end]);
        rest = &rest[(end + 3).min(rest.len())..];
    }
    out.push_str(&unreference(rest));
    out
}

/// XML's own references resolved; others (`&nbsp;`) are left for the HTML reader.
fn unreference(s: &str) -> String {
    static REF: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos);").expect("valid regex")
    });
    REF.replace_all(s, |caps: &regex::Captures<'_>| {
        let name = &caps[1];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .unwrap_or_else(|| name[1..].parse())
                .ok()
                .and_then(char::from_u32),
        };
        c.unwrap_or('\u{FFFD}').to_string()
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mends_bare_ampersands_and_stray_text() {
        assert_eq!(
            repair("PHP Warning\n<rss><a>AT&T &amp; x < y</a><![CDATA[a & b]]></rss>").as_deref(),
            Some("<rss><a>AT&amp;T &amp; x &lt; y</a><![CDATA[a & b]]></rss>")
        );
        assert_eq!(repair("<rss><a>&#38; &lt;</a></rss>"), None);
    }

    #[test]
    fn blocks_end_at_their_end_tag_or_the_next_start() {
        let text = "<rss><channel><item>a</item><item>b<![CDATA[ </item> ]]></item>\
                    <item>c<![CDATA[ never closed </item><item>d<![CDATA[x]]></item><item>e";
        assert_eq!(
            blocks(text, "item"),
            [
                "<item>a</item>",
                "<item>b<![CDATA[ </item> ]]></item>",
                "<item>c<![CDATA[ never closed </item>",
                "<item>d<![CDATA[x]]></item>",
                "<item>e"
            ]
        );
        assert_eq!(
            blocks("<feed><atom:entry>x</atom:entry><entry/></feed>", "entry"),
            ["<atom:entry>x</atom:entry>"]
        );
    }

    #[test]
    fn fields_are_picked_from_broken_markup() {
        let block = r#"<item><title><![CDATA[SDF & NATO]]></title><link>https://e.org/a?x=1&amp;y=2</link>
            <description>Tokyo <b>drill</description><pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate></item>"#;
        let doc = pick_fields(block).unwrap();
        assert!(doc.contains("<title>SDF &amp; NATO</title>"), "{doc}");
        assert!(doc.contains("<link>https://e.org/a?x=1&amp;y=2</link>"), "{doc}");
        assert!(doc.contains("<description>Tokyo &lt;b&gt;drill</description>"), "{doc}");
        let atom = r#"<entry><link rel="enclosure" href="v.mp4"/><link href='/p?a=1&amp;b=2'/></entry>"#;
        assert_eq!(atom_link(atom).as_deref(), Some("/p?a=1&b=2"));
        assert_eq!(pick_fields("<item><category>x</category></item>"), None);
    }
}
