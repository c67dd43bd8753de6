//! Named factories (the Erlang M:F:A): Rust cannot ship closures, so an actor started on
//! another node is built there by a factory registered under the same name on every node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shoal_proto::{ActorFrame, NodeName, SpawnRefusal};

use super::remote::Answer;
use super::system::{Actors, SpawnOptions};
use super::{Actor, Pid, SendError, SpawnError};

/// Decodes arguments, builds the actor and spawns it.
type SpawnFn = dyn Fn(&Actors, &[u8]) -> Result<Pid, SpawnRefusal> + Send + Sync;

/// The factories registered on one node, by name.
#[derive(Default)]
pub(crate) struct Factories {
    map: RwLock<HashMap<String, Arc<SpawnFn>>>,
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
        let name = name.into();
        let label = name.clone();
        let spawn = move |actors: &Actors, args: &[u8]| {
            let args = decode_args::<Args>(args).map_err(SpawnRefusal::BadArgs)?;
            let (actor, mut options) = factory(args).map_err(SpawnRefusal::Failed)?;
            options.name = options.name.or_else(|| Some(label.clone()));
            Ok(actors.spawn_with(actor, options).pid().clone())
        };
        let mut map = self
            .inner
            .factories
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(name, Arc::new(spawn));
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
        let spawn = self
            .inner
            .factories
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| SpawnRefusal::UnknownFactory(name.to_owned()))?;
        spawn(self, args)
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
        let make = |request| {
            let args = args.into();
            let factory = factory.to_owned();
            Ok(super::remote::encode(ActorFrame::Spawn {
                request,
                factory,
                args,
            }))
        };
        let (request, answer) = self.inner.remote.request(&id, make).map_err(|e| match e {
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
