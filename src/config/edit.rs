//! Adding sources to the config file without rewriting it: its comments, order and formatting
//! stay as the user wrote them, and the new `[[source]]` tables go after the last one.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

/// A source to add, as it will be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    pub name: String,
    pub url: String,
    /// `Some("page")` for a page without a feed; the default (auto) otherwise.
    pub kind: Option<&'static str>,
    pub category: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot read it as TOML: {0}")]
    Toml(String),
    #[error("its `source` is not a list of [[source]] tables, which is where sources are added")]
    NotTables,
}

/// `text` (a config file) with `sources` as `[[source]]` tables after its last one, a blank
/// line before each; nothing else in it changes.
pub fn add_sources(text: &str, sources: &[NewSource]) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Toml(e.to_string()))?;
    let Item::ArrayOfTables(tables) = doc.entry("source").or_insert(Item::ArrayOfTables(ArrayOfTables::new())) else {
        return Err(EditError::NotTables);
    };
    for source in sources {
        let mut table = Table::new();
        table.insert("name", value(&source.name));
        table.insert("url", value(&source.url));
        if let Some(kind) = source.kind {
            table.insert("kind", value(kind));
        }
        if let Some(category) = &source.category {
            table.insert("category", value(category));
        }
        tables.push(table);
    }
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_appended_and_the_rest_is_kept_byte_for_byte() {
        let text = "# my sources\n[fetch]\ninterval = \"30m\"  # not too often\n\n[[source]]\nname = \"A\"  # first\nurl = \"https://a.org/rss\"\n\n[[topic]]\nname = \"T\"\nkeywords = [\"x\"]\n";
        let added = add_sources(
            text,
            &[NewSource {
                name: "B \"quoted\"".into(),
                url: "https://b.org/feed".into(),
                kind: None,
                category: Some("News / Asia".into()),
            }],
        )
        .unwrap();
        // After the last source, so the sources stay together; the rest as it was.
        let expected = text.replace(
            "url = \"https://a.org/rss\"\n",
            "url = \"https://a.org/rss\"\n\n[[source]]\nname = 'B \"quoted\"'\nurl = \"https://b.org/feed\"\ncategory = \"News / Asia\"\n",
        );
        assert_eq!(added, expected);
        let parsed: toml::Table = toml::from_str(&added).unwrap();
        assert_eq!(parsed["source"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_config_whose_sources_are_not_tables_is_not_touched() {
        let e = add_sources("source = 3\n", &[]).unwrap_err();
        assert!(e.to_string().contains("[[source]]"), "{e}");
    }
}
