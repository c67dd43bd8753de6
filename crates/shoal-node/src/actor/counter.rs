//! `Counter`: a stateful actor every node can start by name (factory `shoal.counter`), for
//! the demo workload, tests and benchmarks of the distributed supervisor. It counts (and
//! optionally ticks by itself), and hands its count over when it moves to another node.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shoal_proto::RemoteMessage;

use super::behaviour::Ctx;
use super::codec::Codec;
use super::handoff::Handoff;
use super::json::JsonCodec;
use super::{Actor, ActorError, ExitReason};

/// The factory name of [`Counter`], registered on every node; its arguments are
/// [`CounterArgs`].
pub const COUNTER_FACTORY: &str = "shoal.counter";

/// Arguments of [`COUNTER_FACTORY`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterArgs {
    /// Add one every this many milliseconds (0: only on `Add`).
    pub tick_ms: u64,
}

/// One-way messages to [`Counter`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterMsg {
    /// Add this much.
    Add(u64),
    /// Stop with this reason (`Error` and `Panic` are raised for real).
    Exit(ExitReason),
}

impl RemoteMessage for CounterMsg {
    const TAG: &'static str = "shoal.CounterMsg";
}

/// The one call [`Counter`] answers: its count (a `u64`). Its JSON form is `"Get"`
/// (`shoal call demo.counter.00 '"Get"'`); `null` is accepted too. On the wire between
/// nodes it is a unit struct, as derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterGet;

impl RemoteMessage for CounterGet {
    const TAG: &'static str = "shoal.CounterGet";
}

/// A count that survives moves between nodes (not crashes).
#[derive(Debug, Default)]
pub struct Counter {
    count: u64,
    tick: Option<Duration>,
}

impl Counter {
    /// A counter from its arguments and, after a move, the count handed over.
    pub fn new(args: CounterArgs, count: Option<u64>) -> Self {
        Self {
            count: count.unwrap_or(0),
            tick: (args.tick_ms > 0).then(|| Duration::from_millis(args.tick_ms)),
        }
    }
}

impl Actor for Counter {
    type Msg = CounterMsg;
    type Call = CounterGet;
    type Reply = u64;

    async fn started(&mut self, ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        if let Some(period) = self.tick {
            let me = ctx.myself();
            ctx.actors().tracker().spawn(async move {
                let mut ticks = tokio::time::interval(period);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    if me.send(CounterMsg::Add(1)).is_err() && !me.is_alive() {
                        return; // the counter stopped
                    }
                }
            });
        }
        Ok(())
    }

    async fn handle(&mut self, ctx: &mut Ctx<Self>, msg: CounterMsg) -> Result<(), ActorError> {
        match msg {
            CounterMsg::Add(n) => self.count += n,
            CounterMsg::Exit(ExitReason::Error(e)) => return Err(ActorError::new(e)),
            CounterMsg::Exit(ExitReason::Panic(e)) => panic!("{e}"),
            CounterMsg::Exit(reason) => ctx.stop(reason),
        }
        Ok(())
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, CounterGet: CounterGet) -> Result<u64, ActorError> {
        Ok(self.count)
    }

    fn state_view(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "count": self.count }))
    }

    fn codec() -> Option<Codec<Self>> {
        Some(Codec::serde())
    }

    /// `{"Add": 5}` and `{"Exit": ...}` to send, `"Get"` to call.
    fn json() -> Option<JsonCodec<Self>> {
        Some(JsonCodec::serde())
    }
}

mod get_serde;

impl Handoff for Counter {
    type State = u64;

    fn hand_off(&mut self) -> u64 {
        self.count
    }
}
