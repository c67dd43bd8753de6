//! `shoal discovery`: why a node did (not) join. Every node is asked (`GET /api/discovery`);
//! two tables follow: each strategy's last lookup, and each candidate address's last outcome
//! (`joined`, `refused: wrong cookie`, ...); with multicast discovery, a third: the beacons
//! each node sent, accepted and ignored, and the last one it ignored. To ask a node that has not joined, point
//! `--connect` at its own HTTP address.

use serde_json::{Value, json};
use shoal_api::views::DiscoveryView;

use super::fanout::{self, Answer};
use super::table::Table;
use super::{InspectArgs, errors_json, finish};

/// `shoal discovery`.
pub(crate) fn discovery(args: InspectArgs) -> anyhow::Result<()> {
    let answers: Vec<Answer<DiscoveryView>> = fanout::all(&args.targets()?, "/api/discovery", args.timeout());
    let views: Vec<(&str, &DiscoveryView)> = answers
        .iter()
        .filter_map(|a| a.result.as_ref().ok().map(|v| (a.node.as_str(), v)))
        .collect();
    if args.json {
        let nodes: Vec<Value> = views
            .iter()
            .map(|(node, v)| json!({"node": node, "discovery": v}))
            .collect();
        outln!("{}", json!({"nodes": nodes, "errors": errors_json(&answers)}));
        return finish(&answers);
    }
    let now_ms = shoal_node::now_us() / 1000;
    let ago = |ms: u64| format!("{:.1}s ago", now_ms.saturating_sub(ms) as f64 / 1000.0);
    let mut strategies = Table::new(["NODE", "STRATEGY", "LAST LOOKUP", "LOOKUPS", "FOUND", "ERROR"]);
    for (node, v) in &views {
        for s in &v.strategies {
            let found: Vec<String> = s.found.iter().map(ToString::to_string).collect();
            strategies.row([
                (*node).to_owned(),
                s.strategy.clone(),
                s.last_lookup_ms.map_or_else(|| "never".to_owned(), ago),
                s.lookups.to_string(),
                if found.is_empty() {
                    "-".to_owned()
                } else {
                    found.join(",")
                },
                s.error.clone().unwrap_or_else(|| "-".to_owned()),
            ]);
        }
    }
    strategies.print();
    outln!();
    let mut candidates = Table::new(["NODE", "CANDIDATE", "FROM", "OUTCOME", "SINCE"]);
    for (node, v) in &views {
        for c in &v.candidates {
            candidates.row([
                (*node).to_owned(),
                c.addr.to_string(),
                c.sources.join(","),
                c.outcome.describe().to_owned(),
                ago(c.outcome_ms),
            ]);
        }
    }
    candidates.print();
    beacons(&views, ago);
    finish(&answers)
}

/// The beacons table, when a node runs multicast discovery.
fn beacons(views: &[(&str, &DiscoveryView)], ago: impl Fn(u64) -> String) {
    let mut table = Table::new(["NODE", "GROUP", "SENT", "ACCEPTED", "IGNORED", "LAST IGNORED"]);
    let mut any = false;
    for (node, v) in views {
        let Some(m) = &v.multicast else { continue };
        any = true;
        let last = m.last_ignored.as_ref().map_or_else(
            || "-".to_owned(),
            |l| format!("{} from {}, {}", l.reason, l.from, ago(l.at_ms)),
        );
        table.row([
            (*node).to_owned(),
            m.group.to_string(),
            m.sent.to_string(),
            m.accepted.to_string(),
            m.ignored.to_string(),
            last,
        ]);
    }
    if any {
        outln!();
        table.print();
    }
}
