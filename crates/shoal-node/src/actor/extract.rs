//! [`Extract`]: a type-erased way to take an actor's state out, encoded, run by the actor's
//! own task when it hands off (built for each [`Handoff`](super::Handoff) type in `handoff.rs`).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Type-erased [`Handoff::hand_off`](super::Handoff::hand_off) plus encoding.
#[derive(Clone)]
pub(crate) struct Extract(Arc<ExtractFn>);

/// Takes the state out of an actor of the right type, encoded.
type ExtractFn = dyn Fn(&mut dyn Any) -> Option<Vec<u8>> + Send + Sync;

impl Extract {
    /// An extractor that runs `f` on the actor.
    pub(crate) fn new(f: impl Fn(&mut dyn Any) -> Option<Vec<u8>> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Runs on `actor`; `None` if it is not the type this was made for.
    pub(crate) fn run<A: Any>(&self, actor: &mut A) -> Option<Vec<u8>> {
        (self.0)(actor as &mut dyn Any)
    }
}

impl fmt::Debug for Extract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Extract")
    }
}
