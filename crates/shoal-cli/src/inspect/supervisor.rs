//! `shoal supervisor`: the distributed supervisor's children table, as every node's replica
//! holds it, without curl.
//!
//! Every node is asked (`GET /api/supervisor`). The table shown is the first answering node's
//! replica; a child whose owner or pid differs on another replica is marked, and the line
//! under the table says how many differ (replicas converge within a couple of seconds). A pid
//! is shown as `shoal ps` prints it, `<id>@<node>`.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};
use shoal_api::views::{ChildView, SupervisorView};

use super::fanout::{self, Answer};
use super::table::{self, Table};
use super::{InspectArgs, errors_json, finish, pid_text};

/// One child as one replica sees it: owner and pid (for the agreement check).
type Placement = (String, String);

/// `shoal supervisor`.
pub(crate) fn supervisor(args: InspectArgs) -> anyhow::Result<()> {
    let answers: Vec<Answer<SupervisorView>> =
        fanout::all(&args.targets()?, "/api/supervisor", args.timeout());
    let replicas: Vec<(&str, &SupervisorView)> = answers
        .iter()
        .filter_map(|a| a.result.as_ref().ok().map(|v| (a.node.as_str(), v)))
        .collect();
    let Some((shown_from, shown)) = replicas.first().copied() else {
        return finish(&answers);
    };
    let children = &shown.children;
    let views: Vec<BTreeMap<String, Placement>> = replicas.iter().map(|(_, v)| placements(v)).collect();
    let agrees = |id: &str| views.windows(2).all(|w| w[0].get(id) == w[1].get(id));
    let differing: Vec<String> = views
        .iter()
        .flat_map(BTreeMap::keys)
        .filter(|id| !agrees(id))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if args.json {
        print_json(shown_from, shown, &differing, &answers);
    } else {
        print_table(children, &differing);
        // Like the table, the summary ends quietly when the reader has gone (`| head`).
        let _ = writeln!(
            std::io::stdout(),
            "{} children, {} running, {} given up (replica of {shown_from}; {} nodes answered)",
            children.len(),
            children.iter().filter(|c| c.pid.is_some()).count(),
            children.iter().filter(|c| c.failed.is_some()).count(),
            replicas.len(),
        );
        if !differing.is_empty() {
            eprintln!(
                "replicas differ on {} child(ren) ({}, marked *); they converge within a couple of seconds",
                differing.len(),
                differing.join(", ")
            );
        }
    }
    finish(&answers)
}

fn print_json(
    shown_from: &str,
    shown: &SupervisorView,
    differing: &[String],
    answers: &[Answer<SupervisorView>],
) {
    let rows: Vec<Value> = shown
        .children
        .iter()
        .map(|c| {
            let mut row = json!(c);
            row["pid_text"] = json!(pid_text(c.pid.as_ref()));
            row["agree"] = json!(!differing.contains(&c.id));
            row
        })
        .collect();
    outln!(
        "{}",
        json!({
            "replica_of": shown_from,
            "counts": shown.counts,
            "children": rows,
            "consistent": differing.is_empty(),
            "differing": differing,
            "errors": errors_json(answers),
        })
    );
}

fn print_table(children: &[ChildView], differing: &[String]) {
    let mut out = Table::new([
        "ID",
        "OWNER",
        "PID",
        "RESTARTS",
        "LAST START",
        "STATE KEPT",
        "NOTE",
    ]);
    for c in children {
        let mut note = Vec::new();
        if c.moving {
            note.push("moving".to_owned());
        }
        if let Some(failed) = &c.failed {
            note.push(format!("given up: {}", table::text(failed)));
        }
        if differing.contains(&c.id) {
            note.push("*".to_owned());
        }
        out.row([
            c.id.clone(),
            c.owner.clone(),
            pid_text(c.pid.as_ref()),
            c.restarts.to_string(),
            start_text(&c.last_start),
            c.state_kept.to_string(),
            if note.is_empty() {
                "-".to_owned()
            } else {
                note.join(", ")
            },
        ]);
    }
    out.print();
}

/// Each child's owner and pid in one replica's answer.
fn placements(answer: &SupervisorView) -> BTreeMap<String, Placement> {
    answer
        .children
        .iter()
        .map(|c| (c.id.clone(), (c.owner.clone(), pid_text(c.pid.as_ref()))))
        .collect()
}

/// How an instance started, as a cell: `Fresh`, `HandedOff from n1`, `Restarted (Error: boom)`.
fn start_text(kind: &Value) -> String {
    let Some((name, fields)) = kind.as_object().and_then(|m| m.iter().next()) else {
        return table::text(kind);
    };
    if let Some(from) = fields["from"].as_str() {
        format!("{name} from {from}")
    } else if !fields["reason"].is_null() {
        format!("{name} ({})", reason_text(&fields["reason"]))
    } else {
        name.clone()
    }
}

/// An exit reason as text: `Normal`, `Error: boom`.
fn reason_text(reason: &Value) -> String {
    match reason.as_object().and_then(|m| m.iter().next()) {
        Some((name, detail)) => format!("{name}: {}", table::text(detail)),
        None => table::text(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_kinds_read_as_words() {
        assert_eq!(start_text(&json!("Fresh")), "Fresh");
        assert_eq!(
            start_text(&json!({"HandedOff": {"from": "n1"}})),
            "HandedOff from n1"
        );
        assert_eq!(
            start_text(&json!({"Restarted": {"reason": {"Error": "boom"}}})),
            "Restarted (Error: boom)"
        );
        assert_eq!(
            start_text(&json!({"Restarted": {"reason": "Killed"}})),
            "Restarted (Killed)"
        );
        let pid: shoal_api::views::PidView =
            serde_json::from_value(json!({"id": 7, "node": {"name": "n2", "creation": 1}})).unwrap();
        assert_eq!(pid_text(Some(&pid)), "7@n2");
        assert_eq!(pid_text(None), "-");
    }
}
