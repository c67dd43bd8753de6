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
use super::system::Actors;
use super::{Pid, SendError, SpawnError};

/// Decodes arguments (and a handed-off state, if any), builds the actor and spawns it.
pub(crate) type SpawnFn = dyn Fn(&Actors, &[u8], Option<&[u8]>) -> Result<Pid, SpawnRefusal> + Send + Sync;

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

impl Factories {
    /// Registers `spawn` under `name`, replacing any factory of that name; `extract` is set
    /// for factories of [`super::Handoff`] actors.
    pub(crate) fn insert(&self, name: String, spawn: Box<SpawnFn>, extract: Option<Extract>) {
        let entry = Factory { spawn, extract };
        self.map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name, Arc::new(entry));
    }
}

impl Actors {
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

pub(crate) fn decode_args<Args: DeserializeOwned>(bytes: &[u8]) -> Result<Args, String> {
    let (args, rest) = postcard::take_from_bytes::<Args>(bytes).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(args)
    } else {
        Err(format!("{} trailing bytes after the arguments", rest.len()))
    }
}
