//! State handoff: an actor that implements [`Handoff`] can move to another node with its state.
//! The distributed supervisor asks the old instance for its state as its last act, stops it,
//! and starts the new instance from that state through a factory registered with
//! [`Actors::register_handoff_factory`].

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Actor;
use super::extract::Extract;

/// An actor whose state survives a move to another node (not a crash: a crash loses it).
pub trait Handoff: Actor {
    /// What the new instance starts from.
    type State: Serialize + DeserializeOwned + Send + 'static;

    /// Gives up the state. Called once, as the actor's last act: it then stops with
    /// `ExitReason::Shutdown` (its `stopping` hook runs) and handles nothing more.
    fn hand_off(&mut self) -> Self::State;
}

/// The extractor of `A`'s state: [`Handoff::hand_off`], then postcard encoding.
pub(crate) fn extract_of<A: Handoff>() -> Extract {
    Extract::new(|actor: &mut dyn Any| {
        let actor = actor.downcast_mut::<A>()?;
        match postcard::to_stdvec(&actor.hand_off()) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::warn!("cannot encode the handed-off state: {e}; the state is lost");
                None
            }
        }
    })
}
