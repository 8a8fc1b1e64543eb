//! The plain-text part of a message: the same sections as the HTML part, wrapped at 78
//! columns for mail clients that show text as it is.

use std::fmt::Write as _;

use super::{FollowUpView, Layout, Section, StoryView, why};
use crate::text::one_line;

/// "Daily <https://daily.example/1>, Local <https://local.example/9> (+2)": each outlet with
/// its link, as the HTML part has them.
fn also_names(story: &StoryView) -> String {
    let mut names = story
        .also
        .iter()
        .map(|o| match &o.href {
            Some(href) => format!("{} <{href}>", o.source),
            None => o.source.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    if story.also_more > 0 {
        names.push_str(&format!(" (+{})", story.also_more));
    }
    names
}

pub(super) fn plain_text(
    heading: &str,
    (sections, follow_ups): (&[Section], &[FollowUpView]),
    overflow: usize,
    layout: &Layout<'_>,
) -> String {
    let (max_stories, attention) = (layout.max_stories, layout.attention);
    let mut out = String::new();
    let _ = writeln!(out, "{heading}");
    if sections.is_empty() && follow_ups.is_empty() {
        let _ = writeln!(out, "\nNo new stories matched your topics since the last digest.");
    }
    for section in sections {
        let _ = writeln!(out, "\n== {} ({}) ==", section.topic, section.stories.len());
        for story in &section.stories {
            let link = story.href.as_deref().unwrap_or("(no link)");
            if !story.full {
                let _ = writeln!(out, "\n- {} <{}> ({})", story.title, link, story.source);
                continue;
            }
            let _ = writeln!(out, "\n* {}\n  {}", story.title, link);
            let mut meta = format!("  {}, {}", story.source, story.published);
            if !story.also_matches.is_empty() {
                let _ = write!(meta, " (also matches: {})", story.also_matches);
            }
            if !story.also.is_empty() {
                let _ = write!(meta, "\n  Also reported by: {}", also_names(story));
            }
            let _ = writeln!(out, "{meta}");
            if !story.snippet.is_empty() {
                let snippet: String = story
                    .snippet
                    .iter()
                    .map(|p| {
                        if p.mark {
                            format!("*{}*", p.text)
                        } else {
                            p.text.clone()
                        }
                    })
                    .collect();
                let _ = writeln!(out, "  {snippet}");
            }
        }
    }
    if overflow > 0 {
        let _ = writeln!(
            out,
            "\n{overflow} stories past the first {max_stories} are listed by title only."
        );
    }
    if !follow_ups.is_empty() {
        let _ = writeln!(out, "\n== More coverage of earlier stories ({}) ==", follow_ups.len());
    }
    for f in follow_ups {
        let _ = writeln!(out, "\n* {}\n  {}", f.title, f.href.as_deref().unwrap_or("(no link)"));
        let more = match f.more {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        let _ = writeln!(out, "  Now also reported by{more}:");
        for o in &f.outlets {
            let _ = writeln!(out, "  {}: {}", o.source, o.href.as_deref().unwrap_or("(no link)"));
        }
    }
    if !layout.notices.is_empty() {
        let _ = writeln!(out, "\nMessages not delivered:");
        for n in layout.notices {
            let _ = writeln!(out, "- {}", one_line(n));
        }
    }
    if !attention.is_empty() {
        let _ = writeln!(out, "\nSources needing attention:");
        for a in attention {
            let _ = writeln!(out, "- {}: {}", one_line(&a.source), one_line(&a.reason));
        }
    }
    let _ = writeln!(
        out,
        "\n-- \n{} Sent by newswatch {}.",
        why(layout),
        env!("CARGO_PKG_VERSION")
    );
    wrap(&out, TEXT_WIDTH)
}

/// Plain-text lines are wrapped to this many characters (RFC 3676's advice for mail).
const TEXT_WIDTH: usize = 78;

/// `text` with every line longer than `width` characters broken between words; a continued
/// line is indented as its first line's text is ("* title" and "- item" by two). A word longer
/// than the line (a link) stays whole.
pub(super) fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width);
    for line in text.split('\n') {
        if line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        let bullet = line[lead..].starts_with("* ") || line[lead..].starts_with("- ");
        let indent = " ".repeat(lead + if bullet { 2 } else { 0 });
        let mut current = line[..lead].to_string();
        let mut used = lead;
        let mut first = true;
        for word in line[lead..].split(' ').filter(|w| !w.is_empty()) {
            let n = word.chars().count();
            if !first && used + 1 + n > width {
                out.push_str(&current);
                out.push('\n');
                current = indent.clone();
                used = indent.len();
                first = true;
            }
            if !first {
                current.push(' ');
                used += 1;
            }
            current.push_str(word);
            used += n;
            first = false;
        }
        out.push_str(&current);
        out.push('\n');
    }
    out.pop();
    out
}
