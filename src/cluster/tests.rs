use super::*;

fn features(title: &str, body: &str) -> Features {
    Draft::of(title, body).weigh(0, |_| 0)
}

#[test]
fn vectors_have_length_one_and_survive_storage() {
    let f = features(
        "Japan sends SDF officers to NATO",
        "Tokyo said on Monday it would send officers.",
    );
    let len: f32 = f.vector.terms.iter().map(|t| t.1 * t.1).sum();
    assert!((len - 1.0).abs() < 1e-5, "{len}");
    assert_eq!(Vector::from_bytes(&f.vector.to_bytes()), f.vector);
    assert_eq!(Vector::from_bytes(&[1, 2, 3]), Vector::default());
}

#[test]
fn hashes_are_stable_across_versions() {
    // Stored in every database: a change here would split every stored story from its copies.
    assert_eq!(term_hash(""), 0xCBF2_9CE4_8422_2325);
    assert_eq!(term_hash("nato"), 0xC467_B3BA_8E1A_E5B9);
    let f = features("", "one two three four five");
    assert_eq!(f.band_keys.len(), BANDS);
    assert_eq!(f.band_keys[0], 0xE732_3BFF_464C_AC81, "MinHash bands are stored too");
}

#[test]
fn copies_share_bands_and_rewrites_share_words() {
    let body = "The Defense Ministry said on Monday that three Self-Defense Force officers will \
                join the NATO command in Wiesbaden that coordinates aid to Ukraine.";
    let a = features("Japan to send SDF officers to NATO's Ukraine command", body);
    let copy = features("UPDATE: Japan to send SDF officers to NATO Ukraine command", body);
    assert!(a.band_keys.iter().any(|b| copy.band_keys.contains(b)));
    assert!(similarity(&a.vector, &copy.vector).score > 0.9);
    let other = features(
        "Japan trains Ukrainian deminers in Lithuania",
        "Japanese instructors began a course for Ukrainian mine clearance officers in Lithuania, \
         NATO said.",
    );
    let s = similarity(&a.vector, &other.vector);
    assert!(s.score < 0.3, "{s:?}");
}

fn bar(threshold: f32) -> Bar {
    Bar {
        threshold,
        at: 0,
        window: 72 * 3600,
    }
}

fn neighbour(story: i64, title: &str, body: &str) -> Neighbour {
    let f = features(title, body);
    Neighbour {
        story,
        entry: story * 10,
        at: 0,
        vector: f.vector,
        body: f.body,
    }
}

#[test]
fn reports_further_apart_in_time_must_be_more_alike() {
    let new = features("Typhoon Hagibis floods Nagano river", "");
    let near = [neighbour(2, "Hagibis floods Nagano as river bursts", "")];
    let score = similarity(&new.vector, &near[0].vector).score;
    // A threshold the pair passes at the same time, by a tenth.
    let words = new.vector.terms.len().min(near[0].vector.terms.len()) as f32;
    let threshold = score / (1.0 + SHORT_TEXT / words) / 1.1;
    let at = |hours: i64| Bar {
        at: hours * 3600,
        ..bar(threshold)
    };
    assert!(same_event(&new, &near, at(0)).is_some());
    assert!(
        same_event(&new, &near, at(-5)).is_some(),
        "five hours apart: a 7% higher bar"
    );
    // A day and a half apart the bar is 50% higher: no longer a plain rewrite, though still
    // a clear lead while no other story is near; two and a half days apart, neither.
    let far = same_event(&new, &near, at(36)).expect("a clear lead");
    assert!(matches!(far.rule, Rule::Clear { next } if next == 0.0), "{far:?}");
    assert!(same_event(&new, &near, at(60)).is_none(), "83% higher");
}

#[test]
fn the_most_alike_story_above_the_threshold_wins() {
    let new = features("Typhoon Hagibis floods Nagano river", "");
    let near = [
        neighbour(1, "Typhoon Hagibis hits Tokyo", ""),
        neighbour(2, "Hagibis floods Nagano as river bursts", ""),
        neighbour(3, "Nagano", ""),
    ];
    assert_eq!(same_event(&new, &near, bar(0.3)).map(|j| j.story), Some(2));
    assert_eq!(same_event(&new, &near[..1], bar(0.2)).map(|j| j.story), Some(1));
    assert_eq!(
        same_event(&new, &near[..1], bar(0.99)),
        None,
        "below a copy, above the threshold"
    );
    // One shared word is a subject, not an event, however alike.
    let one = [neighbour(4, "Nagano", "")];
    assert_eq!(same_event(&features("Nagano", ""), &one, bar(0.1)), None);
}

#[test]
fn copies_are_one_story_even_with_rewrites_off_but_a_shared_title_is_not_a_copy() {
    let body = "Three Self-Defense Force officers will join the NATO command in Wiesbaden that \
                coordinates aid to Ukraine, the Defense Ministry said on Monday.";
    let new = features("UPDATE: Japan to send SDF officers to NATO's Ukraine command", body);
    let copy = [neighbour(1, "Japan sends SDF officers to NATO's Ukraine command", body)];
    let join = same_event(&new, &copy, bar(1.0)).expect("a copy");
    assert_eq!((join.story, join.entry, join.rule), (1, 10, Rule::Copy));
    let shared = shared_words("UPDATE", body, &join, 4);
    assert_eq!(shared.len(), 4, "{shared:?}");
    assert!(
        shared.iter().all(|w| body.to_lowercase().contains(w.as_str())),
        "the body's words as written: {shared:?}"
    );
    let other = [neighbour(
        2,
        "UPDATE: Japan to send SDF officers to NATO's Ukraine command",
        "Typhoon Hagibis flooded the Chikuma river in Nagano; thousands of homes lost power.",
    )];
    assert_eq!(same_event(&new, &other, bar(1.0)), None, "same title, another story");
}

#[test]
fn stored_vectors_read_back_and_junk_reads_as_empty() {
    let f = features(
        "Japan sends SDF officers",
        "Tokyo said on Monday it would send officers.",
    );
    let (all, body) = from_stored(&stored(&f.vector, &f.body));
    assert_eq!((all, body), (f.vector, f.body));
    assert_eq!(from_stored(&[1, 2]), Default::default());
    assert_eq!(from_stored(&[255, 255, 255, 255, 1]).0, Vector::default());
}

#[test]
fn a_little_under_the_bar_joins_only_the_story_that_leads_by_far() {
    let new = features("Typhoon Hagibis floods Nagano river", "");
    let story = neighbour(2, "Hagibis floods Nagano as river bursts", "");
    let score = similarity(&new.vector, &story.vector).score;
    let words = new.vector.terms.len().min(story.vector.terms.len()) as f32;
    let standing = score / (1.0 + SHORT_TEXT / words);
    // The pair stands at 80% of the bar: a rewrite only as a clear lead.
    let under = bar(standing / 0.8);
    let join = same_event(&new, std::slice::from_ref(&story), under).expect("alone: a clear lead");
    assert!(matches!(join.rule, Rule::Clear { next } if next == 0.0), "{join:?}");
    // Another story about as alike: a guess between two, so neither.
    let rival = neighbour(3, "Hagibis: Nagano river floods homes", "");
    assert!(similarity(&new.vector, &rival.vector).score > score / CLEAR_LEAD);
    assert_eq!(same_event(&new, &[story.clone(), rival], under), None);
    // Another story far less alike leaves the lead clear, and is shown as the next.
    let faint = neighbour(4, "Nagano apple harvest begins", "");
    let join = same_event(&new, &[story.clone(), faint], under).expect("still clear");
    assert!(
        matches!(join.rule, Rule::Clear { next } if next > 0.0 && next < score / CLEAR_LEAD),
        "{join:?}"
    );
    // Under two thirds of the bar, never.
    assert_eq!(same_event(&new, &[story], bar(standing / 0.6)), None);
}
