//! One entry of the child table, its version and its incarnation, and the order that
//! decides which of two entries of a child a replica keeps.

use std::cmp::Ordering;
use std::hash::Hasher;

use serde::{Deserialize, Serialize};

use super::record::ChildRecord;
use crate::node_id::NodeId;

/// The version of one entry: a Lamport counter, then the writer (name, then process life).
///
/// The life matters: a restarted node starts a fresh table whose clock only knows what it
/// merged, so it can write the counter its old life already used for another content. With
/// the name alone those two versions would tie, and replicas holding one or the other would
/// never converge (the simulator found this).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Lamport counter.
    pub counter: u64,
    /// The process that wrote it.
    pub node: NodeId,
}

/// One entry of the table: a child, or its tombstone.
///
/// `incarnation` is the version of the write that started this life of the child id (a
/// `start_child`); every later write of that life (start records, restarts, moves, owner
/// changes) carries it, and a tombstone names the incarnation it ends. See
/// [`ChildEntry::wins_over`] for what that decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildEntry {
    /// The child id.
    pub id: String,
    /// Its version.
    pub version: Version,
    /// The start this entry belongs to (see the type's doc).
    pub incarnation: Version,
    /// The child, or `None` once it was removed.
    pub record: Option<ChildRecord>,
}

impl ChildEntry {
    /// Whether a replica holding `other` for the same id keeps `self` instead: the newer
    /// incarnation wins; within one incarnation a tombstone wins over every live write,
    /// whatever its counter (that write did not see the terminate, or it would not have
    /// been written); then the newer version. A total order on (incarnation, removed,
    /// version), and one version is one write, so merging by it is commutative,
    /// associative and idempotent.
    pub fn wins_over(&self, other: &ChildEntry) -> bool {
        self.rank().cmp(&other.rank()) == Ordering::Greater
    }

    fn rank(&self) -> (&Version, bool, &Version) {
        (&self.incarnation, self.record.is_none(), &self.version)
    }

    /// The entry's hash for digests and prefixes (every field that tells two writes apart).
    pub(super) fn hash(&self) -> u64 {
        let mut hasher = twox_hash::XxHash64::with_seed(7);
        hasher.write(self.id.as_bytes());
        hasher.write_u8(0xff);
        for v in [&self.version, &self.incarnation] {
            hasher.write_u64(v.counter);
            hasher.write(v.node.name.as_str().as_bytes());
            hasher.write_u8(0xff);
            hasher.write_u64(v.node.creation.0);
        }
        hasher.finish()
    }
}
