//! A key-value store on Shoal, split across processes:
//!
//! - [`store`]: the `Store` actor holds the map. It is local to its node and runs under a
//!   one-for-one supervisor ([`shoal_node::actor::Supervisor`]): when it crashes it is
//!   restarted, empty (in-memory state dies with it).
//! - [`session`]: a `Session` actor, started on the server **from another node** through the
//!   named factory `kv.session`; it forwards calls to whichever store instance is running.
//! - [`client`]: what a client node does: spawn a session remotely, put and get, crash the
//!   store on purpose, and watch the supervisor bring it back.

pub mod client;
pub mod protocol;
pub mod session;
pub mod store;

use shoal_node::Node;
use shoal_node::actor::{ChildSpec, Strategy, Supervisor};

/// Starts the store under its supervisor and registers the `kv.session` factory.
pub fn install(node: &Node) {
    let supervisor =
        Supervisor::new(Strategy::OneForOne).child(ChildSpec::new("kv.store", store::Store::default));
    let supervisor = node.actors().spawn_with(
        supervisor,
        shoal_node::actor::SpawnOptions::default().name("kv.supervisor"),
    );
    let sup = supervisor.clone();
    node.actors()
        .register_factory(session::FACTORY, move |()| Ok(session::Session::new(sup.clone())));
}
