//! Spawning: [`Actors::spawn`] and the registration of named factories, the generic half of
//! the facade (each builds a typed cell and inbox, then runs the actor's loop on the node's
//! tracker).

use std::time::Instant;

use serde::de::DeserializeOwned;
use shoal_proto::SpawnRefusal;
use tokio::sync::mpsc;

use super::Actor;
use super::actor_ref::ActorRef;
use super::behaviour::Ctx;
use super::cell::Meta;
use super::extract::Extract;
use super::factory::decode_args;
use super::handoff::{Handoff, extract_of};
use super::inbox::TypedInbox;
use super::options::SpawnOptions;
use super::system::Actors;

impl Actors {
    /// Starts `actor` with default options.
    pub fn spawn<A: Actor>(&self, actor: A) -> ActorRef<A> {
        self.spawn_with(actor, SpawnOptions::default())
    }

    /// Starts `actor`. It runs its `started` hook, then handles messages; messages sent
    /// meanwhile wait in its mailbox. When the node stops, the actor stops with `Shutdown`.
    pub fn spawn_with<A: Actor>(&self, actor: A, options: SpawnOptions) -> ActorRef<A> {
        let (mailbox, mailbox_rx) = super::mailbox::mailbox(options.capacity);
        let (signals, signals_rx) = mpsc::unbounded_channel();
        let meta = Meta {
            name: options.name,
            type_name: std::any::type_name::<A>(),
            parent: options.parent,
            restarts: options.restarts,
            started_at_us: crate::now_us(),
            started: Instant::now(),
        };
        let inbox = TypedInbox {
            mailbox: mailbox.clone(),
            codec: A::codec(),
            json: A::json(),
        };
        let cell = self.add_cell(meta, signals, Box::new(inbox));
        let actor_ref = ActorRef { cell, mailbox };
        let ctx = Ctx::new(actor_ref.clone(), self.clone());
        self.tracker()
            .spawn(super::run::run_actor(actor, ctx, mailbox_rx, signals_rx));
        actor_ref
    }

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
        self.inner.factories.insert(name, Box::new(spawn), extract);
    }

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
            Some(extract_of::<A>()),
            move |args, state| Ok((factory(args, state)?, SpawnOptions::default())),
        );
    }
}
