//! HTML to plain text, for feed fields and for pages too deep to parse into a tree.
//!
//! Only html5ever's tokenizer runs, not its tree builder: text needs no tree, and the tokenizer
//! is linear in the input, where tree building is quadratic in nesting depth. Pure: no I/O.

use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

/// Longest markup converted to text per call; a feed's entry is not a book.
const MAX_HTML_BYTES: usize = 1 << 20;

/// Plain text of an HTML fragment: tags dropped, entities decoded, script and style skipped,
/// whitespace collapsed, control characters dropped. Text with no markup is only collapsed.
///
/// Only html5ever's tokenizer runs, not its tree builder: text needs no tree, and the
/// tokenizer is linear in the input, where tree building is quadratic in nesting depth.
pub fn html_to_text(s: &str) -> String {
    if !s.contains(['<', '&']) {
        return collapse_whitespace(s);
    }
    let s = super::cut(s, MAX_HTML_BYTES);
    let tokenizer = Tokenizer::new(TextSink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(s));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    collapse_whitespace(&tokenizer.sink.out.borrow())
}

/// Collects the text an HTML tokenizer sees, outside elements that hold no readable text.
#[derive(Default)]
struct TextSink {
    out: RefCell<String>,
    /// Inside `<script>`, `<style>` and the like: their content is not text.
    hidden: Cell<bool>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(text) if !self.hidden.get() => self.out.borrow_mut().push_str(&text),
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                let hidden = matches!(
                    name,
                    "script" | "style" | "noscript" | "template" | "head" | "title" | "iframe" | "textarea"
                );
                match tag.kind {
                    TagKind::StartTag if hidden && !tag.self_closing => {
                        self.hidden.set(true);
                        // The tree builder would switch the tokenizer to raw text here; without
                        // one, the sink must, or `<script>if (a<b)` would read as markup.
                        return TokenSinkResult::RawData(if name == "script" {
                            RawKind::ScriptData
                        } else {
                            RawKind::Rawtext
                        });
                    }
                    TagKind::EndTag if hidden => self.hidden.set(false),
                    // Block boundaries separate words: "end.</p><p>Start" must not become "end.Start".
                    _ if is_block(name) => self.out.borrow_mut().push(' '),
                    _ => {}
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "tr"
            | "td"
            | "th"
            | "blockquote"
            | "pre"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "figure"
            | "figcaption"
            | "hr"
            | "table"
            | "dd"
            | "dt"
    )
}

/// Runs of whitespace made one space, control characters (terminal escapes, NULs) dropped.
/// Runs of printable ASCII, most of any text, are copied whole.
fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    let mut rest = s;
    while !rest.is_empty() {
        let run = rest.bytes().take_while(|b| (0x21..0x7f).contains(b)).count();
        if run > 0 {
            if space {
                out.push(' ');
                space = false;
            }
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        rest = &rest[c.len_utf8()..];
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !c.is_control() {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn deep_markup_is_read_without_a_tree() {
        let deep = format!(
            "{}NATO &amp; Japan{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        assert_eq!(html_to_text(&deep), "NATO & Japan");
    }

    #[test]
    fn html_to_text_keeps_plain_text_and_drops_markup() {
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(html_to_text("<p>end.</p><p>Start</p>"), "end. Start");
        assert_eq!(html_to_text("x<style>p{}</style>y<script>z()</script>"), "xy");
        assert_eq!(html_to_text("Tom &amp; Jerry&nbsp;!"), "Tom & Jerry !");
        assert_eq!(
            html_to_text("<script>if (a<b) { x = '</p>NATO' }</script>after"),
            "after"
        );
        assert_eq!(
            html_to_text("<p>caf&eacute; &#x41;&#66; &unknown; <!-- hidden --></p>"),
            "café AB &unknown;"
        );
        assert_eq!(
            html_to_text("<a href='x'>link</a><img src=x onerror=alert(1)>text"),
            "linktext"
        );
    }

    #[test]
    fn whitespace_runs_become_one_space_and_controls_go() {
        assert_eq!(html_to_text("  a \t\n b\u{a0}\u{2003}c  "), "a b c");
        assert_eq!(html_to_text("x\u{1b}[31my\u{0}z \u{85}\u{9b}w \u{7f} v"), "x[31myz w v");
        assert_eq!(html_to_text("café—“NATO”  ü"), "café—“NATO” ü");
        assert_eq!(html_to_text("\u{1}\u{2}"), "");
    }
}
