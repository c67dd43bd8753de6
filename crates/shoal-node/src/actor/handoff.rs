//! State handoff: an actor that implements [`Handoff`] can move to another node with its state.
//! The distributed supervisor asks the old instance for its state as its last act, stops it,
//! and starts the new instance from that state through a factory registered with
//! [`Actors::register_handoff_factory`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::cell::SysSignal;
use super::system::{Actors, SpawnOptions};
use super::{Actor, Pid};

/// An actor whose state survives a move to another node (not a crash: a crash loses it).
pub trait Handoff: Actor {
    /// What the new instance starts from.
    type State: Serialize + DeserializeOwned + Send + 'static;

    /// Gives up the state. Called once, as the actor's last act: it then stops with
    /// `ExitReason::Shutdown` (its `stopping` hook runs) and handles nothing more.
    fn hand_off(&mut self) -> Self::State;
}

/// Type-erased [`Handoff::hand_off`] plus encoding, for the actor's own task to run.
#[derive(Clone)]
pub(crate) struct Extract(Arc<ExtractFn>);

/// Takes the state out of an actor of the right type, encoded.
type ExtractFn = dyn Fn(&mut dyn Any) -> Option<Vec<u8>> + Send + Sync;

impl Extract {
    fn of<A: Handoff>() -> Self {
        Self(Arc::new(|actor: &mut dyn Any| {
            let actor = actor.downcast_mut::<A>()?;
            match postcard::to_stdvec(&actor.hand_off()) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    tracing::warn!("cannot encode the handed-off state: {e}; the state is lost");
                    None
                }
            }
        }))
    }

    /// Runs on `actor`; `None` if it is not the type this was made for.
    pub(crate) fn run<A: Actor>(&self, actor: &mut A) -> Option<Vec<u8>> {
        (self.0)(actor as &mut dyn Any)
    }
}

impl fmt::Debug for Extract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Extract")
    }
}

impl Actors {
    /// Registers a factory whose actors can hand their state over: `factory` receives the
    /// arguments and, when the actor moves from another node, the state the old instance
    /// handed over (`None` on a first start, and after a crash or a lost handoff).
    pub fn register_handoff_factory<Args, A, F>(&self, name: impl Into<String>, factory: F)
    where
        Args: DeserializeOwned + 'static,
        A: Handoff,
        F: Fn(Args, Option<A::State>) -> Result<A, String> + Send + Sync + 'static,
    {
        self.register_factory_entry::<Args, A::State, A, _>(
            name.into(),
            Some(Extract::of::<A>()),
            move |args, state| Ok((factory(args, state)?, SpawnOptions::default())),
        );
    }

    /// Asks the local actor `pid` (started from `factory`) for its state and stops it.
    /// `None` if the factory's actors cannot hand off, or the actor had stopped already.
    pub(crate) async fn hand_off(&self, pid: &Pid, factory: &str) -> Option<Vec<u8>> {
        let extract = self.factory_extract(factory)?;
        let cell = self.cell(pid.id).filter(|_| pid.node == *self.node())?;
        let (reply, state) = oneshot::channel();
        cell.signal(SysSignal::HandOff { extract, reply });
        state.await.ok().flatten()
    }
}
