//! `shoal send PID JSON` and `shoal call PID JSON`: deliver the JSON form of a message to an
//! actor that accepts JSON (`Actor::json`), through `POST /api/actors/{id}/send|call` on its
//! node, with the admin token, as one would poke a process from `iex`.

use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shoal_api::views::{CallReply, Sent};

use super::{PidArgs, admin_token, fanout, locate};

/// The largest message the node accepts, in bytes (its `POST` body limit).
const MAX_MESSAGE: usize = 64 * 1024;
/// The longest call timeout the node allows, in milliseconds.
const MAX_CALL_MS: u64 = 60_000;

/// `shoal send PID JSON` and `shoal call PID JSON`.
#[derive(clap::Args, Debug)]
pub(crate) struct MessageArgs {
    #[command(flatten)]
    target: PidArgs,
    /// The message as JSON, quoted for the shell: '{"Add": 5}', '"Get"'.
    message: String,
}

/// `shoal send PID JSON`: queues the message; prints `sent to PID` (`--json`: the node's
/// answer).
pub(crate) fn send(args: MessageArgs) -> anyhow::Result<()> {
    let body = message_body(&args.message)?;
    let answer: Sent = post(&args.target, "send", &body, args.target.target.timeout())?;
    if args.target.target.json {
        outln!("{}", json!(answer));
    } else {
        outln!("sent to {}", args.target.pid);
    }
    Ok(())
}

/// `shoal call PID JSON`: prints the reply as pretty JSON (`--json`: `{"pid", "reply"}` on
/// one line). The node waits `--timeout-ms` (at most 60 s) for the reply.
pub(crate) fn call(args: MessageArgs) -> anyhow::Result<()> {
    let body = message_body(&args.message)?;
    let wait_ms = args.target.target.timeout_ms.clamp(1, MAX_CALL_MS);
    // The node answers 504 at `wait_ms`; give that answer time to arrive.
    let http_timeout = Duration::from_millis(wait_ms) + Duration::from_secs(2);
    let answer: CallReply = post(
        &args.target,
        &format!("call?timeout_ms={wait_ms}"),
        &body,
        http_timeout,
    )?;
    if args.target.target.json {
        outln!("{}", json!(answer));
    } else {
        outln!("{}", serde_json::to_string_pretty(&answer.reply)?);
    }
    Ok(())
}

/// Checks that `text` is JSON within the node's limit, and gives it compact.
fn message_body(text: &str) -> anyhow::Result<Vec<u8>> {
    let value: Value = serde_json::from_str(text).with_context(|| {
        format!(
            "the message {text:?} is not JSON; quote it for the shell, e.g. '\"Get\"' or '{{\"Add\": 5}}'"
        )
    })?;
    let body = serde_json::to_vec(&value)?;
    anyhow::ensure!(
        body.len() <= MAX_MESSAGE,
        "the message is {} bytes; a node takes at most {MAX_MESSAGE}",
        body.len()
    );
    Ok(body)
}

/// POSTs `body` to `/api/actors/{id}/{action}` on the actor's node, with the admin token.
fn post<T: DeserializeOwned>(
    args: &PidArgs,
    action: &str,
    body: &[u8],
    timeout: Duration,
) -> anyhow::Result<T> {
    let (id, target) = locate(args)?;
    let http = target.http_addr()?;
    let token = admin_token(args)?;
    fanout::post_body(http, &format!("/api/actors/{id}/{action}"), &token, body, timeout)
        .map_err(|e| anyhow::anyhow!("{}: {}", target.name, target.down.clone().unwrap_or(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_must_be_json_within_the_limit() {
        assert_eq!(message_body(r#"{ "Add" : 5 }"#).unwrap(), br#"{"Add":5}"#);
        let bare = message_body("Get").unwrap_err().to_string();
        assert!(bare.contains("not JSON") && bare.contains("'\"Get\"'"), "{bare}");
        let big = format!("\"{}\"", "x".repeat(MAX_MESSAGE));
        assert!(message_body(&big).unwrap_err().to_string().contains("at most"));
    }
}
