//! Start tags as the normaliser rewrites them: attributes read leniently (unquoted values
//! included), changed one by one, and written back only when something changed.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::events::BytesStart;

use super::{RENAMED_NAMESPACES, RSS10};

/// A start tag, rewritten only when something in it must change.
pub(super) struct Tag<'a> {
    pub(super) name: Cow<'a, str>,
    /// Attributes as (raw name, raw escaped value).
    attrs: Vec<(String, String)>,
    empty: bool,
    pub(super) changed: bool,
}

impl<'a> Tag<'a> {
    pub(super) fn new(start: &BytesStart<'_>, qname: &'a str, empty: bool) -> Tag<'a> {
        // `href=http://...` without quotes: read as HTML would, and written back quoted, since
        // feed-rs skips such an attribute without a word.
        let unquoted = has_unquoted_value(start.attributes_raw());
        let mut attributes = if unquoted {
            start.html_attributes()
        } else {
            start.attributes()
        };
        let attrs = attributes
            .with_checks(false)
            .flatten()
            .map(|a| (a.key.as_ref().to_string(), a.value.into_owned()))
            .collect();
        Tag {
            name: Cow::Borrowed(qname),
            attrs,
            empty,
            changed: unquoted,
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| unescape(v))
    }

    /// An attribute by local name, whatever its prefix (`rdf:about`).
    pub(super) fn get_local(&self, local: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k.rsplit(':').next() == Some(local))
            .map(|(_, v)| unescape(v))
    }

    pub(super) fn set(&mut self, key: &str, value: &str) {
        match self.attrs.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) if v == value => return,
            Some((_, v)) => *v = value.to_string(),
            None => self.attrs.push((key.to_string(), value.to_string())),
        }
        self.changed = true;
    }

    pub(super) fn remove(&mut self, key: &str) {
        let len = self.attrs.len();
        self.attrs.retain(|(k, _)| k != key);
        self.changed |= self.attrs.len() != len;
    }

    pub(super) fn rename(&mut self, local: &str) {
        self.name = Cow::Owned(match self.name.split_once(':') {
            Some((prefix, _)) => format!("{prefix}:{local}"),
            None => local.to_string(),
        });
        self.changed = true;
    }

    /// Namespace declarations feed-rs does not know become the ones it does; on `<rss>` the
    /// default namespace goes, since feed-rs expects RSS 2.0 elements in none.
    pub(super) fn rename_namespaces(&mut self, rss_root: bool) {
        let before = self.attrs.len();
        self.attrs
            .retain(|(k, v)| !(rss_root && k == "xmlns" && v.trim() != RSS10));
        self.changed |= self.attrs.len() != before;
        for (k, v) in &mut self.attrs {
            if k != "xmlns" && !k.starts_with("xmlns:") {
                continue;
            }
            if let Some((_, new)) = RENAMED_NAMESPACES.iter().find(|(old, _)| v.trim() == *old) {
                *v = (*new).to_string();
                self.changed = true;
            }
        }
    }

    pub(super) fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            let _ = write!(out, " {k}=\"{}\"", v.replace('"', "&quot;"));
        }
        out.push_str(if self.empty { "/>" } else { ">" });
    }
}

/// Whether some attribute in `raw` has a value without quotes.
fn has_unquoted_value(raw: &str) -> bool {
    let mut quote = None;
    let mut after_equals = false;
    for c in raw.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if after_equals && !c.is_whitespace() => {
                if c != '"' && c != '\'' {
                    return true;
                }
                quote = Some(c);
                after_equals = false;
            }
            None => after_equals |= c == '=',
        }
    }
    false
}

fn unescape(raw: &str) -> String {
    quick_xml::escape::unescape(raw).map_or_else(|_| raw.to_string(), Cow::into_owned)
}
