//! A session: started on the server by a client on another node, through a named factory
//! (Rust cannot ship closures, so the client names the factory and the server builds it).

use std::time::Duration;

use shoal_node::actor::Actor;
use shoal_node::actor::{
    ActorError, ActorRef, CallError, Children, Codec, Ctx, Never, Supervisor, SupervisorCall,
};

use crate::protocol::{KvCall, KvReply};

/// The factory name clients pass to `spawn_remote`; its arguments are `()`.
pub const FACTORY: &str = "kv.session";

const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Forwards calls to the store instance its supervisor runs now.
pub struct Session {
    supervisor: ActorRef<Supervisor>,
}

impl Session {
    /// A session in front of the store under `supervisor`.
    pub fn new(supervisor: ActorRef<Supervisor>) -> Self {
        Self { supervisor }
    }
}

impl Actor for Session {
    type Msg = Never;
    type Call = KvCall;
    type Reply = KvReply;

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, msg: Never) -> Result<(), ActorError> {
        match msg {}
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<Self>, call: KvCall) -> Result<KvReply, ActorError> {
        let Children(children) = self
            .supervisor
            .call(SupervisorCall::WhichChildren, STORE_TIMEOUT)
            .await?;
        let Some(store) = children.into_iter().find_map(|c| c.pid) else {
            return Ok(KvReply::Unavailable);
        };
        let crash = call == KvCall::CrashStore;
        match ctx
            .actors()
            .call::<KvCall, KvReply>(&store, call, STORE_TIMEOUT)
            .await
        {
            Ok(reply) => Ok(reply),
            Err(CallError::Stopped(_)) if crash => Ok(KvReply::Crashed),
            // It stopped between the lookup and the call: the supervisor is restarting it.
            Err(CallError::NotDelivered(_) | CallError::Stopped(_)) => Ok(KvReply::Unavailable),
            Err(e) => Err(e.into()),
        }
    }

    fn codec() -> Option<Codec<Self>> {
        Some(Codec::serde())
    }
}
