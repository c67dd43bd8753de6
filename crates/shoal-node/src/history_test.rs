use shoal_api::views::{EventKind, Sample};

use super::{EVENT_CAPACITY, History, SAMPLE_CAPACITY};

fn sample(at_ms: u64) -> Sample {
    Sample {
        at_ms,
        members_alive: 1,
        members_suspect: 0,
        actors: 0,
        messages_handled: 0,
        cpu_ms: None,
        rss_bytes: None,
        restarts: 0,
        failovers: 0,
        peers: Vec::new(),
    }
}

#[test]
fn keeps_the_newest_ten_thousand_events_and_counts_every_one() {
    let history = History::new("n1", 7);
    for i in 0..EVENT_CAPACITY + 5 {
        history.record(EventKind::NodeUp, format!("p{i}"), None, "up");
    }
    let page = history.page(0, usize::MAX);
    assert_eq!(page.events.len(), EVENT_CAPACITY);
    assert_eq!(page.events[0].seq, 6, "the five oldest went");
    assert_eq!(page.dropped, 5);
    assert_eq!(page.last_seq, (EVENT_CAPACITY + 5) as u64);
    assert_eq!(
        history.count(EventKind::NodeUp, None),
        (EVENT_CAPACITY + 5) as u64
    );
}

#[test]
fn a_page_after_a_seq_is_the_newest_events_up_to_the_limit() {
    let history = History::new("n1", 7);
    for i in 0..10 {
        history.record(EventKind::Chaos, format!("s{i}"), Some("partition"), "cut");
    }
    let page = history.page(4, 3);
    let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![8, 9, 10], "a reader far behind skips to the present");
    assert!(history.page(10, 100).events.is_empty());
    assert_eq!(history.count(EventKind::Chaos, Some("partition")), 10);
    assert_eq!(history.count(EventKind::Chaos, Some("heal")), 0);
}

#[test]
fn keeps_an_hour_of_samples_and_steps_end_at_the_newest() {
    let history = History::new("n1", 7);
    for t in 1..=(SAMPLE_CAPACITY as u64 + 10) {
        history.push_sample(sample(t * 1000));
    }
    let all = history.samples(0, 1);
    assert_eq!(all.len(), SAMPLE_CAPACITY);
    assert_eq!(all[0].at_ms, 11_000);
    let stepped = history.samples(0, 10);
    assert_eq!(stepped.len(), SAMPLE_CAPACITY / 10);
    assert_eq!(
        stepped.last().map(|s| s.at_ms),
        history.latest_sample().map(|s| s.at_ms)
    );
    assert_eq!(history.samples(3_000_000, 1).len(), 610);
}

#[test]
fn a_node_down_and_not_back_is_gone_and_one_that_came_back_is_not() {
    let history = History::new("n1", 7);
    history.record(EventKind::NodeDown, "n2", Some("Crashed"), "down");
    history.record(EventKind::NodeDown, "n3", Some("Left"), "down");
    history.record(EventKind::NodeUp, "n2", None, "up");
    let gone = history.gone(10);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].name, "n3");
    assert_eq!(gone[0].reason, "Left");
}

#[test]
fn long_text_is_cut_at_a_char_boundary() {
    let history = History::new("n1", 7);
    history.record(EventKind::Restart, "é".repeat(300), None, "x".repeat(1000));
    let event = &history.page(0, 1).events[0];
    assert!(event.subject.len() <= 200 && event.detail.len() == 200);
}

#[test]
fn a_full_history_stays_under_its_memory_goal() {
    let bytes = History::full_estimate(9);
    assert!(bytes > 1 << 20, "the estimate counts what is kept: {bytes}");
    assert!(bytes < 16 << 20, "{bytes}");
}
