//! `shoal node`: one node in the foreground, speaking the ready-line contract.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use shoal_node::Node;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::settings::{NodeArgs, NodeSettings};
use crate::version;

/// Resolves settings (failing fast with one line), then runs the node until a signal.
pub(crate) fn run(args: NodeArgs) -> anyhow::Result<()> {
    let settings = args.resolve()?;
    init_logging(&settings.log)?;
    tracing::info!("{}", settings.cookie_source.describe());
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
    let http = match settings.http {
        Some(addr) => Some(bind_http(addr).await?),
        None => None,
    };
    let http_addr = http.as_ref().and_then(|l| l.local_addr().ok());
    let node = Node::builder()
        .name(settings.name.as_str())
        .cookie(settings.cookie_bytes())
        .listen(settings.listen)
        .http(http_addr)
        .seeds(if settings.static_discovery {
            settings.seeds.clone()
        } else {
            Vec::new()
        })
        .local_discovery(settings.local_discovery.then(|| settings.local_dir.clone()))
        .roles(settings.roles.clone())
        .membership(settings.membership.clone())
        .version(version::FULL)
        .rebalance_children(settings.demo)
        .leave_on_stdin_eof(settings.leave_on_stdin_eof)
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(listener) = http {
        let stopped = node.clone();
        let token = settings.admin_token.clone();
        tokio::spawn(shoal_http::serve(listener, node.clone(), token, async move {
            stopped.stopped().await
        }));
    }
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
    wait_for_signal(&node).await?;
    if let Some(failure) = node.failure() {
        printer.abort();
        anyhow::bail!("{failure}");
    }
    tracing::info!("leaving the cluster");
    node.leave().await;
    printer.abort();
    if let Some(path) = &settings.ready_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn bind_http(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let fix = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another process uses that port: pick another --http port, or port 0"
            }
            _ => "check the --http address",
        };
        anyhow::anyhow!("cannot serve HTTP on {addr}: {e}; {fix}")
    })
}

async fn wait_for_signal(node: &Node) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        () = node.stopped() => {}
    }
    Ok(())
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
