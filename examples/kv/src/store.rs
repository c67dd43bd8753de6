//! The store: a map in one actor, local to its node.

use std::collections::BTreeMap;

use shoal_node::actor::{Actor, ActorError, Ctx, Never};

use crate::protocol::{KvCall, KvReply};

/// Holds the map. Calls by pid reach it without serialization (it has no codec: it is never
/// addressed from another node; sessions on its node forward to it).
#[derive(Debug, Default)]
pub struct Store {
    map: BTreeMap<String, String>,
}

impl Actor for Store {
    type Msg = Never;
    type Call = KvCall;
    type Reply = KvReply;

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, msg: Never) -> Result<(), ActorError> {
        match msg {}
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, call: KvCall) -> Result<KvReply, ActorError> {
        Ok(match call {
            KvCall::Put(key, value) => {
                self.map.insert(key, value);
                KvReply::Stored
            }
            KvCall::Get(key) => KvReply::Value(self.map.get(&key).cloned()),
            KvCall::Len => KvReply::Len(self.map.len() as u64),
            KvCall::CrashStore => return Err(ActorError::new("crash requested by a client")),
        })
    }
}
