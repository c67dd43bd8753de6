//! Node identity: a user-chosen name plus a creation stamp that grows on every restart.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The longest node name we accept, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// A node's name, unique within a cluster: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
/// Shared, so cloning one (every pid carries one) costs no allocation. A name that arrives
/// from the network is validated like one from the user.
///
/// Equality and order compare the text, after a pointer check: the names in a node's tables
/// mostly share one allocation, so comparing them costs no string compare.
#[derive(Clone, Debug, Serialize)]
#[serde(into = "String")]
pub struct NodeName(Arc<str>);

/// Hashes the text, as equality compares it.
impl std::hash::Hash for NodeName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for NodeName {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for NodeName {}

impl PartialOrd for NodeName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NodeName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return std::cmp::Ordering::Equal;
        }
        self.0.cmp(&other.0)
    }
}

/// Decodes from the text in place (one allocation, no intermediate `String`) and validates it.
impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = NodeName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<NodeName, E> {
                NodeName::check(name).map_err(E::custom)?;
                Ok(NodeName(name.into()))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

impl NodeName {
    /// Validates `name` and wraps it.
    pub fn new(name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        Self::check(&name)?;
        Ok(Self(name.into()))
    }

    fn check(name: &str) -> Result<(), ConfigError> {
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if name.is_empty() || name.len() > MAX_NAME_LEN || !valid_chars {
            return Err(ConfigError::invalid(
                "name",
                name,
                "use 1 to 64 ASCII letters, digits, '.', '_' or '-'",
            ));
        }
        Ok(())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeName {
    type Error = ConfigError;

    fn try_from(name: String) -> Result<Self, ConfigError> {
        Self::new(name)
    }
}

impl From<NodeName> for String {
    fn from(name: NodeName) -> Self {
        name.0.as_ref().to_owned()
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When a node process started, in microseconds since the Unix epoch (or any value that is
/// strictly greater on every restart of the same name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Creation(pub u64);

impl fmt::Display for Creation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `NodeId = { name, creation }`. Two ids with the same name are the
/// same node at different lives; the higher creation is the newer life and replaces the older.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// Unique name within the cluster.
    pub name: NodeName,
    /// Which life of the named node this is.
    pub creation: Creation,
}

impl NodeId {
    /// Builds an id from its parts.
    pub fn new(name: NodeName, creation: Creation) -> Self {
        Self { name, creation }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name, self.creation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_from_the_network_is_validated_like_one_from_the_user() {
        let good = postcard::to_allocvec(&NodeName::new("n1").unwrap()).unwrap();
        assert_eq!(postcard::from_bytes::<NodeName>(&good).unwrap().as_str(), "n1");
        for bad in ["", "a b", &"x".repeat(65)] {
            let bytes = postcard::to_allocvec(bad).unwrap();
            assert!(
                postcard::from_bytes::<NodeName>(&bytes).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn names_in_separate_allocations_compare_and_hash_by_text() {
        use std::hash::BuildHasher;
        let (a, b) = (NodeName::new("n1").unwrap(), NodeName::new("n1").unwrap());
        assert!(!Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
        let state = std::hash::RandomState::new();
        assert_eq!(state.hash_one(&a), state.hash_one(&b));
        assert!(NodeName::new("n0").unwrap() < a && a < NodeName::new("n2").unwrap());
    }

    #[test]
    fn names_with_spaces_or_too_long_are_refused() {
        assert!(NodeName::new("n1").is_ok());
        assert!(NodeName::new("web-1.eu_west").is_ok());
        assert!(NodeName::new("").is_err());
        assert!(NodeName::new("a b").is_err());
        assert!(NodeName::new("x".repeat(65)).is_err());
    }

    #[test]
    fn ids_order_by_name_then_creation() {
        let a = NodeId::new(NodeName::new("a").unwrap(), Creation(9));
        let b = NodeId::new(NodeName::new("b").unwrap(), Creation(1));
        let a2 = NodeId::new(NodeName::new("a").unwrap(), Creation(10));
        assert!(a < b && a < a2 && a2 < b);
    }
}
