//! The JSON face of an actor's messages, for operators: what `shoal send`, `shoal call` and
//! `POST /api/actors/{pid}/send|call` deliver. An actor type opts in through
//! [`Actor::json`]; the codec is kept in its type-erased inbox, as the remote [`Codec`] is.
//!
//! [`Codec`]: super::Codec

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Actor, JsonError};

/// Decoders for an actor's `Msg` and `Call` from JSON and the encoder of its `Reply` to
/// JSON. Built by [`JsonCodec::serde`]; returned from [`Actor::json`].
pub struct JsonCodec<A: Actor> {
    pub(crate) msg: fn(Value) -> Result<A::Msg, JsonError>,
    pub(crate) call: fn(Value) -> Result<A::Call, JsonError>,
    pub(crate) reply: fn(&A::Reply) -> Result<Value, String>,
}

impl<A: Actor> JsonCodec<A>
where
    A::Msg: DeserializeOwned,
    A::Call: DeserializeOwned,
    A::Reply: Serialize,
{
    /// The serde codec: messages and calls are what `serde_json` makes of them (an enum
    /// variant `Add(5)` is `{"Add": 5}`, a unit variant `Get` is `"Get"`), replies likewise.
    pub fn serde() -> Self {
        Self {
            msg: from_json::<A::Msg>,
            call: from_json::<A::Call>,
            reply: |reply| serde_json::to_value(reply).map_err(|e| e.to_string()),
        }
    }
}

/// Decodes `value` as an `M`; the error names `M` and carries serde's message.
pub(crate) fn from_json<M: DeserializeOwned>(value: Value) -> Result<M, JsonError> {
    serde_json::from_value(value).map_err(|e| JsonError::Decode {
        expected: std::any::type_name::<M>(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::actor::{Actors, Pid};
    use crate::actor::{Counter, CounterArgs, CounterGet, CounterMsg, Echo};
    use serde_json::json;
    use shoal_proto::NodeName;

    fn actors() -> Actors {
        Actors::standalone(NodeName::new("json-test").unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn a_message_that_does_not_decode_names_the_expected_type() {
        let err = from_json::<CounterMsg>(json!({"Ad": 1})).unwrap_err();
        let JsonError::Decode { expected, message } = &err else {
            panic!("{err:?}");
        };
        assert!(expected.ends_with("CounterMsg"), "{expected}");
        assert!(message.contains("unknown variant `Ad`"), "{message}");
        assert!(err.to_string().contains("CounterMsg"), "{err}");
        assert_eq!(from_json::<CounterMsg>(json!({"Add": 2})), Ok(CounterMsg::Add(2)));
        assert_eq!(from_json::<CounterGet>(json!("Get")), Ok(CounterGet));
        assert!(from_json::<CounterGet>(json!("Put")).is_err());
        assert!(from_json::<u64>(json!(-1)).is_err());
    }

    #[tokio::test]
    async fn sends_and_calls_in_json_reach_a_counter() {
        let actors = actors();
        let counter = actors.spawn(Counter::new(CounterArgs::default(), None));
        let pid = counter.pid().clone();
        actors.send_json(&pid, json!({"Add": 3})).unwrap();
        let count = actors.call_json(&pid, json!("Get"), Duration::from_secs(5)).await;
        assert_eq!(count, Ok(json!(3)));
        let bad = actors
            .call_json(&pid, json!({"Get": 1}), Duration::from_secs(5))
            .await;
        assert!(matches!(bad, Err(JsonError::Decode { expected, .. }) if expected.ends_with("CounterGet")));
        // Nothing bad was delivered: the counter still answers, with the same count.
        let again = actors.call_json(&pid, json!("Get"), Duration::from_secs(5)).await;
        assert_eq!(again, Ok(json!(3)));
    }

    #[tokio::test]
    async fn an_actor_without_json_and_a_missing_actor_are_refused() {
        let actors = actors();
        let echo = actors.spawn(Echo::default());
        let refused = actors.send_json(echo.pid(), json!("hi")).unwrap_err();
        assert!(matches!(refused, JsonError::NotAccepted { actor_type } if actor_type.ends_with("Echo")));
        assert!(refused.to_string().contains("does not accept JSON"), "{refused}");
        let gone = Pid::new(actors.node().clone(), 9999);
        assert_eq!(actors.send_json(&gone, json!(1)), Err(JsonError::NoProc));
        let call = actors.call_json(&gone, json!(1), Duration::from_secs(1)).await;
        assert_eq!(call, Err(JsonError::NoProc));
    }
}
