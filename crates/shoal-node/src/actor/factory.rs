//! Named factories (the Erlang M:F:A): Rust cannot ship closures, so an actor started on
//! another node is built there by a factory registered under the same name on every node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shoal_proto::{ActorFrame, LinkMessage, NodeName, SpawnRefusal};

use super::extract::Extract;
use super::remote::{Answer, Lane};
use super::system::{Actors, SpawnOptions};
use super::{Actor, Pid, SendError, SpawnError};

/// Decodes arguments (and a handed-off state, if any), builds the actor and spawns it.
type SpawnFn = dyn Fn(&Actors, &[u8], Option<&[u8]>) -> Result<Pid, SpawnRefusal> + Send + Sync;

/// One registered factory.
struct Factory {
    spawn: Box<SpawnFn>,
    /// Set for factories of [`super::Handoff`] actors.
    extract: Option<Extract>,
}

/// The factories registered on one node, by name.
#[derive(Default)]
pub(crate) struct Factories {
    map: RwLock<HashMap<String, Arc<Factory>>>,
}

impl Actors {
    /// Registers `factory` under `name`, replacing any factory of that name. Register the
    /// same factories on every node, before peers may ask for them. The factory receives the
    /// decoded arguments and returns the actor, or an error text that the caller receives as
    /// `SpawnRefusal::Failed`. The actor is named after the factory in introspection.
    pub fn register_factory<Args, A, F>(&self, name: impl Into<String>, factory: F)
    where
        Args: DeserializeOwned + 'static,
        A: Actor,
        F: Fn(Args) -> Result<A, String> + Send + Sync + 'static,
    {
        self.register_factory_with_options(name, move |args| Ok((factory(args)?, SpawnOptions::default())));
    }

    /// Like [`Actors::register_factory`], with spawn options chosen per call (a mailbox
    /// capacity from the arguments, say). An options name of `None` becomes the factory name.
    pub fn register_factory_with_options<Args, A, F>(&self, name: impl Into<String>, factory: F)
    where
        Args: DeserializeOwned + 'static,
        A: Actor,
        F: Fn(Args) -> Result<(A, SpawnOptions), String> + Send + Sync + 'static,
    {
        self.register_factory_entry::<Args, (), A, _>(name.into(), None, move |args, _state| factory(args));
    }

    /// Registers a factory; a state that does not decode is refused as `Failed`.
    pub(crate) fn register_factory_entry<Args, State, A, F>(
        &self,
        name: String,
        extract: Option<Extract>,
        factory: F,
    ) where
        Args: DeserializeOwned + 'static,
        State: DeserializeOwned + 'static,
        A: Actor,
        F: Fn(Args, Option<State>) -> Result<(A, SpawnOptions), String> + Send + Sync + 'static,
    {
        let label = name.clone();
        let stateful = extract.is_some();
        let spawn = move |actors: &Actors, args: &[u8], state: Option<&[u8]>| {
            let args = decode_args::<Args>(args).map_err(SpawnRefusal::BadArgs)?;
            let state = match state.filter(|_| stateful) {
                Some(bytes) => Some(
                    decode_args::<State>(bytes)
                        .map_err(|e| SpawnRefusal::Failed(format!("handed-off state: {e}")))?,
                ),
                None => None,
            };
            let (actor, mut options) = factory(args, state).map_err(SpawnRefusal::Failed)?;
            options.name = options.name.or_else(|| Some(label.clone()));
            Ok(actors.spawn_with(actor, options).pid().clone())
        };
        let entry = Factory {
            spawn: Box::new(spawn),
            extract,
        };
        let mut map = self
            .inner
            .factories
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(name, Arc::new(entry));
    }

    /// The names of the registered factories, sorted.
    pub fn factories(&self) -> Vec<String> {
        let map = self
            .inner
            .factories
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut names: Vec<String> = map.keys().cloned().collect();
        names.sort();
        names
    }

    /// Spawns an actor from this node's factory `name` with encoded `args`.
    pub(crate) fn spawn_factory(&self, name: &str, args: &[u8]) -> Result<Pid, SpawnRefusal> {
        self.spawn_factory_with_state(name, args, None)
    }

    /// Spawns an actor from factory `name`, from a handed-off `state` if the factory's
    /// actors take one (others ignore it).
    pub(crate) fn spawn_factory_with_state(
        &self,
        name: &str,
        args: &[u8],
        state: Option<&[u8]>,
    ) -> Result<Pid, SpawnRefusal> {
        let factory = self
            .factory(name)
            .ok_or_else(|| SpawnRefusal::UnknownFactory(name.to_owned()))?;
        (factory.spawn)(self, args, state)
    }

    /// Whether a factory `name` is registered here.
    pub fn has_factory(&self, name: &str) -> bool {
        self.factory(name).is_some()
    }

    /// The state extractor of factory `name`, if its actors hand off.
    pub(crate) fn factory_extract(&self, name: &str) -> Option<Extract> {
        self.factory(name)?.extract.clone()
    }

    fn factory(&self, name: &str) -> Option<Arc<Factory>> {
        self.inner
            .factories
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Starts an actor on `node` from its factory `factory` with `args`, waiting at most
    /// `timeout` for the pid. `node` may be this node.
    pub async fn spawn_remote<Args: Serialize>(
        &self,
        node: &NodeName,
        factory: &str,
        args: &Args,
        timeout: Duration,
    ) -> Result<Pid, SpawnError> {
        let args = postcard::to_stdvec(args).map_err(|e| SpawnError::Encode(e.to_string()))?;
        if *node == self.node().name {
            return Ok(self.spawn_factory(factory, &args)?);
        }
        let id = self
            .inner
            .remote
            .route_id(node)
            .ok_or_else(|| SpawnError::NodeDown(node.clone()))?;
        let encode = |request, out: &mut Vec<u8>| {
            let args = args.into();
            let factory = factory.to_owned();
            let frame = ActorFrame::Spawn {
                request,
                factory,
                args,
            };
            super::remote::append_message(&LinkMessage::Actor(frame))(out)
        };
        let (request, answer) =
            self.inner
                .remote
                .request(Lane::Control, &id, encode)
                .map_err(|e| match e {
                    SendError::Encode(e) => SpawnError::Encode(e),
                    _ => SpawnError::NodeDown(node.clone()),
                })?;
        match tokio::time::timeout(timeout, answer).await {
            Err(_) => {
                self.inner.remote.forget(request);
                Err(SpawnError::Timeout(timeout))
            }
            Ok(Ok(Answer::Spawned(Ok(actor)))) => Ok(Pid::new(id, actor)),
            Ok(Ok(Answer::Spawned(Err(refusal)))) => Err(refusal.into()),
            Ok(Ok(_) | Err(_)) => Err(SpawnError::NodeDown(node.clone())),
        }
    }
}

fn decode_args<Args: DeserializeOwned>(bytes: &[u8]) -> Result<Args, String> {
    let (args, rest) = postcard::take_from_bytes::<Args>(bytes).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(args)
    } else {
        Err(format!("{} trailing bytes after the arguments", rest.len()))
    }
}
