//! Named factories (the Erlang M:F:A): Rust cannot ship closures, so an actor started on
//! another node is built there by a factory registered under the same name on every node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::de::DeserializeOwned;
use shoal_proto::SpawnRefusal;

use super::Pid;
use super::extract::Extract;
use super::system::Actors;

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

    /// The names of the registered factories, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// Whether a factory `name` is registered.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// Spawns an actor on `actors` from factory `name`, from a handed-off `state` if the
    /// factory's actors take one (others ignore it).
    pub(crate) fn spawn(
        &self,
        actors: &Actors,
        name: &str,
        args: &[u8],
        state: Option<&[u8]>,
    ) -> Result<Pid, SpawnRefusal> {
        let factory = self
            .get(name)
            .ok_or_else(|| SpawnRefusal::UnknownFactory(name.to_owned()))?;
        (factory.spawn)(actors, args, state)
    }

    /// The state extractor of factory `name`, if its actors hand off.
    pub(crate) fn extract(&self, name: &str) -> Option<Extract> {
        self.get(name)?.extract.clone()
    }

    fn get(&self, name: &str) -> Option<Arc<Factory>> {
        self.read().get(name).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Factory>>> {
        self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner)
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
