//! [`NodeEvent`]: what the node's event stream carries.

/// A membership event with the wall-clock time it was decided at.
#[derive(Clone, Debug)]
pub struct NodeEvent {
    /// What happened.
    pub event: shoal_proto::Event,
    /// When, in microseconds since the Unix epoch.
    pub at_us: u64,
}
