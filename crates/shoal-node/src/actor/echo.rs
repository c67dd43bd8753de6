//! `Echo`: a small actor every node can start by name (factory `shoal.echo`), for
//! diagnostics, benchmarks and tests across processes: it answers calls with their payload,
//! counts one-way messages, and stops with whatever reason it is told to.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use shoal_proto::RemoteMessage;

use super::behaviour::Ctx;
use super::codec::Codec;
use super::{Actor, ActorError, ExitReason};

/// The factory name of [`Echo`], registered on every node; its arguments are `()`.
pub const ECHO_FACTORY: &str = "shoal.echo";

/// The factory name of an [`Echo`] with a chosen mailbox capacity (its arguments, a `u32`),
/// registered on every node; benchmarks use it as a sink.
pub const ECHO_SIZED_FACTORY: &str = "shoal.echo_sized";

/// One-way messages to [`Echo`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchoMsg {
    /// Counted, then dropped.
    Data(Bytes),
    /// Stop with this reason (`Error` and `Panic` reasons are raised as real errors and
    /// panics, to exercise those paths).
    Exit(ExitReason),
}

impl RemoteMessage for EchoMsg {
    const TAG: &'static str = "shoal.EchoMsg";
}

/// Calls [`Echo`] answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchoCall {
    /// Answered with `EchoReply::Echo` of the same bytes.
    Echo(Bytes),
    /// Answered with the number of `Data` messages received.
    Received,
    /// Answered like `Received`, after this many milliseconds (a slow handler, for tests).
    Sleep(u64),
    /// Register the echo under each of these names (cluster-wide); answered with
    /// `Registered` listing the names that were taken already.
    Register(Vec<String>),
    /// Join each of these process groups (cluster-wide); answered with `Received`.
    Join(Vec<String>),
}

impl RemoteMessage for EchoCall {
    const TAG: &'static str = "shoal.EchoCall";
}

/// Answers of [`Echo`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchoReply {
    /// The payload of an `Echo` call.
    Echo(Bytes),
    /// The count asked for by `Received`.
    Received(u64),
    /// The names of a `Register` call that were already taken, with their holders.
    Registered(Vec<(String, shoal_proto::Pid)>),
}

impl RemoteMessage for EchoReply {
    const TAG: &'static str = "shoal.EchoReply";
}

/// The echo actor. Its factory takes `()` as arguments.
#[derive(Debug, Default)]
pub struct Echo {
    received: u64,
}

impl Actor for Echo {
    type Msg = EchoMsg;
    type Call = EchoCall;
    type Reply = EchoReply;

    async fn handle(&mut self, ctx: &mut Ctx<Self>, msg: EchoMsg) -> Result<(), ActorError> {
        match msg {
            EchoMsg::Data(_) => self.received += 1,
            EchoMsg::Exit(ExitReason::Error(e)) => return Err(ActorError::new(e)),
            EchoMsg::Exit(ExitReason::Panic(e)) => panic!("{e}"),
            EchoMsg::Exit(reason) => ctx.stop(reason),
        }
        Ok(())
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<Self>, call: EchoCall) -> Result<EchoReply, ActorError> {
        Ok(match call {
            EchoCall::Echo(bytes) => EchoReply::Echo(bytes),
            EchoCall::Received => EchoReply::Received(self.received),
            EchoCall::Register(names) => {
                let me = ctx.pid().clone();
                let taken = names
                    .into_iter()
                    .filter_map(|name| match ctx.actors().register(&name, &me) {
                        Err(shoal_proto::RegisterError::AlreadyRegistered(holder)) => Some((name, holder)),
                        _ => None,
                    })
                    .collect();
                EchoReply::Registered(taken)
            }
            EchoCall::Join(groups) => {
                let me = ctx.pid().clone();
                for group in groups {
                    ctx.actors()
                        .join(&group, &me)
                        .map_err(|e| ActorError::new(format!("join {group}: {e}")))?;
                }
                EchoReply::Received(self.received)
            }
            EchoCall::Sleep(ms) => {
                // Boxed: a timer is large, and every call's future would carry its room.
                Box::pin(tokio::time::sleep(std::time::Duration::from_millis(ms))).await;
                EchoReply::Received(self.received)
            }
        })
    }

    fn codec() -> Option<Codec<Self>> {
        Some(Codec::serde())
    }
}
