//! `shoal node`: one node in the foreground, speaking the ready-line contract.

use std::path::Path;

use anyhow::Context;
use shoal_http::StartError;
use shoal_node::Node;
use shoal_node::tls::TlsConfig;

use crate::settings::{NodeArgs, NodeSettings};
use crate::version;

/// Resolves settings (failing fast with one line), then runs the node until a signal; with
/// `--check`, prints the settings (and their warnings on stderr) instead of running.
pub(crate) fn run(args: NodeArgs) -> anyhow::Result<()> {
    let check = args.check;
    let settings = args.resolve()?;
    if check {
        let summary = settings.check()?;
        for warning in &settings.warnings {
            eprintln!("warning: {warning}");
        }
        print!("{summary}");
        return Ok(());
    }
    init_logging(&settings.log)?;
    tracing::info!("{}", settings.cookie_source.describe());
    match &settings.tls {
        Some(files) => {
            tracing::info!(cert = %files.cert.display(), ca = %files.ca.display(), "links: mutual TLS required")
        }
        None => tracing::info!("links: plain TCP (--tls off)"),
    }
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    // One worker per CPU this process may use (`taskset` narrows it): a worker with no core
    // of its own only adds thread switches to every message.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: NodeSettings) -> anyhow::Result<()> {
    let builder = Node::builder()
        .name(settings.name.as_str())
        .cookie(settings.cookie_bytes())
        .listen(settings.listen)
        .advertise(settings.advertise)
        .tls(settings.tls.clone().map(TlsConfig::from_files).transpose()?)
        .http(settings.http)
        .admin_token(settings.admin_token.clone())
        .seeds(if settings.static_discovery {
            settings.seeds.clone()
        } else {
            Vec::new()
        })
        .local_discovery(settings.local_discovery.then(|| settings.local_dir.clone()))
        .dns_discovery(settings.dns.clone())
        .multicast_discovery(settings.multicast)
        .discovery_interval(settings.discovery_interval)
        .roles(settings.roles.clone())
        .membership(settings.membership.clone())
        .version(version::FULL)
        .rebalance_children(settings.demo)
        .leave_on_stdin_eof(settings.leave_on_stdin_eof)
        .ready_min_members(settings.ready_min_members);
    let node = shoal_http::start(builder).await.map_err(start_error)?;
    // Subscribe before announcing, so no event after the ready line is missed.
    let printer = node.print_events();
    node.announce_ready(settings.ready_file.as_deref())
        .with_context(|| {
            format!(
                "cannot write --ready-file {}; check the directory exists and is writable",
                settings.ready_file.as_deref().unwrap_or(Path::new("")).display()
            )
        })?;
    if settings.demo {
        crate::demo::start(&node)?;
    }
    for _ in 0..settings.idle_actors {
        node.actors().spawn(shoal_node::actor::Echo::default());
    }
    let result = node.leave_on_shutdown(settings.ready_file.as_deref()).await;
    printer.abort();
    Ok(result?)
}

/// The node's own errors as they are; an HTTP bind error with the flag to change.
fn start_error(e: StartError) -> anyhow::Error {
    match e {
        StartError::Http { addr, source, .. } => {
            let fix = match source.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "another process uses that port: pick another --http port, or port 0"
                }
                _ => "check the --http address",
            };
            anyhow::anyhow!("cannot serve HTTP on {addr}: {source}; {fix}")
        }
        e => anyhow::anyhow!("{e}"),
    }
}

fn init_logging(filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid --log {filter:?}: {e}; use e.g. info or shoal_node=debug"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .compact()
        .init();
    Ok(())
}
