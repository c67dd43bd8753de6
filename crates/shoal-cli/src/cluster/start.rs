//! `shoal cluster start`: pre-flight checks, spawn, wait for ready lines, wait for full mesh.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use shoal_api::{Ready, env, wait_until};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::netns::{self, Netns, NetnsArgs};
use super::state::{ClusterState, NodeRecord, is_our_process};
use super::status;
use crate::hint;

/// How long a node may take to print its ready line, and the cluster to form.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Tries per node: a node that exits before its ready line is started again, twice.
const START_ATTEMPTS: u32 = 3;

/// Arguments of `shoal cluster start`.
#[derive(clap::Args, Debug)]
pub(crate) struct StartArgs {
    /// Number of nodes (1 to 64).
    #[arg(long, env = "SHOAL_CLUSTER_SIZE", default_value_t = 3)]
    pub(crate) size: usize,
    /// The node binary: `shoal` itself by default, or your own binary built on Shoal.
    #[arg(long)]
    pub(crate) bin: Option<PathBuf>,
    /// Fixed ports instead of OS-assigned ones: node i (from 1) listens on P + 2(i-1) for links
    /// and gossip, and serves HTTP on P + 2(i-1) + 1. Every port is checked before any starts.
    #[arg(long)]
    pub(crate) base_port: Option<u16>,
    /// If a cluster already runs in the state dir and is healthy, use it instead of failing.
    #[arg(long)]
    pub(crate) reuse: bool,
    /// Run the demo workload on every node (`shoal node --demo`): supervised counters, a
    /// singleton clock and a process group. Restarted nodes keep it.
    #[arg(long)]
    pub(crate) demo: bool,
    /// Run links over mutual TLS: makes a CA and a certificate per node in the state dir's
    /// `tls/` (`shoal certs gen`) and starts every node with `--tls required`.
    #[arg(long)]
    pub(crate) tls: bool,
    #[command(flatten)]
    pub(crate) net: NetnsArgs,
}

/// The link and HTTP addresses of node `i` (from 1).
pub(crate) fn node_addrs(base_port: Option<u16>, i: usize) -> anyhow::Result<(String, String)> {
    let Some(base) = base_port else {
        return Ok(("127.0.0.1:0".into(), "127.0.0.1:0".into()));
    };
    let listen = u32::from(base) + 2 * (i as u32 - 1);
    if listen + 1 > u32::from(u16::MAX) {
        bail!(
            "invalid --base-port {base}: {i} nodes need ports up to {}; use a base port of at most {}",
            listen + 1,
            u32::from(u16::MAX) + 1 - 2 * i as u32
        );
    }
    Ok((format!("127.0.0.1:{listen}"), format!("127.0.0.1:{}", listen + 1)))
}

/// Node `i`'s (from 1) link and HTTP addresses: on its namespace's IP with `--netns`.
pub(crate) fn addrs(state: &ClusterState, i: usize) -> anyhow::Result<(String, String)> {
    match &state.netns {
        Some(net) => Ok(net.node_addrs(i)),
        None => node_addrs(state.base_port, i),
    }
}

/// Checks that every fixed port is free (TCP, and UDP for gossip) before anything starts.
fn check_ports_free(args: &StartArgs) -> anyhow::Result<()> {
    if args.base_port.is_none() || args.net.netns {
        return Ok(());
    }
    for i in 1..=args.size {
        let (listen, http) = node_addrs(args.base_port, i)?;
        let busy = |addr: &str| -> anyhow::Error {
            anyhow::anyhow!(
                "port {addr} (n{i}) is in use; pick another --base-port or drop it to let the OS choose ports"
            )
        };
        std::net::TcpListener::bind(&listen).map_err(|_| busy(&listen))?;
        std::net::UdpSocket::bind(&listen).map_err(|_| busy(&listen))?;
        std::net::TcpListener::bind(&http).map_err(|_| busy(&http))?;
    }
    Ok(())
}

pub(crate) fn run(dir: &Path, args: StartArgs, json: bool) -> anyhow::Result<()> {
    if args.reuse
        && let Some(state) = ClusterState::load(dir)?
        && !state.live_nodes().is_empty()
    {
        let (healthy, ..) = super::health::evaluate(dir, &state);
        if !healthy {
            bail!(
                "--reuse: the cluster in {} is not healthy (see {}); stop it with {}",
                dir.display(),
                hint::shoal(dir, "cluster health"),
                hint::shoal(dir, "cluster stop")
            );
        }
        let runs_tls = dir.join(TLS_DIR).join("ca.pem").exists();
        if runs_tls != args.tls {
            let (has, asked) = if runs_tls {
                ("TLS", "without --tls")
            } else {
                ("plain links", "with --tls")
            };
            bail!(
                "--reuse: the cluster in {} runs {has}, but this start asks for it {asked}; stop it with {} first, or match --tls",
                dir.display(),
                hint::shoal(dir, "cluster stop")
            );
        }
        eprintln!("reusing the healthy cluster in {}", dir.display());
        return status::print(dir, &state, json);
    }
    let progress = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(args.size as u64), ProgressDrawTarget::stderr())
    };
    let (state, _) = start_with(dir, &args, &progress)?;
    progress.finish_and_clear();
    eprintln!(
        "cluster of {} nodes is up; logs in {}/logs; stop it with {}",
        args.size,
        dir.display(),
        hint::shoal(dir, "cluster stop")
    );
    if let Some(addr) = state.nodes.iter().find_map(|n| n.http) {
        eprintln!(
            "dashboard: {} (any node's page shows the whole cluster)",
            super::dashboard::url(addr)
        );
    }
    status::print(dir, &state, json)
}

/// Starts the cluster and waits for a full mesh; on failure, kills what it started.
pub(crate) fn start(dir: &Path, args: &StartArgs) -> anyhow::Result<ClusterState> {
    start_with(dir, args, &ProgressBar::hidden()).map(|(state, _)| state)
}

/// [`start`], with when (µs since the Unix epoch) the first node and the last were spawned.
pub(crate) fn start_timed(dir: &Path, args: &StartArgs) -> anyhow::Result<(ClusterState, (u64, u64))> {
    start_with(dir, args, &ProgressBar::hidden())
}

fn start_with(
    dir: &Path,
    args: &StartArgs,
    progress: &ProgressBar,
) -> anyhow::Result<(ClusterState, (u64, u64))> {
    let bin = preflight(dir, args)?;
    let dir = std::fs::canonicalize(dir)?;
    // A `start` killed before it had spawned a node leaves a record with a network only.
    if let Some(old) = ClusterState::load(&dir)?.and_then(|s| s.netns) {
        netns::teardown(&old.id)?;
    }
    super::logs::rotate_logs(&dir, args.size);
    let cookie = write_secret(&dir, "cookie")?;
    write_secret(&dir, ADMIN_TOKEN_FILE)?;
    let demo = dir.join(DEMO_FILE);
    if args.demo {
        std::fs::write(&demo, "on\n")?;
    } else {
        let _ = std::fs::remove_file(&demo);
    }
    let tls = dir.join(TLS_DIR);
    let _ = std::fs::remove_dir_all(&tls);
    if args.tls {
        // `client`: the certificate `shoal cluster run` gives its command.
        let mut names: Vec<String> = (1..=args.size).map(|i| format!("n{i}")).collect();
        names.push(TLS_CLIENT.to_owned());
        crate::certs::generate(&tls, &names, 825, true)?;
    }
    let mut state = ClusterState {
        bin,
        nodes: Vec::new(),
        base_port: args.base_port,
        netns: None,
    };
    if let Ok(style) = ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len}") {
        progress.set_style(style.progress_chars("=> "));
    }
    let mut spawned = (0, 0);
    let started = make_network(&dir, args, &mut state)
        .and_then(|()| {
            progress.set_message("starting nodes");
            spawned.0 = shoal_node::now_us();
            spawn_all(&dir, &cookie, args, &mut state)
        })
        .and_then(|()| {
            spawned.1 = shoal_node::now_us();
            wait_formed(&dir, &cookie, &mut state, progress)
        });
    if let Err(e) = started {
        // Nothing half-started stays behind: every node spawned so far is in `state`, and
        // the network's id names all of it.
        super::stop::kill_all(&state);
        if let Some(net) = &state.netns
            && let Err(more) = netns::teardown(&net.id)
        {
            eprintln!("warning: {more:#}");
        }
        let _ = std::fs::remove_file(ClusterState::path(&dir));
        return Err(e);
    }
    Ok((state, spawned))
}

/// With `--netns`: records the network in the state (and its marker), then makes it.
fn make_network(dir: &Path, args: &StartArgs, state: &mut ClusterState) -> anyhow::Result<()> {
    if !args.net.netns {
        return Ok(());
    }
    let net = Netns::plan(&args.net, args.base_port, args.size)?;
    netns::sweep::mark(&net.id, dir)?;
    state.netns = Some(net.clone());
    state.save(dir)?;
    net.create(dir)
}

/// Spawns every node, recording each pid (and saving the state) as soon as it exists.
fn spawn_all(dir: &Path, cookie: &Path, args: &StartArgs, state: &mut ClusterState) -> anyhow::Result<()> {
    for i in 1..=args.size {
        let name = format!("n{i}");
        let pid = spawn(dir, state, cookie, i)?;
        state.nodes.push(NodeRecord {
            name,
            pid,
            listen: None,
            http: None,
            creation: None,
        });
        state.save(dir)?;
    }
    Ok(())
}

/// Each check fails with one line that says what to do.
fn preflight(dir: &Path, args: &StartArgs) -> anyhow::Result<PathBuf> {
    if !(1..=64).contains(&args.size) {
        bail!("invalid --size {}: use 1 to 64 nodes", args.size);
    }
    if let Some(state) = ClusterState::load(dir)?
        && !state.live_nodes().is_empty()
    {
        bail!(
            "a cluster is already running in {}; stop it with {}, pass --reuse, or use another --state-dir",
            dir.display(),
            hint::shoal(dir, "cluster stop")
        );
    }
    if args.net.netns {
        let discovery = args.net.discovery.unwrap_or_default();
        if let Some(why) = netns::unavailable(discovery) {
            bail!("{why}; nothing was changed");
        }
        netns::sweep();
    }
    let bin = match &args.bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe().context("cannot find the shoal binary itself; pass --bin")?,
    };
    let version = Command::new(&bin).arg("--version").stdin(Stdio::null()).output();
    if !version.is_ok_and(|o| o.status.success()) {
        bail!(
            "--bin {} does not answer --version; build it first or fix the path",
            bin.display()
        );
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .with_context(|| "cannot bind 127.0.0.1: the loopback interface is not usable")?;
    check_hostname()?;
    check_ports_free(args)?;
    for sub in ["logs", "discovery"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| {
            format!(
                "cannot create {}; choose a writable --state-dir",
                dir.join(sub).display()
            )
        })?;
    }
    Ok(bin)
}

/// The file in the state directory holding the cluster's admin token (for mutating HTTP
/// requests and fault injection).
pub(crate) const ADMIN_TOKEN_FILE: &str = "admin-token";

/// A file in the state directory whose presence means the nodes run the demo workload.
const DEMO_FILE: &str = "demo";

/// The directory in the state directory holding the cluster's CA and node certificates;
/// its presence means the nodes run with `--tls required`.
pub(crate) const TLS_DIR: &str = "tls";

/// The certificate in [`TLS_DIR`] for programs that join the cluster from `shoal cluster run`.
pub(crate) const TLS_CLIENT: &str = "client";

/// The host name must resolve: node names default to `<hostname>-<pid>` and user binaries
/// often bind or advertise it.
fn check_hostname() -> anyhow::Result<()> {
    let host = nix::unistd::gethostname().context("cannot read this machine's host name")?;
    let host = host.to_string_lossy();
    if std::net::ToSocketAddrs::to_socket_addrs(&(host.as_ref(), 0)).is_err() {
        bail!("the host name {host} does not resolve; add `127.0.1.1 {host}` to /etc/hosts");
    }
    Ok(())
}

/// Writes a fresh random secret, readable by the owner only.
fn write_secret(dir: &Path, file: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(file);
    std::fs::write(&path, format!("{:032x}\n", rand::random::<u128>()))
        .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Starts node `i` (from 1, named `n<i>`) in its own process group (it outlives this
/// command), in its namespace with `--netns`; returns its pid. Settings go both as `shoal node`
/// flags and as the `SHOAL_*` variables that `Node::from_env()` reads, so a `--bin` built on
/// the library starts the same way.
pub(crate) fn spawn(dir: &Path, state: &ClusterState, cookie: &Path, i: usize) -> anyhow::Result<u32> {
    let bin = &state.bin;
    let name = &format!("n{i}");
    let (listen, http) = addrs(state, i)?;
    let _ = std::fs::remove_file(dir.join(format!("{name}.ready")));
    let (log, events) = super::logs::open_logs(dir, name)?;
    let ready = dir.join(format!("{name}.ready"));
    let local_dir = dir.join("discovery");
    let (discovery, seeds) = match &state.netns {
        Some(net) => net.discovery_flags(i)?,
        None => ("local".to_owned(), String::new()),
    };
    let mut command = match &state.netns {
        Some(net) => net.command(i, bin),
        None => Command::new(bin),
    };
    // Flags after the `node` ones below; the variables for a `--bin` of the library.
    let mut extra: Vec<String> = Vec::new();
    if !seeds.is_empty() {
        extra.extend(["--seeds".to_owned(), seeds.clone()]);
        command.env(env::SEEDS, &seeds);
    }
    if let Some(ms) = state.netns.as_ref().and_then(|n| n.discovery_interval_ms) {
        extra.extend(["--discovery-interval-ms".to_owned(), ms.to_string()]);
        command.env(env::DISCOVERY_INTERVAL_MS, ms.to_string());
    }
    if let Ok(token) = std::fs::read_to_string(dir.join(ADMIN_TOKEN_FILE)) {
        command.env(env::ADMIN_TOKEN, token.trim());
    }
    if dir.join(DEMO_FILE).exists() {
        command.env(env::DEMO, "true");
    }
    let tls = dir.join(TLS_DIR);
    if tls.join("ca.pem").exists() {
        let files = [
            ("--tls-cert", env::TLS_CERT, tls.join(format!("{name}.pem"))),
            ("--tls-key", env::TLS_KEY, tls.join(format!("{name}.key"))),
            ("--tls-ca", env::TLS_CA, tls.join("ca.pem")),
        ];
        command
            .args(["node", "--tls", "required"])
            .env(env::TLS, "required");
        for (flag, var, path) in files {
            command.arg(flag).arg(&path).env(var, &path);
        }
    } else {
        command.arg("node");
    }
    let child = command
        .args([
            "--name",
            name,
            "--listen",
            &listen,
            "--http",
            &http,
            "--discovery",
            &discovery,
        ])
        .arg("--cookie-file")
        .arg(cookie)
        .arg("--local-dir")
        .arg(&local_dir)
        .arg("--ready-file")
        .arg(&ready)
        .args(&extra)
        .env_remove(env::COOKIE)
        // Its stdin is /dev/null: it would leave at once.
        .env_remove(env::LEAVE_ON_STDIN_EOF)
        .env(env::NAME, name)
        .env(env::LISTEN, &listen)
        .env(env::HTTP, &http)
        .env(env::DISCOVERY, &discovery)
        .env(env::COOKIE_FILE, cookie)
        .env(env::LOCAL_DIR, &local_dir)
        .env(env::READY_FILE, &ready)
        .stdin(Stdio::null())
        .stdout(events)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    if state.netns.is_some() {
        netns::await_exec(child.id(), bin);
    }
    Ok(child.id())
}

/// Waits for every node's ready file (starting a node again if it exits first), then until
/// every node lists every other as alive.
fn wait_formed(
    dir: &Path,
    cookie: &Path,
    state: &mut ClusterState,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    for i in 0..state.nodes.len() {
        await_ready(dir, cookie, state, i)?;
        state.save(dir)?;
        progress.inc(1);
    }
    progress.set_message("waiting for full mesh");
    super::mesh::wait_mesh(dir, state)?;
    state.save(dir)
}

/// Waits for node `i`'s ready line; a node that exits first is started again, up to
/// [`START_ATTEMPTS`] tries in all.
fn await_ready(dir: &Path, cookie: &Path, state: &mut ClusterState, i: usize) -> anyhow::Result<()> {
    let name = state.nodes[i].name.clone();
    let path = dir.join(format!("{name}.ready"));
    for attempt in 1..=START_ATTEMPTS {
        let pid = state.nodes[i].pid;
        let outcome = wait_until(READY_TIMEOUT, || {
            if let Some(ready) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
            {
                return Some(Some(ready));
            }
            (!is_our_process(pid, &state.bin)).then_some(None)
        });
        match outcome {
            Some(Some(ready)) => {
                record_ready(&mut state.nodes[i], &ready);
                return Ok(());
            }
            Some(None) if attempt < START_ATTEMPTS => {
                eprintln!(
                    "{name} exited before it was ready (try {attempt} of {START_ATTEMPTS}); starting it again"
                );
                state.nodes[i].pid = spawn(dir, state, cookie, i + 1)?;
                state.save(dir)?;
            }
            Some(None) => {
                let what = format!("exited before it was ready, {START_ATTEMPTS} times");
                return Err(failed_start(dir, &name, &what));
            }
            None => return Err(failed_start(dir, &name, "printed no ready line")),
        }
    }
    Err(failed_start(dir, &name, "printed no ready line"))
}

/// Waits for `node`'s ready file and records its addresses and creation.
pub(crate) fn read_ready(dir: &Path, node: &mut NodeRecord) -> anyhow::Result<()> {
    let path = dir.join(format!("{}.ready", node.name));
    let ready: Ready = wait_until(READY_TIMEOUT, || {
        let text = std::fs::read_to_string(&path).ok()?;
        serde_json::from_str(&text).ok()
    })
    .ok_or_else(|| failed_start(dir, &node.name, "printed no ready line"))?;
    record_ready(node, &ready);
    Ok(())
}

fn record_ready(node: &mut NodeRecord, ready: &Ready) {
    node.listen = Some(ready.listen);
    node.http = ready.http;
    node.creation = Some(ready.creation);
}

fn failed_start(dir: &Path, name: &str, what: &str) -> anyhow::Error {
    let tail = super::mesh::log_tail(dir, name);
    anyhow::anyhow!("{name} {what} within {READY_TIMEOUT:?}{tail}")
}
