//! The XML that feed-rs is given: every dialect rewritten into one it reads, in one streaming
//! pass that copies unchanged markup byte for byte.
//!
//! feed-rs reads RSS 0.91/0.92/2.0, RSS 1.0 and Atom 1.0 as written by the specs. Real feeds
//! are older or looser, and feed-rs then returns nothing or fails the whole document. So, before
//! it sees a document:
//! - `<rss>` always says `version="2.0"` (RSS 2.0 reads every 0.9x), and loses a default
//!   namespace such as Userland's, under which feed-rs finds no element it knows;
//! - RSS 0.90's and Atom 0.3's namespaces become RSS 1.0's and Atom 1.0's, and Atom 0.3's
//!   element names (`issued`, `modified`, `tagline`, `copyright`) their Atom 1.0 names;
//! - Atom text with a `type` feed-rs rejects gets the type it means (`""` and `text/plain` are
//!   text, `application/xhtml+xml` is xhtml); content it cannot read (base64, binary types) is
//!   dropped, so one such entry no longer fails the feed;
//! - an item without a link gets its permalink `<guid>` (RSS 2.0) or its `rdf:about` (RSS 1.0)
//!   as one, and an item without a title its `dc:title` or `media:title`;
//! - character references to characters XML forbids become U+FFFD.
//!
//! The pass is also the well-formedness check: an error here sends the document to the lenient
//! reader.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::NsReader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

mod tag;
use tag::Tag;

const RSS10: &str = "http://purl.org/rss/1.0/";
const RSS090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const ATOM10: &str = "http://www.w3.org/2005/Atom";
const ATOM03: &str = "http://purl.org/atom/ns#";
const DC11: &str = "http://purl.org/dc/elements/1.1/";
const DC10: &str = "http://purl.org/dc/elements/1.0/";
const MEDIA: &str = "http://search.yahoo.com/mrss/";

/// Namespaces feed-rs does not know, and the ones it knows that mean the same.
const RENAMED_NAMESPACES: [(&str, &str); 3] = [(RSS090, RSS10), (ATOM03, ATOM10), (DC10, DC11)];

/// Atom 0.3 element names and their Atom 1.0 names. `created` has none: it is dropped.
const ATOM03_NAMES: [(&str, &str); 4] = [
    ("issued", "published"),
    ("modified", "updated"),
    ("tagline", "subtitle"),
    ("copyright", "rights"),
];

/// What kind of feed the root element says this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// `<rss>`, any version.
    Rss,
    /// `<rdf:RDF>`: RSS 0.90 and 1.0.
    Rdf,
    /// `<feed>` (or a lone `<entry>`): Atom 0.3 and 1.0.
    Atom,
    /// Any other root element, by its name.
    Other(String),
}

/// The document, rewritten for feed-rs.
#[derive(Debug)]
pub struct Normalized {
    pub text: String,
    pub dialect: Dialect,
    /// Items or entries in the document, to tell how many feed-rs left out.
    pub entries: usize,
}

/// Why a document is not well-formed XML, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllFormed {
    pub reason: String,
    /// 1-based line of the fault.
    pub line: usize,
}

impl std::fmt::Display for IllFormed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at line {}", self.reason, self.line)
    }
}

pub fn normalize(input: &str) -> Result<Normalized, IllFormed> {
    let mut pass = Pass {
        input,
        out: String::with_capacity(input.len() + input.len() / 16),
        dialect: None,
        entries: 0,
        open: Vec::new(),
        skip_from: None,
        item: None,
        capture: None,
        closed_root: false,
    };
    let mut reader = NsReader::from_str(input);
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(x) => x,
            Err(e) => return Err(ill_formed(input, reader.error_position() as usize, plain_words(&e))),
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::Start(start) => {
                let (ns, _) = reader.resolver().resolve_element(start.name());
                pass.start(namespace(&ns), &start, before, after, false);
            }
            Event::Empty(start) => {
                let (ns, _) = reader.resolver().resolve_element(start.name());
                pass.start(namespace(&ns), &start, before, after, true);
            }
            Event::End(_) => pass.end(before, after),
            Event::Text(text) => {
                if pass.open.is_empty() {
                    // Text outside the root is ignored, but for stray bytes before it.
                    if !pass.closed_root && !text.trim().is_empty() {
                        return Err(ill_formed(input, before, "text before the root element".into()));
                    }
                    continue;
                }
                pass.text(&text, before, after);
            }
            // A CDATA section that holds the start of another was never closed: its `]]>` is
            // the other's, and the items between would vanish into it without an error.
            Event::CData(cdata) if cdata.contains("<![CDATA[") => {
                return Err(ill_formed(input, before, "a CDATA section that is never closed".into()));
            }
            Event::CData(cdata) => pass.text(&cdata, before, after),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => Some(Cow::Owned(c.to_string())),
                    Ok(Some(_)) | Err(_) if reference.is_char_ref() => {
                        // A reference to a character XML forbids (or to none): made harmless,
                        // since feed-rs fails the whole document on it.
                        pass.replacement_character();
                        continue;
                    }
                    _ => resolve_predefined_entity(&reference).map(Cow::Borrowed),
                };
                pass.reference(resolved.as_deref(), before, after);
            }
            // Declarations (the text is UTF-8 now, whatever they said), DTDs, comments and
            // processing instructions are of no use to feed-rs.
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
        }
        if pass.closed_root {
            // Whatever follows the root element (a second document, junk) is ignored.
            break;
        }
    }
    if let Some(open) = pass.open.last() {
        let reason = format!("the document ends inside <{}>", open.name(input));
        return Err(ill_formed(input, input.len(), reason));
    }
    let Some(dialect) = pass.dialect else {
        return Err(ill_formed(input, input.len(), "no XML element in the document".into()));
    };
    Ok(Normalized {
        text: pass.out,
        dialect,
        entries: pass.entries,
    })
}

/// The namespace an element is in, as a plain string (`""` when unbound).
fn namespace<'a>(ns: &'a ResolveResult<'_>) -> &'a str {
    match ns {
        ResolveResult::Bound(ns) => ns.0,
        _ => "",
    }
}

/// quick-xml's message, in the words of someone who writes feeds.
fn plain_words(e: &quick_xml::Error) -> String {
    let message = e.to_string();
    if message.contains("reference not closed") {
        return "an `&` that starts no entity".to_string();
    }
    message
        .trim_start_matches("ill-formed document: ")
        .trim_start_matches("syntax error: ")
        .to_string()
}

fn ill_formed(input: &str, at: usize, reason: String) -> IllFormed {
    let at = at.min(input.len());
    let line = input.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    IllFormed { reason, line }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An element whose text is wanted (an item's link, title, guid or dc:title).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Link,
    Title,
    Guid { permalink: bool },
    DcTitle,
    MediaTitle,
}

struct Capture {
    what: Wanted,
    /// Nesting level of the element.
    level: usize,
    /// Where its content starts in the input.
    from: usize,
    text: String,
    /// Only text and references inside: the raw content can be copied as it is.
    plain: bool,
}

/// An open element, by the name written to the output.
enum Open {
    /// It keeps its name, written at this place of the input: most elements do, and a
    /// document has tens of thousands of them (a string each was a fifth of the allocations
    /// of a first poll). Its end tag is copied as written.
    Kept(std::ops::Range<usize>),
    /// Its end tag is written by this name.
    Renamed(String),
}

impl Open {
    /// The element named `name` (unchanged), whose start tag begins at `at` in `input`. Were
    /// the name not there (never seen: the reader's position is that of the `<`), it is held
    /// by name and its end tag written by it, which reads the same.
    fn kept(input: &str, at: usize, name: &str) -> Open {
        let range = at + 1..at + 1 + name.len();
        match input.get(range.clone()) {
            Some(written) if written == name => Open::Kept(range),
            _ => Open::Renamed(name.to_string()),
        }
    }

    fn name<'a>(&'a self, input: &'a str) -> &'a str {
        match self {
            Open::Kept(range) => &input[range.clone()],
            Open::Renamed(name) => name,
        }
    }
}

/// An RSS item being read: what it lacks is added when it ends.
#[derive(Default)]
struct Item {
    level: usize,
    has_link: bool,
    has_title: bool,
    permalink: Option<String>,
    about: Option<String>,
    /// Raw (escaped) content of its dc:title and of its first media:title, for a title.
    dc_title: Option<String>,
    media_title: Option<String>,
}

struct Pass<'i> {
    input: &'i str,
    out: String,
    dialect: Option<Dialect>,
    entries: usize,
    open: Vec<Open>,
    /// Level of an element being dropped with all it contains.
    skip_from: Option<usize>,
    item: Option<Item>,
    capture: Option<Capture>,
    closed_root: bool,
}

impl<'i> Pass<'i> {
    fn start(&mut self, ns: &str, start: &BytesStart<'_>, before: usize, after: usize, empty: bool) {
        let level = self.open.len();
        let qname: &str = start.name().into_inner();
        let local: &str = start.local_name().into_inner();
        if let Some(c) = &mut self.capture {
            c.plain = false;
        }
        if self.skip_from.is_some() {
            if !empty {
                self.open.push(Open::kept(self.input, before, qname));
            }
            return;
        }
        if level == 0 {
            if self.dialect.is_some() {
                return; // a second root: ignored like anything after the first
            }
            self.dialect = Some(match local {
                "rss" => Dialect::Rss,
                "RDF" => Dialect::Rdf,
                "feed" | "entry" => Dialect::Atom,
                other => Dialect::Other(other.to_string()),
            });
        }
        let dialect = self.dialect.as_ref();
        let rss_root = level == 0 && dialect == Some(&Dialect::Rss);
        let mut tag = Tag::new(start, qname, empty);
        tag.rename_namespaces(rss_root);
        if rss_root {
            tag.set("version", "2.0");
        }

        let rss_like = match dialect {
            Some(Dialect::Rss) => start.name().prefix().is_none(),
            Some(Dialect::Rdf) => matches!(ns, "" | RSS10 | RSS090),
            _ => false,
        };
        let atom_like = dialect == Some(&Dialect::Atom) && matches!(ns, "" | ATOM10 | ATOM03);
        let mut name: &str = local;
        if atom_like && ns == ATOM03 {
            if local == "created" {
                self.drop_element(qname, before, empty);
                return;
            }
            if let Some((_, new)) = ATOM03_NAMES.iter().find(|(old, _)| *old == local) {
                name = new;
                tag.rename(new);
            }
        }
        if atom_like && matches!(name, "title" | "subtitle" | "summary" | "content" | "rights") {
            match atom_text_type(
                name,
                tag.get("type").as_deref(),
                tag.get("mode").as_deref(),
                tag.get("src").is_some(),
            ) {
                TypeFix::Keep => {}
                TypeFix::Set(t) => tag.set("type", t),
                TypeFix::Drop => {
                    self.drop_element(qname, before, empty);
                    return;
                }
            }
            tag.remove("mode");
        }

        self.write_tag(&tag, before, after);
        if !empty {
            self.open.push(match tag.name == qname {
                true => Open::kept(self.input, before, qname),
                false => Open::Renamed(tag.name.to_string()),
            });
        }

        let is_entry = (rss_like && local == "item") || (atom_like && local == "entry");
        if is_entry {
            self.entries += 1;
        }
        if rss_like && local == "item" && !empty && self.item.is_none() {
            let about = tag.get_local("about").filter(|a| is_http_url(a));
            self.item = Some(Item {
                level,
                about,
                ..Item::default()
            });
            return;
        }
        let Some(item) = &self.item else { return };
        if empty || self.capture.is_some() {
            return;
        }
        // media:title may sit in a media:group or media:content; the rest are the item's own.
        let what = if ns == MEDIA && local == "title" {
            Some(Wanted::MediaTitle)
        } else if level != item.level + 1 {
            None
        } else if rss_like && local == "link" {
            Some(Wanted::Link)
        } else if rss_like && local == "title" {
            Some(Wanted::Title)
        } else if rss_like && local == "guid" {
            let not_permalink = tag
                .get("isPermaLink")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
            Some(Wanted::Guid {
                permalink: !not_permalink,
            })
        } else if matches!(ns, DC11 | DC10) && local == "title" {
            Some(Wanted::DcTitle)
        } else {
            None
        };
        self.capture = what.map(|what| Capture {
            what,
            level,
            from: after,
            text: String::new(),
            plain: true,
        });
    }

    fn drop_element(&mut self, qname: &str, before: usize, empty: bool) {
        if !empty {
            self.skip_from = Some(self.open.len());
            self.open.push(Open::kept(self.input, before, qname));
        }
    }

    fn write_tag(&mut self, tag: &Tag, before: usize, after: usize) {
        if tag.changed {
            tag.write(&mut self.out);
        } else {
            self.out.push_str(&self.input[before..after]);
        }
    }

    fn end(&mut self, before: usize, after: usize) {
        let Some(open) = self.open.pop() else { return };
        let level = self.open.len();
        if let Some(from) = self.skip_from {
            if from == level {
                self.skip_from = None;
            }
            return;
        }
        if self.capture.as_ref().is_some_and(|c| c.level == level) {
            let c = self.capture.take().expect("checked");
            self.captured(c, before);
        }
        if self.item.as_ref().is_some_and(|i| i.level == level) {
            let item = self.item.take().expect("checked");
            self.complete(item);
        }
        match open {
            Open::Renamed(name) => {
                let _ = write!(self.out, "</{name}>");
            }
            Open::Kept(_) => self.out.push_str(&self.input[before..after]),
        }
        if level == 0 {
            self.closed_root = true;
        }
    }

    fn captured(&mut self, c: Capture, end: usize) {
        let Some(item) = &mut self.item else { return };
        let blank = c.text.trim().is_empty();
        match c.what {
            Wanted::Link => item.has_link |= !blank,
            Wanted::Title => item.has_title |= !blank,
            Wanted::Guid { permalink } => {
                if permalink && is_http_url(c.text.trim()) {
                    item.permalink = Some(c.text.trim().to_string());
                }
            }
            Wanted::DcTitle | Wanted::MediaTitle if !blank => {
                let slot = if c.what == Wanted::DcTitle {
                    &mut item.dc_title
                } else {
                    &mut item.media_title
                };
                if slot.is_none() {
                    *slot = Some(if c.plain {
                        self.input[c.from..end].to_string()
                    } else {
                        escape(c.text.as_str()).into_owned()
                    });
                }
            }
            Wanted::DcTitle | Wanted::MediaTitle => {}
        }
    }

    /// Adds what an item lacks before its end tag: last, so that it wins over an empty
    /// `<link/>` or `<title/>` of the item's own.
    fn complete(&mut self, item: Item) {
        if !item.has_link
            && let Some(link) = item.permalink.or(item.about)
        {
            let _ = write!(self.out, "<link>{}</link>", escape(link.as_str()));
        }
        if !item.has_title
            && let Some(title) = item.dc_title.or(item.media_title)
        {
            let _ = write!(self.out, "<title>{title}</title>");
        }
    }

    fn text(&mut self, text: &str, before: usize, after: usize) {
        if self.skip_from.is_some() {
            return;
        }
        if let Some(c) = &mut self.capture {
            c.text.push_str(text);
        }
        self.out.push_str(&self.input[before..after]);
    }

    fn reference(&mut self, resolved: Option<&str>, before: usize, after: usize) {
        if self.skip_from.is_some() {
            return;
        }
        if let Some(c) = &mut self.capture {
            match resolved {
                Some(s) => c.text.push_str(s),
                // An entity only HTML knows (`&nbsp;`): the text is kept, the raw copy is not safe.
                None => {
                    c.text.push_str(&self.input[before..after]);
                    c.plain = false;
                }
            }
        }
        self.out.push_str(&self.input[before..after]);
    }

    fn replacement_character(&mut self) {
        if self.skip_from.is_some() {
            return;
        }
        if let Some(c) = &mut self.capture {
            c.text.push('\u{FFFD}');
            c.plain = false;
        }
        self.out.push_str("&#xFFFD;");
    }
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

enum TypeFix {
    Keep,
    Set(&'static str),
    Drop,
}

/// The `type` feed-rs accepts for an Atom text construct that has `ty` and (Atom 0.3) `mode`.
fn atom_text_type(element: &str, ty: Option<&str>, mode: Option<&str>, has_src: bool) -> TypeFix {
    let ty = ty.map(|t| t.trim().to_ascii_lowercase());
    let mode = mode.map(|m| m.trim().to_ascii_lowercase());
    if mode.as_deref() == Some("base64") {
        return TypeFix::Drop;
    }
    let escaped = mode.as_deref() == Some("escaped");
    let Some(ty) = ty else {
        return if escaped { TypeFix::Set("html") } else { TypeFix::Keep };
    };
    match ty.as_str() {
        "text" | "html" | "xhtml" if !escaped => TypeFix::Keep,
        "application/xhtml+xml" if !escaped => TypeFix::Set("xhtml"),
        "" | "text" | "text/plain" => TypeFix::Set("text"),
        "html" | "text/html" | "xhtml" | "application/xhtml+xml" => TypeFix::Set("html"),
        _ if element != "content" => TypeFix::Set(if ty.contains("html") { "html" } else { "text" }),
        // Content elsewhere (`src`) needs only a type that parses as one.
        _ if has_src => {
            if is_mime(&ty) {
                TypeFix::Keep
            } else {
                TypeFix::Set("text/html")
            }
        }
        _ if is_mime(&ty) && (ty.starts_with("text/") || ty.ends_with("/xml") || ty.ends_with("+xml")) => {
            if escaped {
                TypeFix::Set("html")
            } else {
                TypeFix::Keep
            }
        }
        // Binary content (base64 of an image, a PDF): nothing to read.
        _ => TypeFix::Drop,
    }
}

fn is_mime(t: &str) -> bool {
    let mut parts = t.splitn(2, '/');
    let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
    };
    token(a) && token(b.split(';').next().unwrap_or("").trim())
}
