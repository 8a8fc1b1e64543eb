use super::*;

fn features(title: &str, body: &str) -> Features {
    Draft::of(title, body).weigh(0, |_| 0)
}

#[test]
fn every_part_has_length_one() {
    let f = features(
        "Japan sends SDF officers to NATO",
        "Tokyo said on Monday it would send officers to the alliance's command in Wiesbaden.",
    );
    for part in [Part::All, Part::Title, Part::Body] {
        let len: f32 = f.weights(part).map(|t| t.1 * t.1).sum();
        assert!((len - 1.0).abs() < 0.02, "{part:?}: {len}");
    }
    assert_eq!(f.count(Part::Title), 5, "japan, send, sdf, offic, nato");
    assert!(f.slots.iter().any(|s| s.name && s.all > 0), "names are marked");
    assert!(
        f.slots.windows(2).all(|w| w[0].term < w[1].term),
        "sorted by id, each once"
    );
}

#[test]
fn hashes_are_stable_across_versions() {
    // Stored in every database: a change here would split every stored story from its copies.
    assert_eq!(term_hash(""), 0xCBF2_9CE4_8422_2325);
    assert_eq!(term_hash("nato"), 0xC467_B3BA_8E1A_E5B9);
    let f = features("", "one two three four five");
    assert_eq!(f.band_keys().len(), BANDS);
    assert_eq!(f.band_keys()[0], 0xE732_3BFF_464C_AC81, "MinHash bands are stored too");
}

#[test]
fn copies_share_bands_and_rewrites_share_words() {
    let body = "The Defense Ministry said on Monday that three Self-Defense Force officers will \
                join the NATO command in Wiesbaden that coordinates aid to Ukraine.";
    let a = features("Japan to send SDF officers to NATO's Ukraine command", body);
    let copy = features("UPDATE: Japan to send SDF officers to NATO Ukraine command", body);
    assert!(a.band_keys().iter().any(|b| copy.band_keys().contains(b)));
    assert_eq!(a.term_keys().len(), LOOKUP_TERMS.min(a.count(Part::All)));
    assert!(similarity(&a, &copy, Part::All).score > 0.9);
    // For copies only, nothing is weighed: an entry is filed under its bands alone.
    let only = Draft::copies_only(body);
    assert!(only.term_keys().is_empty());
    assert_eq!(only.band_keys(), a.band_keys());
    let other = features(
        "Japan trains Ukrainian deminers in Lithuania",
        "Japanese instructors began a course for Ukrainian mine clearance officers in Lithuania, \
         NATO said.",
    );
    let s = similarity(&a, &other, Part::All);
    assert!(s.score < 0.3, "{s:?}");
}

fn bar(certainty: Option<f32>) -> Bar {
    Bar {
        certainty,
        at: 0,
        window: 72 * 3600,
    }
}

/// An entry of outlet `source` in story `story`, published `hours` after the new one.
fn member(story: i64, source: i64, hours: i64, title: &str, body: &str) -> Member {
    Member {
        story,
        source,
        at: hours * 3600,
        features: features(title, body),
    }
}

/// `members` as the index gives them, each found (`entry` = its position).
fn near(members: &[Member]) -> Vec<Neighbour<'_>> {
    members
        .iter()
        .enumerate()
        .map(|(i, m)| Neighbour {
            entry: i as i64,
            member: m,
            found: true,
        })
        .collect()
}

const WIRE_TITLE: &str = "Japan to send SDF officers to NATO's Ukraine command in Germany";
const WIRE: &str = "Japan will send three Ground Self-Defense Force officers to the NATO command in \
                    Wiesbaden that coordinates military aid to Ukraine, Defense Minister Gen Nakatani \
                    said on Tuesday. The officers will start in January.";
const REWRITE_TITLE: &str = "Tokyo to post defense officials at NATO's Wiesbaden hub in first for Japan";
const REWRITE: &str = "In a first for Japan, three officers from the Ground Self-Defense Force will be \
                       stationed at NATO's Wiesbaden headquarters, which organises weapons deliveries \
                       for Kyiv. Nakatani said the posting begins in January.";
const OTHER_TITLE: &str = "Japan pledges $4.5 billion more for Ukraine's reconstruction";
const OTHER: &str = "Prime Minister Shigeru Ishiba promised a further $4.5 billion in loans and grants \
                     for rebuilding Ukraine's power grid at a donors' conference in Rome on Thursday, \
                     the foreign ministry said.";

#[test]
fn a_copy_joins_with_rewrites_off_but_a_shared_title_is_not_a_copy() {
    let new = features("UPDATE: Japan dispatches SDF officers", WIRE);
    let copy = [member(1, 1, -1, WIRE_TITLE, &format!("TOKYO (Wire) - {WIRE}"))];
    let join = same_event(&new, &near(&copy), bar(None), (|_| 0, 100)).expect("a copy");
    assert_eq!((join.story, join.entry, join.rule), (1, 0, Rule::Copy));
    let shared = shared_words("UPDATE", WIRE, &join, 4);
    assert_eq!(shared.len(), 4, "{shared:?}");
    assert!(
        shared.iter().all(|w| WIRE.to_lowercase().contains(w.as_str())),
        "the body's words as written: {shared:?}"
    );
    let other = [member(2, 1, -1, "UPDATE: Japan dispatches SDF officers", OTHER)];
    assert_eq!(
        same_event(&new, &near(&other), bar(None), (|_| 0, 100)),
        None,
        "same title, another story"
    );
    // Found only as another entry of a story, not through the index: no copy on its own.
    let unfound = [Neighbour {
        found: false,
        ..near(&copy)[0]
    }];
    assert_eq!(same_event(&new, &unfound, bar(None), (|_| 0, 100)), None);
}

#[test]
fn a_rewrite_joins_its_event_and_not_another_event_of_the_subject() {
    let new = features(REWRITE_TITLE, REWRITE);
    let stories = [member(1, 1, -2, WIRE_TITLE, WIRE), member(2, 2, -1, OTHER_TITLE, OTHER)];
    let certainty = Some(crate::config::DEFAULT_CERTAINTY);
    let join = same_event(&new, &near(&stories), bar(certainty), (|_| 1, 100)).expect("the same event");
    assert_eq!((join.story, join.entry), (1, 0));
    let Rule::Event {
        certainty: sure,
        pair,
        entries,
        next,
    } = join.rule
    else {
        panic!("{join:?}")
    };
    assert!(
        sure >= crate::config::DEFAULT_CERTAINTY && pair > 0.5 && entries == 1 && next < 0.5,
        "{join:?}"
    );
    // The event's names come first among the words shown, then the other words.
    let shared = shared_words(REWRITE_TITLE, REWRITE, &join, 12);
    let at = |w: &str| {
        shared
            .iter()
            .position(|x| x == w)
            .unwrap_or_else(|| panic!("{w}: {shared:?}"))
    };
    assert!(at("wiesbaden") < at("offic") && at("nato") < at("offic"), "{shared:?}");
    // Copies only: no rewrite joins.
    assert_eq!(same_event(&new, &near(&stories), bar(None), (|_| 1, 100)), None);
    // The other event alone is not this one.
    let other = features(OTHER_TITLE, OTHER);
    assert_eq!(
        same_event(&other, &near(&stories[..1]), bar(certainty), (|_| 1, 100)),
        None
    );
}

#[test]
fn a_story_is_weighed_by_all_its_entries_and_against_the_next_story() {
    let new = features(REWRITE_TITLE, REWRITE);
    let sure = |members: &[Member]| match same_event(&new, &near(members), bar(Some(0.01)), (|_| 1, 100)) {
        Some(Join {
            rule: Rule::Event { certainty, .. },
            ..
        }) => certainty,
        other => panic!("{other:?}"),
    };
    let alone = sure(&[member(1, 1, -2, WIRE_TITLE, WIRE)]);
    // The same story holding another event's report too (wrongly, or a live story that moved
    // on): less sure, as the report is unlike half of it.
    let mixed = sure(&[member(1, 1, -2, WIRE_TITLE, WIRE), member(1, 2, -1, OTHER_TITLE, OTHER)]);
    assert!(mixed < alone, "{mixed} < {alone}");
    // A rival story about as alike: less sure than alone.
    let rival = sure(&[
        member(1, 1, -2, WIRE_TITLE, WIRE),
        member(3, 2, -1, "Japan sends SDF officers to NATO's Ukraine command", WIRE),
    ]);
    assert!(rival < alone, "{rival} < {alone}");
}

#[test]
fn reports_further_apart_in_time_are_less_likely_one_event() {
    let new = features(REWRITE_TITLE, REWRITE);
    let old = features(WIRE_TITLE, WIRE);
    let weighing = Weighing::of(&new, |_| 1, 100);
    let score = |apart| judge::pair_score(&Pair::of(&new, &old, apart, &weighing));
    assert!(score(0.0) > score(0.5) && score(0.5) > score(1.0));
}

#[test]
fn stored_features_read_back_and_junk_reads_as_empty() {
    let f = features(
        "Japan sends SDF officers",
        "Tokyo said on Monday it would send officers to NATO.",
    );
    let back = from_stored(&stored(&f));
    assert_eq!((&back.slots, back.scale, back.counts), (&f.slots, f.scale, f.counts));
    // The form before slots: the number of terms of the vector, then it and the body's, as
    // (64-bit hash, weight) pairs.
    let wide = |terms: &[(u64, f32)]| -> Vec<u8> {
        terms
            .iter()
            .flat_map(|(t, w)| t.to_le_bytes().into_iter().chain(w.to_le_bytes()))
            .collect()
    };
    let (all, body) = ([(7u64 << 32 | 3, 0.6f32), (5, 0.8)], [(5u64, 1.0f32)]);
    let mut old = 2u32.to_le_bytes().to_vec();
    old.extend(wide(&all));
    old.extend(wide(&body));
    let back = from_stored(&old);
    assert_eq!(
        back.slots.iter().map(|s| s.term).collect::<Vec<_>>(),
        [3, 5],
        "ids are the low 32 bits"
    );
    assert_eq!(back.count(Part::All), 2);
    assert_eq!(back.weights(Part::Body).collect::<Vec<_>>(), [(5, 1.0)]);
    assert_eq!(from_stored(&[1, 2]), Features::default());
    assert_eq!(from_stored(&[255, 255, 255, 255, 1]), Features::default());
    assert_eq!(
        from_stored(&[3, 0xFF, 0xFF, 0xFF, 9, 0, 0, 0]),
        Features::default(),
        "too short"
    );
}

#[test]
fn a_pair_s_figures_are_what_their_definitions_say() {
    // Pair::of looks words up through a table; here each figure is worked out the plain way.
    let texts = [
        (WIRE_TITLE, WIRE),
        (REWRITE_TITLE, REWRITE),
        (
            "Sendor pledges aid to Ukraine",
            "Sendor said on Monday the aid would reach Kyiv by May.",
        ),
        (
            "Mones pledges aid to Ukraine",
            "Mones, speaking in Oslo, said 40 trucks would leave.",
        ),
        ("NATO summit opens", ""),
    ];
    let all: Vec<Features> = texts.iter().map(|(t, b)| features(t, b)).collect();
    for new in &all {
        let weighing = Weighing::of(new, |t| t % 5, 100);
        for old in &all {
            let p = Pair::of(new, old, 0.25, &weighing);
            let find = |f: &Features, t: TermId| f.slots.iter().find(|s| s.term == t).copied();
            let shared: Vec<(Slot, Slot)> = new
                .slots
                .iter()
                .filter_map(|x| find(old, x.term).map(|y| (*x, y)))
                .collect();
            for part in [Part::All, Part::Title] {
                let want = similarity(new, old, part).score;
                let got = if part == Part::All { p.all } else { p.title };
                assert!((got - want).abs() < 1e-4, "{part:?}: {got} against {want}");
            }
            if p.bodies {
                let want = similarity(new, old, Part::Body).score;
                assert!((p.body - want).abs() < 1e-4, "body: {} against {want}", p.body);
            }
            let both = shared.iter().filter(|(x, y)| x.all > 0 && y.all > 0);
            assert_eq!(p.shared as usize, both.clone().count());
            let rare = both.filter(|(x, _)| x.term % 5 <= pair::RARE).count();
            assert_eq!(p.rare, rare as f32);
            let strangers = |a: &Features, b: &Features| {
                let n = a
                    .slots
                    .iter()
                    .filter(|s| s.name && s.title > 0 && find(b, s.term).is_none());
                n.count() as f32
            };
            assert_eq!(p.strangers, strangers(new, old).min(strangers(old, new)));
            let norm = |f: &Features| {
                f.slots
                    .iter()
                    .filter(|s| s.name)
                    .map(|s| f32::from(s.all).powi(2))
                    .sum::<f32>()
            };
            let dot: f32 = shared
                .iter()
                .filter(|(x, y)| x.name && y.name)
                .map(|(x, y)| f32::from(x.all) * f32::from(y.all))
                .sum();
            let names = if norm(new) > 0.0 && norm(old) > 0.0 {
                dot / (norm(new) * norm(old)).sqrt()
            } else {
                0.0
            };
            assert!(
                (p.names - names.min(1.0)).abs() < 1e-4,
                "names: {} against {names}",
                p.names
            );
        }
    }
}
