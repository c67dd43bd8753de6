//! `shoal members | ps | info | kill` against a cluster started by `shoal cluster start`,
//! driven as a user would. A node inside the test process joins the cluster (with the cookie
//! from the state directory) to start actors on it.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{ClusterDir, shoal_in};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;
use serde_json::Value;
use shoal_node::actor::{
    ECHO_SUPERVISOR_FACTORY, EchoCall, EchoReply, EchoSupervisorArgs, ExitReason, Strategy,
};
use shoal_node::{Node, NodeName};
use shoal_testkit::wait_until;

const WAIT: Duration = Duration::from_secs(20);

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps_info_and_kill_see_actors_on_every_node_and_report_a_dead_one() {
    let guard = ClusterDir::new("inspect");
    let dir = guard.0.clone();
    let started = shoal_in(&dir, &["cluster", "start", "--size", "2", "--json"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let nodes = json(&started);
    let listen = nodes[0]["listen"].as_str().unwrap().to_owned();
    let http_n2 = nodes[1]["http"].as_str().unwrap().to_owned();
    let pid_n2 = nodes[1]["pid"].as_u64().unwrap() as i32;

    let cookie = std::fs::read_to_string(dir.join("cookie")).unwrap();
    let probe = Node::builder()
        .name("inspect-probe")
        .cookie(cookie.trim())
        .seeds([listen])
        .start()
        .await
        .unwrap();
    let args = EchoSupervisorArgs {
        strategy: Strategy::OneForOne,
        children: 2,
        max_restarts: 5,
        within_ms: 10_000,
    };
    let n1 = NodeName::new("n1").unwrap();
    let linked = tokio::time::timeout(WAIT, async {
        loop {
            match probe
                .actors()
                .spawn_remote(&n1, ECHO_SUPERVISOR_FACTORY, &args, WAIT)
                .await
            {
                Ok(pid) => return pid,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
    let sup = linked.await.unwrap();

    // ps: the supervisor and its two children on n1, found by name.
    let ps = json(&shoal_in(&dir, &["ps", "--json", "--name", "echo"]));
    let actors = ps["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 3, "{ps}");
    let child = actors
        .iter()
        .find(|a| a["actor"]["name"] == "echo-0")
        .map(|a| a["actor"]["pid_text"].as_str().unwrap().to_owned())
        .unwrap();
    assert!(child.ends_with("@n1"));

    // info: the child's parent is the supervisor; the supervisor lists both children.
    let info = json(&shoal_in(&dir, &["info", "--json", &format!("{}@n1", sup.id)]));
    assert_eq!(info["children"].as_array().unwrap().len(), 2, "{info}");

    // kill (token from the state dir): the supervisor restarts the child.
    let down = probe.actors().monitor(&shoal_node::actor::Pid::new(
        sup.node.clone(),
        child.split('@').next().unwrap().parse().unwrap(),
    ));
    // The monitor travels on the link, the kill over HTTP: a call on the same link first
    // makes sure n1 has set up the monitor before the kill arrives.
    let other = actors
        .iter()
        .find(|a| a["actor"]["name"] == "echo-1")
        .map(|a| a["actor"]["pid_text"].as_str().unwrap().to_owned())
        .unwrap();
    let other = shoal_node::actor::Pid::new(
        sup.node.clone(),
        other.split('@').next().unwrap().parse().unwrap(),
    );
    let _: EchoReply = probe
        .actors()
        .call(&other, EchoCall::Received, WAIT)
        .await
        .unwrap();
    let killed = shoal_in(&dir, &["kill", &child]);
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    assert_eq!(
        tokio::time::timeout(WAIT, down).await.unwrap(),
        ExitReason::Killed
    );
    let restarted = wait_until(WAIT, || {
        let ps = json(&shoal_in(&dir, &["ps", "--json", "--name", "echo-0"]));
        (ps["actors"][0]["actor"]["restarts"] == 1).then_some(())
    });
    assert!(restarted.is_some());
    let wrong = shoal_in(&dir, &["kill", &format!("{}@n1", sup.id), "--token", "nope"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong admin token"));

    // registry: a name registered through the echo on n1 shows on every node, and health
    // counts it as converged.
    let echo_pid = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(pid) = probe
                .actors()
                .spawn_remote(&n1, shoal_node::actor::ECHO_FACTORY, &(), WAIT)
                .await
            {
                return pid;
            }
        }
    })
    .await
    .unwrap();
    let _: shoal_node::actor::EchoReply = probe
        .actors()
        .call(
            &echo_pid,
            shoal_node::actor::EchoCall::Register(vec!["inspect-name".into()]),
            WAIT,
        )
        .await
        .unwrap();
    let registry = wait_until(WAIT, || {
        let r = json(&shoal_in(&dir, &["registry", "--json"]));
        (r["consistent"] == true && r["names"].as_array().is_some_and(|n| n.len() == 1)).then_some(r)
    });
    let registry = registry.expect("the name on every node");
    assert_eq!(registry["names"][0]["pid"], echo_pid.to_string());
    // (The full-mesh check fails while the probe is a member; the registry check passes.)
    let health = json(&shoal_in(&dir, &["cluster", "health", "--json"]));
    let check = health["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "registry")
        .unwrap();
    assert_eq!(check["ok"], true, "{health}");

    // --connect: any node's HTTP address reaches all of them.
    let members = json(&shoal_in(&dir, &["members", "--json", "--connect", &http_n2]));
    assert!(members["members"].as_array().unwrap().len() >= 4, "{members}");

    // A dead node: partial results, one error line for it, exit status 1.
    kill(OsPid::from_raw(pid_n2), Signal::SIGKILL).unwrap();
    let partial = shoal_in(&dir, &["ps", "--json"]);
    assert!(!partial.status.success());
    let partial_json = json(&partial);
    assert_eq!(partial_json["errors"][0]["node"], "n2", "{partial_json}");
    assert!(partial_json["actors"].as_array().unwrap().len() >= 3);
    probe.shutdown().await;
}

/// `shoal supervisor --json` once every replica agrees and `count` children run.
fn supervisor_settled(dir: &Path, count: usize) -> Option<Value> {
    let out = shoal_in(dir, &["supervisor", "--json"]);
    let table = serde_json::from_slice::<Value>(&out.stdout).ok()?;
    let children = table["children"].as_array()?;
    let running = children.iter().filter(|c| c["pid_text"] != "-").count();
    (out.status.success() && table["consistent"] == true && children.len() == count && running == count)
        .then_some(table)
}

#[test]
fn supervisor_shows_the_children_table_and_a_graceful_restart_as_handed_off() {
    let guard = ClusterDir::new("supervisor");
    let dir = guard.0.clone();
    let started = shoal_in(&dir, &["cluster", "start", "--size", "2", "--demo"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    // The first node seeds all 24 before the second joins; rebalancing then moves some.
    let owned_by_n2 = |table: &Value| -> Vec<String> {
        table["children"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["owner"] == "n2")
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect()
    };
    let before = wait_until(WAIT, || {
        supervisor_settled(&dir, 24).filter(|t| !owned_by_n2(t).is_empty())
    })
    .expect("24 demo counters never ran with some on n2");
    let on_n2 = owned_by_n2(&before);

    let text = shoal_in(&dir, &["supervisor"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("ID "), "{text}");
    assert!(text.contains("demo.counter.00"), "{text}");
    assert!(text.contains("24 children, 24 running, 0 given up"), "{text}");

    let restarted = shoal_in(&dir, &["cluster", "restart", "n2"]);
    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    let after =
        wait_until(WAIT, || supervisor_settled(&dir, 24)).expect("the counters did not all run again");
    for id in &on_n2 {
        let child = after["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap();
        assert!(child["last_start"]["HandedOff"]["from"].is_string(), "{child}");
        assert_eq!(child["state_kept"], true, "{child}");
    }
    let text = shoal_in(&dir, &["supervisor"]);
    let text = String::from_utf8_lossy(&text.stdout);
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("{} ", on_n2[0])))
        .unwrap();
    assert!(row.contains("HandedOff from n"), "{text}");
}

#[test]
fn state_and_info_show_an_actors_state_by_pid_or_registered_name() {
    let guard = ClusterDir::new("state");
    let dir = guard.0.clone();
    let started = shoal_in(&dir, &["cluster", "start", "--size", "1", "--demo"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    // The counter ticks once a second: by name, its count grows.
    let count = |out: &Output| json(out)["state"]["count"].as_u64();
    let first = wait_until(WAIT, || {
        count(&shoal_in(&dir, &["state", "demo.counter.00", "--json"]))
    })
    .expect("demo.counter.00 never showed a count");
    let later = wait_until(WAIT, || {
        count(&shoal_in(&dir, &["state", "demo.counter.00", "--json"])).filter(|c| *c > first)
    });
    assert!(later.is_some(), "the count stayed at {first}");
    let pid = json(&shoal_in(&dir, &["state", "demo.counter.00", "--json"]))["pid"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_pid = shoal_in(&dir, &["state", &pid]);
    assert!(
        String::from_utf8_lossy(&by_pid.stdout).contains("\"count\""),
        "{by_pid:?}"
    );
    let info = shoal_in(&dir, &["info", "demo.counter.00"]);
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("state ") && l.contains("count")),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.starts_with("registered ") && l.ends_with("demo.counter.00")),
        "{info}"
    );
    // `ps` shows registered names, and `--name` finds an actor by one.
    let clock = shoal_in(&dir, &["ps", "--name", "clock"]);
    let clock = String::from_utf8_lossy(&clock.stdout);
    assert_eq!(clock.lines().count(), 2, "a header and the clock: {clock}");
    assert!(clock.lines().nth(1).unwrap().contains("demo.clock"), "{clock}");

    let unknown = shoal_in(&dir, &["state", "no.such.name"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no actor is registered as no.such.name"),
        "{unknown:?}"
    );
    // An actor without a state view (any actor that is not a counter) says so.
    let actors = json(&shoal_in(&dir, &["ps", "--json"]));
    let other = actors["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["actor"])
        .find(|a| !a["type_name"].as_str().unwrap_or_default().contains("Counter"))
        .unwrap_or_else(|| panic!("only counters: {actors}"));
    let other = other["pid_text"].as_str().unwrap();
    let refused = shoal_in(&dir, &["state", other]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not expose its state"),
        "{refused:?}"
    );
}
