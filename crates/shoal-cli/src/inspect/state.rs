//! `shoal state PID`: an actor's own view of its state (`Actor::state_view`, as Erlang's
//! `:sys.get_state`), from `GET /api/actors/{id}/state` on its node.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use shoal_api::views::StateView;

use super::{PidArgs, fanout, locate};

/// `shoal state PID`: prints the state as pretty JSON (`--json`: `{"pid", "state"}` on one
/// line). An actor that exposes no state is an error that says so.
pub(crate) fn state(args: PidArgs) -> anyhow::Result<()> {
    let (id, target) = locate(&args)?;
    let http = target.http_addr()?;
    let answer: StateView = fanout::get(http, &format!("/api/actors/{id}/state"), args.target.timeout())
        .map_err(|e| anyhow::anyhow!("{}: {}", target.name, target.down.clone().unwrap_or(e)))?;
    if args.target.json {
        outln!("{}", json!({"pid": answer.pid, "state": answer.state}));
    } else {
        outln!("{}", serde_json::to_string_pretty(&answer.state)?);
    }
    Ok(())
}

/// The state of actor `id` on the node at `http` as one line for `shoal info`: its JSON,
/// or why there is none (it does not expose its state, it is busy).
pub(super) fn state_line(http: SocketAddr, id: u64, timeout: Duration) -> String {
    match fanout::get::<StateView>(http, &format!("/api/actors/{id}/state"), timeout) {
        Ok(answer) => answer.state.to_string(),
        Err(why) => format!("- ({why})"),
    }
}
