//! OPML, the file feed readers exchange their subscriptions in: read (every feed of an export,
//! however deeply its folders nest) and written (OPML 2.0). Pure: text in, text out.

use quick_xml::Reader;
use quick_xml::escape::unescape;
use quick_xml::events::{BytesStart, Event};

use crate::text::xml_escape;

/// One subscription of an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// What the reader called it (`title`, else `text`); may be empty.
    pub title: String,
    /// The feed's URL (`xmlUrl`), or for a page without a feed (`type="link"`), its `url`.
    pub url: String,
    /// A page without a feed rather than a feed.
    pub page: bool,
    /// The site's home page (`htmlUrl`), for a feed.
    pub site: Option<String>,
    /// The folders it sits in, outermost first, joined with " / ".
    pub category: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not well-formed XML at byte {at}: {reason}")]
    Xml { at: u64, reason: String },
    #[error("no <opml> element: this is not an OPML file")]
    NotOpml,
    #[error("outlines nested more than {MAX_DEPTH} deep at byte {at}: no reader's folders go that deep")]
    TooDeep { at: u64 },
}

/// Folders (outlines in outlines) deeper than this are refused: each level is kept in memory
/// and in the category's name.
pub const MAX_DEPTH: usize = 32;

/// The separator of nested folders in [`Outline::category`].
pub const FOLDER_SEPARATOR: &str = " / ";

/// Every subscription in `text`, in document order. Outlines that are neither a feed nor a
/// link are folders: their title becomes the category of what they hold.
pub fn read(text: &str) -> Result<Vec<Outline>, OpmlError> {
    let mut reader = Reader::from_str(text);
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut found = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader.read_event().map_err(|e| OpmlError::Xml {
            at: reader.error_position(),
            reason: e.to_string(),
        })?;
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref().eq_ignore_ascii_case("opml") => {
                saw_opml = true
            }
            Event::Start(e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                if folders.len() >= MAX_DEPTH {
                    return Err(OpmlError::TooDeep {
                        at: reader.buffer_position(),
                    });
                }
                let attrs = attributes(&e);
                match subscription(&attrs, &folders) {
                    Some(outline) => {
                        found.push(outline);
                        // A feed's children (some readers nest items) are not folders.
                        folders.push(None);
                    }
                    None => folders.push(Some(title(&attrs))),
                }
            }
            Event::Empty(e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                found.extend(subscription(&attributes(&e), &folders));
            }
            Event::End(e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                folders.pop();
            }
            _ => {}
        }
    }
    if !saw_opml {
        return Err(OpmlError::NotOpml);
    }
    Ok(found)
}

type Attributes = Vec<(String, String)>;

fn attributes(e: &BytesStart<'_>) -> Attributes {
    e.attributes()
        .with_checks(false)
        .flatten()
        .map(|a| {
            let raw = a.value.into_owned();
            let value = unescape(&raw).map_or(raw.clone(), |v| v.into_owned());
            (a.key.as_ref().to_string(), value.trim().to_string())
        })
        .collect()
}

/// An attribute by name, ignoring case: exports write `xmlUrl`, `xmlurl` and `XMLURL`.
fn get<'a>(attrs: &'a Attributes, key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

fn title(attrs: &Attributes) -> String {
    get(attrs, "title")
        .or_else(|| get(attrs, "text"))
        .unwrap_or("")
        .to_string()
}

fn subscription(attrs: &Attributes, folders: &[Option<String>]) -> Option<Outline> {
    let (url, page) = match get(attrs, "xmlUrl") {
        Some(url) => (url, false),
        None if get(attrs, "type").is_some_and(|t| t.eq_ignore_ascii_case("link")) => (get(attrs, "url")?, true),
        None => return None,
    };
    let path: Vec<&str> = folders
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|f| !f.is_empty())
        .collect();
    Some(Outline {
        title: title(attrs),
        url: url.to_string(),
        page,
        site: get(attrs, "htmlUrl").filter(|_| !page).map(str::to_string),
        category: (!path.is_empty()).then(|| path.join(FOLDER_SEPARATOR)),
    })
}

/// `outlines` as an OPML 2.0 document titled `title`, each category a folder (nested at
/// [`FOLDER_SEPARATOR`]; folders in alphabetical order, outlines in a folder in theirs).
/// `created` is the `dateCreated` (RFC 822).
pub fn write(title: &str, created: &str, outlines: &[Outline]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n");
    out += &format!("    <title>{}</title>\n", xml_escape(title));
    out += &format!("    <dateCreated>{}</dateCreated>\n", xml_escape(created));
    out += "  </head>\n  <body>\n";
    let folders = |o: &Outline| -> Vec<String> {
        o.category
            .as_deref()
            .map(|c| c.split(FOLDER_SEPARATOR).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut sorted: Vec<(Vec<String>, &Outline)> = outlines.iter().map(|o| (folders(o), o)).collect();
    // Stable: a folder's outlines keep their order; each folder is written once.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut open: Vec<&str> = Vec::new();
    for (path, outline) in &sorted {
        let same = open.iter().zip(path).take_while(|(a, b)| **a == b.as_str()).count();
        while open.len() > same {
            open.pop();
            out += &format!("{}</outline>\n", indent(open.len()));
        }
        for folder in &path[same..] {
            let folder_text = xml_escape(folder.as_str());
            out += &format!(
                "{}<outline text=\"{folder_text}\" title=\"{folder_text}\">\n",
                indent(open.len())
            );
            open.push(folder);
        }
        let name = xml_escape(outline.title.as_str());
        let url = xml_escape(outline.url.as_str());
        let site = match &outline.site {
            Some(site) if !outline.page => format!(" htmlUrl=\"{}\"", xml_escape(site)),
            _ => String::new(),
        };
        let line = match outline.page {
            false => format!("<outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{url}\"{site}/>"),
            true => format!("<outline type=\"link\" text=\"{name}\" title=\"{name}\" url=\"{url}\"/>"),
        };
        out += &format!("{}{line}\n", indent(open.len()));
    }
    while !open.is_empty() {
        open.pop();
        out += &format!("{}</outline>\n", indent(open.len()));
    }
    out += "  </body>\n</opml>\n";
    out
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_are_found_at_any_depth_with_their_folders() {
        let text = r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
            <outline text="A &amp; B"><outline title="Deep"><outline text="x" XMLURL="https://x.org/rss?a=1&amp;b=2"/></outline>
              <outline text="y" xmlUrl="https://y.org/feed"><outline text="an item, not a folder" xmlUrl="https://z.org/f"/></outline></outline>
            <outline type="link" text="page" url="https://p.org/news"/>
            <outline text="empty folder"></outline></body></opml>"#;
        let found = read(text).unwrap();
        let brief: Vec<(&str, &str, bool, Option<&str>)> = found
            .iter()
            .map(|o| (o.title.as_str(), o.url.as_str(), o.page, o.category.as_deref()))
            .collect();
        assert_eq!(
            brief,
            [
                ("x", "https://x.org/rss?a=1&b=2", false, Some("A & B / Deep")),
                ("y", "https://y.org/feed", false, Some("A & B")),
                ("an item, not a folder", "https://z.org/f", false, Some("A & B")),
                ("page", "https://p.org/news", true, None),
            ]
        );
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let outlines = vec![
            Outline {
                title: "Q&A <\"live\">".into(),
                url: "https://a.org/rss?x=1&y=2".into(),
                page: false,
                site: Some("https://a.org/?x=1&y=2".into()),
                category: Some("World / Asia".into()),
            },
            Outline {
                title: "No folder".into(),
                url: "https://b.org/feed".into(),
                page: false,
                site: None,
                category: None,
            },
            Outline {
                title: "A page".into(),
                url: "https://c.org/news".into(),
                page: true,
                site: None,
                category: Some("World".into()),
            },
            Outline {
                title: "Europe".into(),
                url: "https://d.org/feed".into(),
                page: false,
                site: None,
                category: Some("World / Europe".into()),
            },
        ];
        let written = write("mine", "Mon, 23 Nov 2026 10:00:00 +0000", &outlines);
        let mut back = read(&written).unwrap();
        let mut expected = outlines.clone();
        back.sort_by(|a, b| a.url.cmp(&b.url));
        expected.sort_by(|a, b| a.url.cmp(&b.url));
        assert_eq!(back, expected, "{written}");
        assert_eq!(
            written.matches("<outline text=\"World\"").count(),
            1,
            "one folder: {written}"
        );
    }

    #[test]
    fn what_xml_forbids_is_left_out_of_the_document() {
        let outlines = vec![Outline {
            title: "Wire\u{7} Daily\u{FFFF}".into(),
            url: "https://a.org/rss".into(),
            page: false,
            site: None,
            category: Some("World\u{1}".into()),
        }];
        let written = write("mine\u{0}", "Mon, 23 Nov 2026 10:00:00 +0000", &outlines);
        let back = read(&written).unwrap();
        assert_eq!(back[0].title, "Wire Daily");
        assert_eq!(back[0].category.as_deref(), Some("World"));
    }

    #[test]
    fn folders_nested_without_end_are_refused() {
        let deep = format!(
            "<opml><body>{}<outline xmlUrl=\"https://a.org/rss\"/>{}</body></opml>",
            "<outline text=\"f\">".repeat(100_000),
            "</outline>".repeat(100_000)
        );
        assert!(matches!(read(&deep), Err(OpmlError::TooDeep { .. })));
        let fine = format!(
            "<opml><body>{}<outline xmlUrl=\"https://a.org/rss\"/>{}</body></opml>",
            "<outline text=\"f\">".repeat(MAX_DEPTH),
            "</outline>".repeat(MAX_DEPTH)
        );
        assert_eq!(read(&fine).unwrap().len(), 1);
    }

    #[test]
    fn what_is_not_opml_says_so() {
        assert!(matches!(read("<rss><channel/></rss>"), Err(OpmlError::NotOpml)));
        let e = read("<opml><body><outline></body></opml>").unwrap_err();
        assert!(matches!(e, OpmlError::Xml { .. }), "{e}");
    }
}
