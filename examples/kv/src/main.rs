//! `kv`: the key-value example as a program.
//!
//! - `kv node`: a server node configured from `SHOAL_*` variables (`Node::from_env()`), so
//!   `shoal cluster start --bin target/debug/kv` runs a cluster of it. Prints the ready line.
//! - `kv client`: a client node; joins through `SHOAL_SEEDS` (as `shoal cluster run` exports
//!   them) and runs the tour against the first server it links to.
//! - `kv demo`: starts a server process itself, then runs the client tour against it.

use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use shoal_node::Node;
use tokio::io::{AsyncBufReadExt, BufReader};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(std::env::var("SHOAL_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    match std::env::args().nth(1).as_deref() {
        Some("node") => runtime.block_on(serve()),
        Some("client") => runtime.block_on(client()),
        Some("demo") => runtime.block_on(demo()),
        Some("--version") => {
            println!("kv {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => anyhow::bail!("usage: kv node | kv client | kv demo"),
    }
}

/// Runs a server node, with the HTTP API at `SHOAL_HTTP`, until SIGINT or SIGTERM, then
/// leaves the cluster; or until the node stops on its own.
async fn serve() -> anyhow::Result<()> {
    let builder = Node::from_env().version(concat!("kv-", env!("CARGO_PKG_VERSION")));
    let node = shoal_http::start(builder).await?;
    kv::install(&node);
    node.run_until_shutdown().await?;
    Ok(())
}

/// Joins through `SHOAL_SEEDS` and runs the tour.
async fn client() -> anyhow::Result<()> {
    let name = format!("kv-client-{}", std::process::id());
    let node = Node::from_env().name(&name).local_discovery(None).start().await?;
    let server = kv::client::wait_for_server(&node, Duration::from_secs(10)).await?;
    let result = kv::client::tour(&node, &server).await;
    node.leave().await;
    result
}

/// Starts `kv node` as a child process, then runs the tour against it.
async fn demo() -> anyhow::Result<()> {
    let cookie = format!("kv-demo-{}", std::process::id());
    let mut server = tokio::process::Command::from({
        let mut c = Command::new(std::env::current_exe()?);
        c.arg("node")
            .env("SHOAL_NAME", "kv-server")
            .env("SHOAL_COOKIE", &cookie)
            .env("SHOAL_DISCOVERY", "none")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        c
    })
    .kill_on_drop(true)
    .spawn()
    .context("starting the server process")?;
    let stdout = server.stdout.take().context("no stdout")?;
    let ready = BufReader::new(stdout)
        .lines()
        .next_line()
        .await?
        .context("the server printed nothing")?;
    let listen = ready
        .split("\"listen\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no listen address in the ready line")?
        .to_owned();
    println!("server process {} listens on {listen}", server.id().unwrap_or(0));
    let node = Node::builder()
        .name("kv-client")
        .cookie(cookie.as_str())
        .seeds([listen])
        .start()
        .await?;
    let server_name = kv::client::wait_for_server(&node, Duration::from_secs(10)).await?;
    let result = kv::client::tour(&node, &server_name).await;
    node.leave().await;
    server.kill().await.ok();
    result
}
