//! `Node::encode_metrics`: every documented family, with its type, and label sets that do
//! not grow with the number of actors.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use shoal_node::Node;
use shoal_node::actor::{Echo, EchoCall};

const WAIT: Duration = Duration::from_secs(20);

/// Every family `docs/metrics.md` documents in its tables (rows that start with
/// `` | `shoal_... ``), with its type (the second column).
fn documented() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/metrics.md");
    let doc = std::fs::read_to_string(path).unwrap();
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `shoal_"))
        .map(|row| {
            let mut cells = row.split('|').map(str::trim);
            let name = format!("shoal_{}", cells.next().unwrap().trim_end_matches('`'));
            (name, cells.next().unwrap().to_owned())
        })
        .collect()
}

/// The `# TYPE` lines of `text`: family name to type.
fn types(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

/// The series of `text` (each sample's name and labels, without its value).
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
        .collect()
}

/// The value of the sample whose series is exactly `key`.
fn value(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| *series == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn scrape(node: &Node) -> String {
    let mut out = String::new();
    node.encode_metrics(&mut out).unwrap();
    out
}

async fn pair() -> (Node, Node) {
    let a = Node::builder()
        .name("a")
        .cookie("m")
        .local_discovery(None)
        .start()
        .await
        .unwrap();
    let b = Node::builder()
        .name("b")
        .cookie("m")
        .local_discovery(None)
        .seeds([a.listen_addr().to_string()])
        .start()
        .await
        .unwrap();
    let joined = tokio::time::timeout(WAIT, async {
        while a.members().len() != 1 || b.members().len() != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(joined.is_ok(), "a and b never saw each other");
    (a, b)
}

#[tokio::test]
async fn the_families_written_are_exactly_those_documented_with_their_types() {
    let (a, b) = pair().await;
    let echo = a.actors().spawn(Echo::default());
    echo.call(EchoCall::Echo(Bytes::from_static(b"hi")), WAIT)
        .await
        .unwrap();
    let text = scrape(&a);
    let types = types(&text);
    let documented = documented();
    assert!(documented.len() > 30, "{documented:?}");
    assert_eq!(
        types, documented,
        "the families written and those docs/metrics.md documents differ"
    );
    // Every sample belongs to a declared family.
    for s in series(&text) {
        let name = s.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "{s} has no # TYPE line");
    }
    assert_eq!(
        value(&text, r#"shoal_members{state="alive"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(value(&text, r#"shoal_members{state="suspect"}"#), Some(0.0));
    assert_eq!(
        value(&text, r#"shoal_call_duration_seconds_count{target="local"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"shoal_local_messages_total{result="handled"}"#).map(|v| v >= 1.0),
        Some(true)
    );
    assert_eq!(
        value(&text, r#"shoal_link_reconnects_total{peer="b"}"#),
        Some(0.0),
        "{text}"
    );
    assert!(value(&text, r#"shoal_link_frames_total{peer="b",direction="in"}"#).unwrap() > 0.0);
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn series_do_not_grow_with_the_number_of_actors() {
    let a = Node::builder()
        .name("solo")
        .local_discovery(None)
        .start()
        .await
        .unwrap();
    let first: Vec<_> = (0..10).map(|_| a.actors().spawn(Echo::default())).collect();
    let before = series(&scrape(&a));
    let more: Vec<_> = (0..500).map(|_| a.actors().spawn(Echo::default())).collect();
    let text = scrape(&a);
    assert_eq!(
        before,
        series(&text),
        "new series appeared for more actors of one type"
    );
    let echo = r#"shoal_actors{type="shoal_node::actor::echo::Echo"}"#;
    assert_eq!(value(&text, echo), Some(510.0), "{text}");
    // No label carries a pid or an actor id.
    assert!(!text.contains(&first[0].pid().to_string()));
    drop((first, more));
    a.shutdown().await;
}

#[tokio::test]
async fn messages_handled_by_stopped_actors_stay_counted() {
    let a = Node::builder()
        .name("solo")
        .local_discovery(None)
        .start()
        .await
        .unwrap();
    let echo = a.actors().spawn(Echo::default());
    for _ in 0..3 {
        echo.call(EchoCall::Received, WAIT).await.unwrap();
    }
    let handled = r#"shoal_local_messages_total{result="handled"}"#;
    assert_eq!(value(&scrape(&a), handled), Some(3.0));
    a.actors().kill(echo.pid()).unwrap();
    let gone = tokio::time::timeout(WAIT, async {
        while value(
            &scrape(&a),
            r#"shoal_actors{type="shoal_node::actor::echo::Echo"}"#,
        )
        .is_some()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the actor never left the table");
    assert_eq!(value(&scrape(&a), handled), Some(3.0));
    a.shutdown().await;
}
