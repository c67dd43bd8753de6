//! Cluster-wide debugger commands: `shoal members`, `shoal ps`, `shoal info PID`,
//! `shoal kill PID`, `shoal state PID`, `shoal send PID JSON`, `shoal call PID JSON`,
//! `shoal registry`, `shoal supervisor`, `shoal discovery`. A PID is
//! `<id>@<node>` or a registered name. They ask every node's HTTP API in parallel, each with its own timeout,
//! and show what answered beside one error line per node that did not (exit status 1 then).
//!
//! The nodes come from the cluster in `--state-dir` (default `.shoal`), or, with
//! `--connect HOST:PORT`, from that node's member list: any node's HTTP address reaches the
//! whole cluster.

mod discovery;
mod fanout;
mod message;
mod state;
mod supervisor;
mod table;

pub(crate) use discovery::discovery;
pub(crate) use message::{MessageArgs, call, send};
pub(crate) use state::state;
use state::state_line;
pub(crate) use supervisor::supervisor;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shoal_api::views::{ActorDetail, ActorView, Killed, MemberView, PidView, RegistryEntry};

use crate::cluster::start::ADMIN_TOKEN_FILE;
use crate::cluster::state::{ClusterState, is_our_process};
use fanout::{Answer, Target};
use table::Table;

/// Where to find the nodes, and how to print.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct InspectArgs {
    /// The cluster started by `shoal cluster start` in this directory.
    #[arg(long, env = shoal_api::env::STATE_DIR, default_value = crate::hint::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Any node's HTTP address (`HOST:PORT` or `http://HOST:PORT`) instead of a state dir.
    #[arg(long, value_name = "ADDR")]
    connect: Option<String>,
    /// How long to wait for each node, in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    timeout_ms: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `shoal ps` filters.
#[derive(clap::Args, Debug)]
pub(crate) struct PsArgs {
    #[command(flatten)]
    target: InspectArgs,
    /// Only actors on this node.
    #[arg(long)]
    node: Option<String>,
    /// Only actors whose name or type contains this text.
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
}

/// `shoal info PID` and `shoal kill PID`.
#[derive(clap::Args, Debug)]
pub(crate) struct PidArgs {
    #[command(flatten)]
    target: InspectArgs,
    /// The actor: `<id>@<node>` (the form `shoal ps` prints) or a registered name.
    pid: String,
    /// Admin token for `kill`, `send` and `call` (default: `SHOAL_ADMIN_TOKEN`, then the
    /// state dir's token).
    #[arg(long, env = shoal_api::env::ADMIN_TOKEN, hide_env_values = true)]
    token: Option<String>,
}

impl InspectArgs {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    /// The nodes to ask: every node of the state dir's cluster, or every member the
    /// `--connect` node lists.
    fn targets(&self) -> anyhow::Result<Vec<Target>> {
        let Some(connect) = &self.connect else {
            let state = ClusterState::load(&self.state_dir)?.with_context(|| {
                format!(
                    "no cluster in {} (the state dir of `shoal cluster start`); to ask nodes \
                     started some other way, pass any node's HTTP address: --connect HOST:PORT \
                     (the \"http\" of its ready line), or --state-dir DIR of the cluster",
                    self.state_dir.display()
                )
            })?;
            return Ok(state
                .nodes
                .iter()
                .map(|n| Target {
                    name: n.name.clone(),
                    http: n.http,
                    down: (!is_our_process(n.pid, &state.bin)).then(|| {
                        format!(
                            "down (pid {} is not running); bring it back with {}",
                            n.pid,
                            crate::hint::shoal(&self.state_dir, &format!("cluster restart {}", n.name))
                        )
                    }),
                })
                .collect());
        };
        let addr = parse_addr(connect)?;
        let members: Vec<MemberView> = fanout::get(addr, "/api/members", self.timeout())
            .map_err(|e| anyhow::anyhow!("{e}; is a node's HTTP API at --connect {connect}?"))?;
        Ok(members
            .into_iter()
            .map(|m| Target {
                name: m.name,
                http: m.http,
                down: None,
            })
            .collect())
    }
}

fn parse_addr(text: &str) -> anyhow::Result<SocketAddr> {
    let bare = text.trim_start_matches("http://").trim_end_matches('/');
    bare.parse().with_context(|| {
        format!("invalid --connect {text}: use HOST:PORT of a node's HTTP API, e.g. 127.0.0.1:4001")
    })
}

/// The targets' names, for an error about a node that is not among them.
fn node_names(targets: &[Target]) -> String {
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    names.join(", ")
}

/// Prints per-node errors; fails when any node did not answer.
fn finish<T>(answers: &[Answer<T>]) -> anyhow::Result<()> {
    let failed: Vec<&Answer<T>> = answers.iter().filter(|a| a.result.is_err()).collect();
    for a in &failed {
        eprintln!(
            "{}: {}",
            a.node,
            a.result.as_ref().err().map_or("", String::as_str)
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} nodes did not answer; results above are partial",
            failed.len(),
            answers.len()
        );
    }
    Ok(())
}

fn errors_json<T>(answers: &[Answer<T>]) -> Value {
    answers
        .iter()
        .filter_map(|a| {
            a.result
                .as_ref()
                .err()
                .map(|e| json!({"node": a.node, "error": e}))
        })
        .collect()
}

/// `shoal members`: every node's own view of the membership.
pub(crate) fn members(args: InspectArgs) -> anyhow::Result<()> {
    let answers: Vec<Answer<Vec<MemberView>>> = fanout::all(&args.targets()?, "/api/members", args.timeout());
    let rows: Vec<(&str, &MemberView)> = answers
        .iter()
        .flat_map(|a| a.result.iter().flatten().map(|m| (a.node.as_str(), m)))
        .collect();
    if args.json {
        let rows: Vec<Value> = rows
            .iter()
            .map(|(view_of, m)| {
                json!({"view_of": view_of, "member": m.name, "state": m.state,
                "self": m.is_self, "linked": m.linked, "rtt_us": m.rtt_us, "version": m.version})
            })
            .collect();
        outln!("{}", json!({"members": rows, "errors": errors_json(&answers)}));
    } else {
        let mut table = Table::new(["VIEW OF", "MEMBER", "STATE", "LINKED", "RTT_US", "VERSION"]);
        for (view_of, m) in &rows {
            let linked = if m.is_self {
                "self".into()
            } else {
                m.linked.to_string()
            };
            table.row([
                (*view_of).to_owned(),
                m.name.clone(),
                m.state.clone(),
                linked,
                m.rtt_us.map_or_else(|| "-".to_owned(), |us| us.to_string()),
                m.version.clone(),
            ]);
        }
        table.print();
    }
    finish(&answers)
}

/// `shoal registry`: every node's view of the global registry, name by name, with whether
/// the views agree.
pub(crate) fn registry(args: InspectArgs) -> anyhow::Result<()> {
    let answers: Vec<Answer<Vec<RegistryEntry>>> =
        fanout::all(&args.targets()?, "/api/registry", args.timeout());
    let answered: Vec<&Answer<Vec<RegistryEntry>>> = answers.iter().filter(|a| a.result.is_ok()).collect();
    let mut names: std::collections::BTreeMap<String, Vec<(String, Option<String>)>> = Default::default();
    for answer in &answered {
        for entry in answer.result.iter().flatten() {
            names.entry(entry.name.clone()).or_default();
        }
    }
    for (name, views) in &mut names {
        for answer in &answered {
            let pid = answer.result.as_ref().ok().and_then(|entries| {
                entries
                    .iter()
                    .find(|e| e.name == *name)
                    .map(|e| e.pid_text.clone())
            });
            views.push((answer.node.clone(), pid));
        }
    }
    let agree = |views: &[(String, Option<String>)]| views.windows(2).all(|w| w[0].1 == w[1].1);
    let differing = names.values().filter(|v| !agree(v)).count();
    if args.json {
        let rows: Vec<Value> = names
            .iter()
            .map(|(name, views)| {
                let per_node: serde_json::Map<String, Value> =
                    views.iter().map(|(n, p)| (n.clone(), json!(p))).collect();
                json!({"name": name, "pid": views.first().and_then(|v| v.1.clone()), "agree": agree(views), "views": per_node})
            })
            .collect();
        outln!(
            "{}",
            json!({"names": rows, "consistent": differing == 0, "errors": errors_json(&answers)})
        );
    } else {
        let mut table = Table::new(["NAME", "PID", "VIEWS"]);
        for (name, views) in &names {
            let pid = views
                .first()
                .and_then(|v| v.1.clone())
                .unwrap_or_else(|| "-".into());
            let detail = if agree(views) {
                format!("same on all {}", views.len())
            } else {
                views
                    .iter()
                    .map(|(n, p)| format!("{n}:{}", p.as_deref().unwrap_or("-")))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            table.row([name.clone(), pid, detail]);
        }
        table.print();
        if differing > 0 {
            eprintln!("views differ on {differing} name(s); they converge within about a second");
        }
    }
    finish(&answers)
}

/// `shoal ps`: the actors of every node.
pub(crate) fn ps(args: PsArgs) -> anyhow::Result<()> {
    let mut targets = args.target.targets()?;
    if let Some(node) = &args.node {
        let names = node_names(&targets);
        targets.retain(|t| t.name == *node);
        if targets.is_empty() {
            bail!("no node named {node} in the cluster; its nodes are {names}");
        }
    }
    let answers: Vec<Answer<Vec<ActorView>>> = fanout::all(&targets, "/api/actors", args.target.timeout());
    let wanted = |a: &ActorView| {
        args.name.as_deref().is_none_or(|text| {
            a.name.as_deref().is_some_and(|n| n.contains(text))
                || a.registered.iter().any(|n| n.contains(text))
                || a.type_name.contains(text)
        })
    };
    let mut rows: Vec<(String, ActorView)> = answers
        .iter()
        .flat_map(|answer| {
            let actors = answer.result.as_ref().ok().cloned().unwrap_or_default();
            actors
                .into_iter()
                .filter(wanted)
                .map(|a| (answer.node.clone(), a))
        })
        .collect();
    rows.sort_by_key(|(node, a)| (node.clone(), a.pid.id));
    if args.target.json {
        let actors: Vec<Value> = rows
            .iter()
            .map(|(node, a)| json!({"node": node, "actor": a}))
            .collect();
        outln!("{}", json!({"actors": actors, "errors": errors_json(&answers)}));
    } else {
        let mut table = Table::new([
            "PID", "NAME", "TYPE", "STATUS", "MAILBOX", "HANDLED", "RESTARTS", "UPTIME", "PARENT",
        ]);
        for (_, a) in &rows {
            table.row([
                a.pid_text.clone(),
                display_name(a),
                short_type(&a.type_name),
                a.status.clone(),
                a.mailbox_depth.to_string(),
                a.handled.to_string(),
                a.restarts.to_string(),
                table::duration(a.uptime_ms),
                pid_text(a.parent.as_ref()),
            ]);
        }
        table.print();
    }
    finish(&answers)
}

/// An actor's name for `ps`: the names registered to it, else the name it was spawned with.
fn display_name(actor: &ActorView) -> String {
    if actor.registered.is_empty() {
        actor.name.clone().unwrap_or_else(|| "-".to_owned())
    } else {
        actor.registered.join(",")
    }
}

/// A pid as `<id>@<node>`; `-` for none.
fn pid_text(pid: Option<&PidView>) -> String {
    pid.map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The last path segment of a Rust type name (`shoal_node::actor::Echo` -> `Echo`).
fn short_type(name: &str) -> String {
    let base = name.split('<').next().unwrap_or(name);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

/// The actor `args.pid` names (`<id>@<node>`, or a registered name looked up in the
/// cluster's registry) and its node.
fn locate(args: &PidArgs) -> anyhow::Result<(u64, Target)> {
    let targets = args.target.targets()?;
    let pid_text = match args.pid.split_once('@') {
        Some(_) => args.pid.clone(),
        None if args.pid.parse::<u64>().is_ok() => bail!(
            "invalid pid {}: write <id>@<node>, as `shoal ps` prints it, or a registered name",
            args.pid
        ),
        None => whereis(&targets, &args.pid, args.target.timeout())?,
    };
    let (id, node) = pid_text
        .split_once('@')
        .with_context(|| format!("invalid pid {pid_text}: write <id>@<node>, as `shoal ps` prints it"))?;
    let id: u64 = id
        .parse()
        .with_context(|| format!("invalid pid {pid_text}: the part before @ is a number"))?;
    let names = node_names(&targets);
    let target = targets
        .into_iter()
        .find(|t| t.name == node)
        .with_context(|| format!("no node named {node} in the cluster; its nodes are {names}"))?;
    Ok((id, target))
}

/// The pid (`<id>@<node>`) registered under `name`, from the first node whose registry
/// answers.
fn whereis(targets: &[Target], name: &str, timeout: Duration) -> anyhow::Result<String> {
    let answers: Vec<Answer<Vec<RegistryEntry>>> = fanout::all(targets, "/api/registry", timeout);
    let registry = answers
        .iter()
        .find_map(|a| a.result.as_ref().ok())
        .with_context(|| format!("no node answered to look up the name {name}"))?;
    registry
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.pid_text.clone())
        .with_context(|| {
            format!(
                "no actor is registered as {name}; `shoal registry` lists the names, \
                 `shoal ps` the pids (<id>@<node>)"
            )
        })
}

/// `shoal info PID`.
pub(crate) fn info(args: PidArgs) -> anyhow::Result<()> {
    let (id, target) = locate(&args)?;
    let http = target.http_addr()?;
    let detail: ActorDetail = fanout::get(http, &format!("/api/actors/{id}"), args.target.timeout())
        .map_err(|e| anyhow::anyhow!("{}: {}", target.name, target.down.clone().unwrap_or(e)))?;
    if args.target.json {
        outln!("{}", json!(detail));
        return Ok(());
    }
    let a = &detail.actor;
    for (key, value) in [
        ("pid_text", a.pid_text.clone()),
        ("name", a.name.clone().unwrap_or_else(|| "-".to_owned())),
        ("type_name", a.type_name.clone()),
        ("status", a.status.clone()),
        ("mailbox_depth", a.mailbox_depth.to_string()),
        ("handled", a.handled.to_string()),
        ("dropped", a.dropped.to_string()),
        ("restarts", a.restarts.to_string()),
    ] {
        outln!("{key:<14} {value}");
    }
    outln!("{:<14} {}", "registered", words(&a.registered));
    outln!("{:<14} {}", "uptime", table::duration(a.uptime_ms));
    outln!(
        "{:<14} {}",
        "parent",
        a.parent
            .as_ref()
            .map_or("-".into(), |p| format!("{}@{}", p.id, target.name))
    );
    outln!("{:<14} {}", "state", state_line(http, id, args.target.timeout()));
    outln!("{:<14} {}", "children", words(&detail.children));
    Ok(())
}

/// The admin token: `--token` (or `SHOAL_ADMIN_TOKEN`), else the state dir's token file.
fn admin_token(args: &PidArgs) -> anyhow::Result<String> {
    match &args.token {
        Some(token) => Ok(token.clone()),
        None => std::fs::read_to_string(args.target.state_dir.join(ADMIN_TOKEN_FILE))
            .map(|t| t.trim().to_owned())
            .with_context(|| {
                "no admin token: pass --token or SHOAL_ADMIN_TOKEN (a cluster started by \
                 `shoal cluster start` keeps one in its state dir)"
            }),
    }
}

/// A list of words as one cell: separated by spaces, `-` when empty.
fn words(list: &[String]) -> String {
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.join(" ")
    }
}

/// `shoal kill PID`.
pub(crate) fn kill(args: PidArgs) -> anyhow::Result<()> {
    let (id, target) = locate(&args)?;
    let http = target.http_addr()?;
    let token = admin_token(&args)?;
    let answer: Killed = fanout::post(
        http,
        &format!("/api/actors/{id}/kill"),
        &token,
        args.target.timeout(),
    )
    .map_err(|e| anyhow::anyhow!("{}: {}", target.name, target.down.clone().unwrap_or(e)))?;
    if args.target.json {
        outln!("{}", json!(answer));
    } else {
        outln!("killed {}", args.pid);
    }
    Ok(())
}
