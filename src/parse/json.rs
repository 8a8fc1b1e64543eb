//! JSON Feed 1.0 and 1.1 that feed-rs refuses as a whole: an `id` given as a number, a field of
//! the wrong type, no feed title, an `http:` version URL. Each item is then read on its own,
//! with its fields made the types the spec gives them, so one odd item costs only itself.

use feed_rs::model::Entry as FeedEntry;
use serde_json::{Map, Value, json};

use super::lenient::Recovered;

/// Fields of an item that are strings; numbers and booleans given for them become strings.
const TEXT_FIELDS: [&str; 11] = [
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
];

/// Reads the items of `text` one by one through `read`; `Err` says why it is no JSON Feed.
pub(super) fn by_item(
    text: &str,
    max_entries: usize,
    read: &dyn Fn(&str) -> Result<Vec<FeedEntry>, String>,
) -> Result<Recovered, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = doc
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| "JSON without an \"items\" list".to_string())?;
    let mut got = Recovered {
        found: items.len(),
        over_cap: items.len().saturating_sub(max_entries),
        ..Recovered::default()
    };
    for item in items.iter().take(max_entries) {
        let read = match item.as_object() {
            Some(item) => {
                let one = json!({
                    "version": "https://jsonfeed.org/version/1.1",
                    "title": "",
                    "items": [coerce(item)],
                });
                read(&one.to_string())
            }
            None => Err("an item that is not an object".to_string()),
        };
        match read {
            Ok(entries) if !entries.is_empty() => got.entries.extend(entries),
            Ok(_) => got.lost += 1,
            Err(fault) => {
                got.lost += 1;
                got.first_fault.get_or_insert(fault);
            }
        }
    }
    Ok(got)
}

/// The item with every field of the type the spec gives it, or without that field.
fn coerce(item: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (key, value) in item {
        let fixed = if TEXT_FIELDS.contains(&key.as_str()) {
            text(value)
        } else {
            match key.as_str() {
                "tags" => value
                    .as_array()
                    .map(|tags| Value::Array(tags.iter().filter_map(text).collect())),
                "author" => value.as_object().map(author),
                "authors" => value
                    .as_array()
                    .map(|a| Value::Array(a.iter().filter_map(Value::as_object).map(author).collect())),
                "attachments" => value.as_array().map(|a| {
                    Value::Array(
                        a.iter()
                            .filter(|x| {
                                x.get("url").is_some_and(Value::is_string)
                                    && x.get("mime_type").is_some_and(Value::is_string)
                            })
                            .map(|x| {
                                let mut x = x.clone();
                                if let Some(o) = x.as_object_mut() {
                                    o.retain(|k, v| !matches!(k.as_str(), "title") || v.is_string());
                                    o.retain(|k, v| k != "size_in_bytes" || v.is_u64());
                                }
                                x
                            })
                            .collect(),
                    )
                }),
                // Extensions (`_custom`) and fields feed-rs does not read.
                _ => None,
            }
        };
        if let Some(v) = fixed {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

fn text(value: &Value) -> Option<Value> {
    match value {
        Value::String(_) => Some(value.clone()),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        _ => None,
    }
}

fn author(a: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for key in ["name", "url", "avatar"] {
        if let Some(v) = a.get(key).and_then(text) {
            out.insert(key.to_string(), v);
        }
    }
    Value::Object(out)
}
