//! The outbox with the real binary, a real SQLite file and the recording SMTP server on
//! 127.0.0.1: temporary failures retried until they go through, exactly once and with the same
//! Message-ID; refusals parked while later messages flow, then retried by hand; a refused
//! recipient beside an accepted one; alerts, per-topic recipients, a story in two topics.

mod common;

use std::time::Duration;

use common::*;

/// Two stories: one about NATO and Japan's SDF, one about NATO and Ukraine.
async fn serve_news(feeds: &FeedServer, extra: &[Item<'_>]) {
    feeds.reset().await;
    let base = feeds.url("");
    let (link1, link2) = (format!("{base}/n/1"), format!("{base}/n/2"));
    let (date1, date2) = (rfc2822_hours_ago(2), rfc2822_hours_ago(1));
    let mut items = vec![
        Item {
            guid: "n-1",
            title: "SDF officers join NATO command",
            link: &link1,
            text: "Japan's Self-Defense Forces send officers to a NATO command.",
            date: &date1,
        },
        Item {
            guid: "n-2",
            title: "NATO trains Ukraine deminers",
            link: &link2,
            text: "Deminers from Ukraine train with NATO in Lithuania.",
            date: &date2,
        },
    ];
    items.extend_from_slice(extra);
    feeds.serve("/rss.xml", "application/rss+xml", rss(&items)).await;
}

/// The SMTP section (retries in seconds), topics, and one feed.
fn config(feeds: &FeedServer, smtp: &SmtpServer, topics: &str) -> String {
    format!(
        "{}retry = \"1s\"\nretry_max = \"1s\"\nretry_refused = \"1s\"\n\
         [fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n{topics}\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        smtp_email(smtp.port),
        feeds.url("/rss.xml")
    )
}

const ONE_TOPIC: &str = "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n";

/// The two stories polled once, with one topic, nothing mailed yet.
async fn polled_once() -> (FeedServer, SmtpServer, Sandbox) {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    serve_news(&feeds, &[]).await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp, ONE_TOPIC));
    sandbox.run(&["poll"]).await.ok();
    (feeds, smtp, sandbox)
}

fn by_recipient(mails: &[Received], to: &str) -> Vec<Received> {
    mails.iter().filter(|m| m.recipients == [to]).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_refusal_is_retried_with_the_same_message_and_delivered_once() {
    let (_feeds, mut smtp, sandbox) = polled_once().await;

    smtp.script(|s| s.data_reply = Some((451, "4.3.0 try again later".into())));
    let first = sandbox.run(&["digest"]).await;
    assert_eq!(first.code, Some(1), "{first:?}");
    for (id, to) in [(1, "analyst@test.invalid"), (2, "desk@test.invalid")] {
        let needle = format!("outbox #{id} to {to} (digest, 2 stories) not sent: SMTP server 127.0.0.1:");
        assert!(first.stderr.contains(&needle), "{needle:?} in {}", first.stderr);
    }
    assert!(
        first.stderr.contains("451 4.3.0 try again later") || first.stderr.contains("(451)"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("; next attempt at "), "{}", first.stderr);
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(
        outbox.ok().stdout.contains("outbox #1 to analyst@test.invalid"),
        "{}",
        outbox.stdout
    );
    // Composed, not sent: the stories say so.
    let state = |run: &Run| -> Vec<(String, bool)> {
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        doc["stories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["state"].as_str().unwrap().to_string(), s["sent_at"].is_string()))
            .collect()
    };
    let stories = sandbox.run(&["stories", "--json"]).await;
    assert_eq!(state(stories.ok()), vec![("pending".to_string(), false); 2]);
    let text = sandbox.run(&["stories"]).await;
    assert!(
        text.ok().stdout.contains("in the outbox, not sent yet"),
        "{}",
        text.stdout
    );

    // The server takes mail again; the next run (asked for by hand: its retry time is not
    // waited for) sends what waited, and nothing new is made.
    smtp.script(|s| s.data_reply = None);
    let second = sandbox.run(&["digest"]).await;
    second.ok();
    assert!(
        second
            .stdout
            .contains("sent outbox #1 (digest, 2 stories) to analyst@test.invalid, left pending before"),
        "{}",
        second.stdout
    );
    let mails = smtp.drain(Duration::from_millis(500)).await;
    assert_eq!(mails.len(), 2, "one message per recipient, once");
    // Every attempt is the very same message.
    let tried = smtp.attempted();
    for mail in &mails {
        let earlier: Vec<&Received> = tried.iter().filter(|t| t.recipients == mail.recipients).collect();
        assert_eq!(earlier.len(), 2, "refused once, then accepted");
        assert!(
            earlier
                .iter()
                .all(|t| t.message_id == mail.message_id && t.raw == mail.raw)
        );
    }
    let stories = sandbox.run(&["stories", "--json"]).await;
    assert_eq!(state(stories.ok()), vec![("sent".to_string(), true); 2]);
    let third = sandbox.run(&["digest"]).await;
    assert!(third.ok().stdout.contains("nothing to send"), "{}", third.stdout);
    smtp.expect_nothing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_is_parked_while_later_ones_flow_then_retried_by_hand() {
    let (feeds, mut smtp, sandbox) = polled_once().await;

    // The server refuses any message that carries the deminers story, for good (5xx).
    smtp.script(|s| {
        s.refuse_containing = Some((
            "NATO trains Ukraine deminers".into(),
            (554, "5.7.1 content rejected".into()),
        ))
    });
    for refusal in 1..=3 {
        let run = sandbox.run(&["digest"]).await;
        assert_eq!(run.code, Some(1), "refusal {refusal}: {run:?}");
        assert!(run.stderr.contains("554"), "{}", run.stderr);
        if refusal < 3 {
            assert!(run.stderr.contains("next attempt at"), "{}", run.stderr);
        } else {
            assert!(
                run.stderr
                    .contains("parked after 3 refusals: `newswatch outbox retry 1`"),
                "{}",
                run.stderr
            );
        }
    }
    let status = sandbox.run(&["status"]).await;
    assert!(
        status.ok().stdout.contains("outbox: 0 pending, 2 parked"),
        "{}",
        status.stdout
    );

    // A later story goes out while the first message waits, and says it is parked.
    let base = feeds.url("");
    let later = Item {
        guid: "n-3",
        title: "NATO summit date set",
        link: &format!("{base}/n/3"),
        text: "The NATO summit will meet in July.",
        date: &rfc2822_hours_ago(0),
    };
    serve_news(&feeds, &[later]).await;
    sandbox.run(&["poll"]).await.ok();
    let run = sandbox.run(&["digest"]).await;
    run.ok();
    let mails = smtp.drain(Duration::from_millis(500)).await;
    assert_eq!(mails.len(), 2, "{run:?}");
    for mail in &mails {
        assert!(mail.subject.starts_with("newswatch: 1 new story"), "{}", mail.subject);
        assert!(mail.text.contains("NATO summit date set"));
        assert!(
            !mail.text.contains("SDF officers join NATO command"),
            "not in two messages"
        );
        // The plain text is wrapped at 78 columns: compare its words.
        let words = mail.text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains("Messages not delivered:"), "{}", mail.text);
        assert!(words.contains("was refused: SMTP server"), "{}", mail.text);
        assert!(words.contains("newswatch outbox retry"), "{}", mail.text);
    }

    // By hand, once the server takes it.
    smtp.script(|s| s.refuse_containing = None);
    let retry = sandbox.run(&["outbox", "retry"]).await;
    assert!(
        retry.ok().stdout.contains("2 messages tried again: 2 sent, 0 not"),
        "{}",
        retry.stdout
    );
    let mails = smtp.drain(Duration::from_millis(500)).await;
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert!(
            mail.text.contains("SDF officers join NATO command") && mail.text.contains("NATO trains Ukraine deminers")
        );
        let first_try = smtp
            .attempted()
            .into_iter()
            .find(|t| t.recipients == mail.recipients)
            .unwrap();
        assert_eq!(first_try.message_id, mail.message_id, "the same message as refused");
    }
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(outbox.ok().stdout.contains("the outbox is empty"), "{}", outbox.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_neither_holds_up_nor_duplicates_the_others() {
    let (_feeds, mut smtp, sandbox) = polled_once().await;
    // The first message in the outbox is the one refused: the second must not wait for it.
    smtp.script(|s| {
        s.refuse_rcpt
            .insert("analyst@test.invalid".into(), (550, "5.1.1 no such mailbox".into()));
    });
    let run = sandbox.run(&["digest"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.contains("digest sent: 2 stories to desk@test.invalid"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("outbox #1 to analyst@test.invalid"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("550"), "{}", run.stderr);
    let again = sandbox.run(&["digest"]).await;
    assert_eq!(again.code, Some(1), "analyst is still refused: {again:?}");
    let mails = smtp.drain(Duration::from_millis(500)).await;
    assert_eq!(by_recipient(&mails, "desk@test.invalid").len(), 1, "desk once");
    assert!(by_recipient(&mails, "analyst@test.invalid").is_empty());
}

const ROUTED: &str = r#"
[[topic]]
name = "SDF"
keywords = ["SDF", "Self-Defense Forces"]
alert = "immediate"
to = ["alerts@test.invalid"]

[[topic]]
name = "NATO"
keywords = ["NATO"]

[[topic]]
name = "Ukraine"
keywords = ["Ukraine"]
to = ["kyiv@test.invalid", "desk@test.invalid"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_per_topic_recipients_and_a_story_in_two_topics() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_news(&feeds, &[]).await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp, ROUTED));

    // The SDF story is mailed by the poll that found it, to the SDF topic's recipient only.
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    assert!(
        poll.stdout.contains("alert sent: 1 story to alerts@test.invalid"),
        "{}",
        poll.stdout
    );
    let alert = smtp.next().await;
    assert_eq!(alert.recipients, ["alerts@test.invalid"]);
    assert_eq!(
        alert.subject,
        format!("newswatch alert: 1 new story (SDF: 1), {}", today())
    );
    assert!(alert.text.contains("SDF officers join NATO command"));
    smtp.expect_nothing().await;

    // The digest: each recipient once per story, under their first matching topic.
    sandbox.run(&["digest"]).await.ok();
    let mails = smtp.drain(Duration::from_millis(500)).await;
    let one = |to: &str| {
        let got = by_recipient(&mails, to);
        assert_eq!(
            got.len(),
            1,
            "{to}: {:?}",
            mails.iter().map(|m| &m.recipients).collect::<Vec<_>>()
        );
        got.into_iter().next().unwrap()
    };
    assert!(
        by_recipient(&mails, "alerts@test.invalid").is_empty(),
        "the alert had it all"
    );
    let analyst = one("analyst@test.invalid");
    assert_eq!(
        analyst.subject,
        format!("newswatch: 2 new stories (NATO: 2), {}", today())
    );
    let desk = one("desk@test.invalid");
    assert_eq!(desk.subject, format!("newswatch: 2 new stories (NATO: 2), {}", today()));
    assert_eq!(desk.text.matches("NATO trains Ukraine deminers").count(), 1);
    assert!(desk.text.contains("(also matches: Ukraine)"), "{}", desk.text);
    let kyiv = one("kyiv@test.invalid");
    assert_eq!(
        kyiv.subject,
        format!("newswatch: 1 new story (Ukraine: 1), {}", today())
    );
    assert!(!kyiv.text.contains("SDF officers"), "not Kyiv's topic");
}

#[tokio::test]
async fn digests_go_out_on_the_chosen_days_only() {
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap();
    let day = format!("{:?}", tomorrow.weekday()).to_ascii_lowercase();
    let sandbox = Sandbox::new(&format!(
        "[digest]\nat = [\"00:00\"]\ndays = [\"{day}\"]\ntimezone = \"UTC\"\n{ONE_TOPIC}\n\
         [[source]]\nname = \"S\"\nurl = \"http://127.0.0.1:9/f\"\n"
    ));
    let check = sandbox.run(&["check"]).await;
    let expected = format!("next digest: {tomorrow} 00:00 UTC");
    assert!(
        check.ok().stdout.contains(&expected),
        "{expected:?} in {}",
        check.stdout
    );
    // Any day but tomorrow: the next digest is further away.
    let others: Vec<String> = (1..7)
        .map(|i| format!("\"{:?}\"", tomorrow.weekday().wrapping_add(i)).to_ascii_lowercase())
        .collect();
    sandbox.write_config(&format!(
        "[digest]\nat = [\"00:00\"]\ndays = [{}]\ntimezone = \"UTC\"\n{ONE_TOPIC}\n\
         [[source]]\nname = \"S\"\nurl = \"http://127.0.0.1:9/f\"\n",
        others.join(", ")
    ));
    let check = sandbox.run(&["check"]).await;
    assert!(!check.ok().stdout.contains(&expected), "{}", check.stdout);
}
