//! Unit tests of the parse stage; the corpus in tests/corpus covers the dialects and faults.

use super::*;

fn base() -> Url {
    Url::parse("https://news.example.org/feeds/rss.xml").unwrap()
}

fn now() -> Timestamp {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

#[test]
fn rss_items_become_plain_entries() {
    let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><guid>id-1</guid><title>SDF &amp; NATO</title><link>/a/1</link>
<description>&lt;p&gt;First&lt;/p&gt;&lt;p&gt;second &lt;b&gt;para&lt;/b&gt;&lt;script&gt;evil()&lt;/script&gt;&lt;/p&gt;</description>
<pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>"#;
    let entries = parse_feed(rss, &base(), None, now(), 1000).unwrap().entries;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.guid, "id-1");
    assert_eq!(e.title, "SDF & NATO");
    assert_eq!(e.link.as_deref(), Some("https://news.example.org/a/1"));
    assert_eq!(e.body, "First second para");
    assert_eq!(e.published, Some("2026-11-23T09:00:00Z".parse().unwrap()));
}

#[test]
fn missing_guid_gives_a_stable_id() {
    let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><title>No id</title><link>https://e.org/x</link></item></channel></rss>"#;
    let a = parse_feed(rss, &base(), None, now(), 1000).unwrap().entries;
    let b = parse_feed(rss, &base(), None, now(), 1000).unwrap().entries;
    assert_eq!(a[0].guid, b[0].guid);
    assert!(a[0].guid.contains("https://e.org/x"));
}

#[test]
fn future_dates_and_hostile_links_are_dropped() {
    let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><guid>g</guid><title>x</title><link>javascript:alert(1)</link><pubDate>Mon, 23 Nov 2099 09:00:00 GMT</pubDate></item>
</channel></rss>"#;
    let e = &parse_feed(rss, &base(), None, now(), 1000).unwrap().entries[0];
    assert_eq!(e.link, None);
    assert_eq!(e.published, None);
}

#[test]
fn html_page_is_not_a_feed() {
    let page = b"<!DOCTYPE html><html><body><form>Login</form></body></html>";
    let err = parse_feed(page, &base(), Some("text/html; charset=utf-8"), now(), 1000).unwrap_err();
    assert_eq!(err.to_string(), "not a feed (got text/html)");
    let err = parse_feed(
        b"<rss><channel><item>",
        &base(),
        Some("application/rss+xml"),
        now(),
        1000,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("malformed feed"), "{err}");
}

fn titles(bytes: &[u8], content_type: Option<&str>) -> Vec<String> {
    parse_feed(bytes, &base(), content_type, now(), 1000)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.title)
        .collect()
}

fn rss_with_title(declaration: &str, title: &[u8]) -> Vec<u8> {
    let mut doc =
        format!("{declaration}<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><title>").into_bytes();
    doc.extend_from_slice(title);
    doc.extend_from_slice(b"</title></item></channel></rss>");
    doc
}

#[test]
fn declared_and_sniffed_encodings() {
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Украина и НАТО");
    let doc = rss_with_title(r#"<?xml version="1.0" encoding="windows-1251"?>"#, &cp1251);
    assert_eq!(titles(&doc, None), ["Украина и НАТО"]);
    // No declaration: the HTTP charset decides.
    let doc = rss_with_title("", &cp1251);
    assert_eq!(
        titles(&doc, Some("application/rss+xml; charset=windows-1251")),
        ["Украина и НАТО"]
    );

    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("自衛隊とNATO");
    let doc = rss_with_title(r#"<?xml version="1.0" encoding="Shift_JIS"?>"#, &sjis);
    assert_eq!(titles(&doc, None), ["自衛隊とNATO"]);
    let (eucjp, _, _) = encoding_rs::EUC_JP.encode("自衛隊");
    let doc = rss_with_title(r#"<?xml version='1.0' encoding='EUC-JP'?>"#, &eucjp);
    assert_eq!(titles(&doc, None), ["自衛隊"]);
    let doc = rss_with_title(r#"<?xml version="1.0" encoding="ISO-8859-1"?>"#, b"Caf\xe9");
    assert_eq!(titles(&doc, None), ["Café"]);

    // UTF-16 with a BOM.
    let text = String::from_utf8(rss_with_title(
        r#"<?xml version="1.0" encoding="UTF-16"?>"#,
        "Київ".as_bytes(),
    ))
    .unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    assert_eq!(titles(&utf16, None), ["Київ"]);
}

#[test]
fn bytes_that_are_not_utf8_are_windows_1252_whatever_the_label() {
    let doc = rss_with_title(r#"<?xml version="1.0" encoding="utf-8"?>"#, b"NATO \xff\xfe summit");
    assert_eq!(titles(&doc, None), ["NATO \u{ff}\u{fe} summit"]);
}

#[test]
fn at_most_max_entries_newest_first() {
    let mut doc = String::from("<rss version=\"2.0\"><channel><title>t</title>");
    for day in 1..=9 {
        doc.push_str(&format!(
            "<item><guid>{day}</guid><title>day {day}</title><pubDate>0{day} Nov 2026 00:00:00 GMT</pubDate></item>"
        ));
    }
    doc.push_str("</channel></rss>");
    let parsed = parse_feed(doc.as_bytes(), &base(), None, now(), 3).unwrap();
    let got: Vec<&str> = parsed.entries.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(got, ["day 9", "day 8", "day 7"]);
    assert_eq!(parsed.over_cap, 6);
}
