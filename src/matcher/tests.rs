//! Unit tests of matching: words, phrases, scripts, queries, snippets, explain.

use super::*;
use crate::query;

fn topic(name: &str, rule: Expr) -> Topic {
    Topic {
        name: name.into(),
        rule,
        case_sensitive: Vec::new(),
        recipients: Vec::new(),
        alert: crate::config::AlertMode::Digest,
        webhook: None,
    }
}

fn keywords(words: &[&str]) -> Matcher {
    let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    Matcher::new(&[topic("T", query::any_of(&words))]).unwrap()
}

fn entry(title: &str, body: &str) -> Entry {
    Entry {
        guid: "g".into(),
        link: Some("https://news.example.org/a".into()),
        title: title.into(),
        body: body.into(),
        published: None,
    }
}

fn matches(keyword: &str, text: &str) -> bool {
    keywords(&[keyword]).match_entry(&entry(text, "")).is_some()
}

fn query_matches(q: &str, title: &str, body: &str) -> bool {
    Matcher::new(&[topic("Q", query::parse(q).unwrap())])
        .unwrap()
        .match_entry(&entry(title, body))
        .is_some()
}

#[test]
fn whole_words_case_insensitive() {
    assert!(matches("NATO", "Nato summit opens"));
    assert!(matches("NATO", "NATO's new members"));
    assert!(matches("NATO", "(NATO)"));
    assert!(!matches("NATO", "Donato wins"));
    assert!(!matches("NATO", "NATOS"));
    assert!(matches("SDF", "The SDF deployed"));
    assert!(!matches("SDF", "SDFormat 1.9 released"));
    assert!(!matches("nat", "natural gas"));
    assert!(matches("Ukraine", "UKRAINE talks"));
}

#[test]
fn phrases_match_across_spacing_hyphens_and_punctuation() {
    assert!(matches("Self-Defense Forces", "Japan's Self-Defense  Forces train"));
    assert!(matches("Self-Defense Forces", "self defense\nforces"));
    assert!(matches("Self Defense Forces", "Self—Defense, Forces"));
    assert!(!matches("Self-Defense Forces", "self-defense force"));
}

#[test]
fn nfkc_full_width_and_unicode_case() {
    assert!(matches("NATO", "ＮＡＴＯ首脳会議"));
    assert!(matches("Україна", "УКРАЇНА і НАТО"));
    assert!(matches("自衛隊", "陸上自衛隊は演習を行った"));
    assert!(matches("NATO", "日本とNATOの協力"));
}

#[test]
fn symbols_that_make_words() {
    assert!(matches("C++", "Learning C++ today"));
    assert!(!matches("C++", "Learning C today"));
    assert!(matches("AT&T", "AT&T results"));
    assert!(!matches("a.c", "abc"));
}

#[test]
fn case_sensitive_terms() {
    let mut t = topic("T", query::any_of(&["SDF".to_string(), "Japan".to_string()]));
    t.case_sensitive = vec!["SDF".into()];
    let m = Matcher::new(&[t]).unwrap();
    assert!(m.match_entry(&entry("SDF drills", "")).is_some());
    assert!(m.match_entry(&entry("sdf files", "")).is_none());
    assert!(m.match_entry(&entry("JAPAN", "")).is_some());
}

#[test]
fn query_operators() {
    assert!(query_matches("NATO Ukraine", "NATO and Ukraine", ""));
    assert!(!query_matches("NATO Ukraine", "NATO alone", ""));
    assert!(query_matches("NATO Ukraine OR Russia", "NATO warns Russia", ""));
    assert!(!query_matches("NATO Ukraine OR Russia", "Russia alone", ""));
    assert!(!query_matches("NATO -football", "NATO football cup", ""));
    assert!(query_matches("NATO -\"press release\"", "NATO press", "release"));
    assert!(!query_matches("NATO NOT drill", "NATO", "a drill"));
    assert!(query_matches("Ukrain*", "Ukrainian forces", ""));
    assert!(query_matches("Ukrain*", "Ukraine's army", ""));
    assert!(query_matches("Ukrain*", "the Ukrain", ""));
    assert!(!query_matches("Ukrain*", "xUkraine", ""));
    assert!(query_matches("intitle:NATO", "NATO here", "nothing"));
    assert!(!query_matches("intitle:NATO", "Nothing", "NATO in body"));
    assert!(query_matches("NATO site:example.org", "NATO", ""));
    assert!(!query_matches("NATO site:other.org", "NATO", ""));
    assert!(query_matches("(NATO OR EU) (Japan -China)", "EU and Japan", ""));
}

#[test]
fn near_counts_words_between() {
    assert!(!query_matches(
        "NATO NEAR/3 Japan",
        "NATO said on Monday that Japan",
        ""
    ));
    assert!(query_matches("NATO NEAR/4 Japan", "NATO said on Monday that Japan", ""));
    assert!(query_matches("NATO NEAR/4 Japan", "Japan said on Monday that NATO", ""));
    assert!(query_matches("NATO NEAR/0 Japan", "", "NATO Japan"));
    assert!(
        !query_matches("NATO NEAR/2 Japan", "NATO", "Japan"),
        "title and text are apart"
    );
    assert!(query_matches("自衛隊 NEAR/2 訓練", "", "自衛隊が訓練"));
}

#[test]
fn records_topics_and_keywords_in_one_pass() {
    let m = Matcher::new(&[
        topic("Japan", query::any_of(&["SDF".into(), "Japan".into()])),
        topic("Alliance", query::any_of(&["NATO".into()])),
        topic("Other", query::any_of(&["Mars".into()])),
    ])
    .unwrap();
    let r = m.match_entry(&entry("SDF and NATO", "joint exercise")).unwrap();
    assert_eq!(
        r.hits,
        vec![
            TopicHit {
                topic: "Japan".into(),
                keywords: vec!["SDF".into()]
            },
            TopicHit {
                topic: "Alliance".into(),
                keywords: vec!["NATO".into()]
            },
        ]
    );
    assert!(m.match_entry(&entry("Nothing here", "at all")).is_none());
}

#[test]
fn snippet_surrounds_first_match_and_marks_keywords() {
    let filler = "lorem ipsum ".repeat(30);
    let body = format!("{filler}The NATO summit discussed Ukraine and nato aid. {filler}");
    let r = keywords(&["NATO", "Ukraine"])
        .match_entry(&entry("Headline", &body))
        .unwrap();
    let s = &r.snippet;
    assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{}", s.text);
    assert!(s.text.chars().count() <= snippet::SNIPPET_CHARS + 2);
    let marked: Vec<&str> = s.marks.iter().map(|&(a, b)| &s.text[a..b]).collect();
    assert_eq!(marked, vec!["NATO", "Ukraine", "nato"]);
}

#[test]
fn snippet_marks_the_original_text() {
    let r = keywords(&["NATO"])
        .match_entry(&entry("x", "Die ＮＡＴＯ-Gipfel"))
        .unwrap();
    let marked: Vec<&str> = r.snippet.marks.iter().map(|&(a, b)| &r.snippet.text[a..b]).collect();
    assert_eq!(marked, vec!["ＮＡＴＯ"]);
    let r = keywords(&["NATO"]).match_entry(&entry("NATO", "Short body.")).unwrap();
    assert_eq!(r.snippet.text, "Short body.");
    assert!(r.snippet.marks.is_empty());
}

#[test]
fn keywords_are_marked_in_titles_too() {
    let title = "Japan's SDF joins ＮＡＴＯ drill; nato says";
    let r = keywords(&["NATO", "SDF"]).match_entry(&entry(title, "Body.")).unwrap();
    let marked: Vec<&str> = r.title_marks.iter().map(|&(a, b)| &title[a..b]).collect();
    assert_eq!(marked, vec!["SDF", "ＮＡＴＯ", "nato"]);
    let r = keywords(&["NATO"])
        .match_entry(&entry("Headline", "NATO body."))
        .unwrap();
    assert!(r.title_marks.is_empty());
}

#[test]
fn explain_reports_each_term() {
    let t = topic("Q", query::parse("NATO -football intitle:Japan").unwrap());
    let m = Matcher::new(std::slice::from_ref(&t)).unwrap();
    let x = m
        .explain("Q", std::slice::from_ref(&t), &entry("Japan and NATO", "NATO again"))
        .unwrap();
    assert!(x.matched);
    assert_eq!(x.reading, "(NATO AND NOT football AND intitle:Japan)");
    let nato = x.terms.iter().find(|r| r.term == "NATO").unwrap();
    assert_eq!((nato.in_title, nato.in_text, nato.negated), (1, 1, false));
    assert!(x.terms.iter().find(|r| r.term == "football").unwrap().negated);
}

#[test]
fn texts_without_any_terms_word_are_skipped_with_the_same_verdicts() {
    let topics = [
        topic(
            "Q",
            query::parse("\"Self-Defense Forces\" OR NATO OR C++ OR Ukrain* OR 自衛隊 OR Україна OR Zürich").unwrap(),
        ),
        topic("N", query::parse("NEAR(alliance, summit, 3) -drill").unwrap()),
        topic("S", query::parse("site:example.org summit -weather").unwrap()),
    ];
    let mut case = topic("C", query::parse("SDF").unwrap());
    case.case_sensitive = vec!["SDF".into()];
    let topics = [&topics[..], &[case]].concat();
    let fast = Matcher::new(&topics).unwrap();
    let mut slow = Matcher::new(&topics).unwrap();
    // An empty pattern is found in every text: nothing is skipped.
    slow.anchors = AhoCorasick::new([""]).unwrap();
    // Mostly words that hold no term, so that each tricky one is often alone in its text.
    let plain = [
        "the",
        "talks",
        "São",
        "Zürich's",
        "—",
        ",",
        "“quoted”",
        "\n",
        "école",
        "2024",
    ];
    let tricky = [
        "Self-Defense",
        "self",
        "DEFENSE",
        "Forces",
        "forces.",
        "NATO's",
        "nato",
        "c++",
        "C+",
        "Ukraine-based",
        "ukrain",
        "xukraine",
        "alliance",
        "summit",
        "drill",
        "weather",
        "SDF",
        "sdf",
        "sdf-led",
        "(C++)",
        "ＮＡＴＯ",
        "ﬁnal",
        "İstanbul",
        "\u{212A}yiv",
        "自衛隊の",
        "UKRAİNE",
        "УКРАЇНА",
        "україна",
        "ZÜRICH",
        "zürich",
        "ｎａｔｏ",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut skipped = 0;
    for _ in 0..5000 {
        let mut text = String::new();
        for _ in 0..(next() % 9) {
            let r = next();
            match r % 6 {
                0 => text.push_str(tricky[(r / 6 % tricky.len() as u64) as usize]),
                _ => text.push_str(plain[(r / 6 % plain.len() as u64) as usize]),
            }
            text.push(if r % 7 == 0 { '-' } else { ' ' });
        }
        let half = (0..=text.len() / 2)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let (title, body) = text.split_at(half);
        let e = entry(title, body);
        assert_eq!(fast.match_entry(&e), slow.match_entry(&e), "{text:?}");
        skipped += usize::from(!fast.anchors.is_match(&text));
    }
    assert!(skipped > 100, "some texts are skipped: {skipped}");
}
