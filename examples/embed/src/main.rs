//! Shoal inside your own program: a node configured from `SHOAL_*` variables, one actor, the
//! HTTP API, and a graceful leave on SIGINT/SIGTERM. Run a 3-node cluster of it with
//! `shoal cluster start --size 3 --bin target/debug/embed`.

use shoal_node::Node;
use shoal_node::actor::{Actor, ActorError, Ctx, Never};

/// Greets whoever it is sent; `shoal state greeter.<node>` shows how many so far.
struct Greeter(u64);

impl Actor for Greeter {
    type Msg = String;
    type Call = Never;
    type Reply = Never;

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, name: String) -> Result<(), ActorError> {
        self.0 += 1;
        eprintln!("hello, {name}"); // stdout carries the node's JSON lines
        Ok(())
    }

    fn state_view(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "greeted": self.0 }))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|arg| arg == "--version") {
        println!("embed {}", env!("CARGO_PKG_VERSION")); // launchers check the binary runs
        return Ok(());
    }
    let logs = tracing_subscriber::fmt().with_ansi(false);
    logs.with_writer(std::io::stderr).init();
    // Name, cookie, addresses, discovery from SHOAL_*; the HTTP API at SHOAL_HTTP.
    let node = shoal_http::start(Node::from_env()).await?;
    let name = node.local().id.name.to_string();
    let greeter = node.actors().spawn(Greeter(0));
    node.actors()
        .register(&format!("greeter.{name}"), greeter.pid())?;
    greeter.send(name)?;
    // Ready line and events on stdout; on SIGINT/SIGTERM, leaves the cluster gracefully.
    node.run_until_shutdown().await?;
    Ok(())
}
