//! Process groups (the `:pg` role) ride on the registry: a member is an entry under a reserved
//! key `\0g\0<group>\0<pid>` owned by the member's node, so joins and leaves replicate, and
//! members vanish when they stop or their node goes down, exactly like names. This index
//! answers "who is in group G" without scanning the view.

use std::collections::{BTreeSet, HashMap};

use crate::actor_wire::Pid;

/// Marks registry keys that are group memberships; user names may not start with it.
pub const GROUP_KEY_PREFIX: &str = "\0g\0";

/// The registry key of `pid`'s membership in `group`.
pub fn group_key(group: &str, pid: &Pid) -> String {
    format!(
        "{GROUP_KEY_PREFIX}{group}\0{}\0{}\0{}",
        pid.node.name, pid.node.creation, pid.id
    )
}

/// The group a registry key stands for, if it is a membership key.
pub fn group_of(key: &str) -> Option<&str> {
    key.strip_prefix(GROUP_KEY_PREFIX)?.split('\0').next()
}

/// Whether `group` can be used as a group name.
pub fn valid_group(group: &str) -> bool {
    !group.is_empty() && !group.contains('\0')
}

/// Members of every group, as the registry's view has them.
#[derive(Debug, Default)]
pub(crate) struct GroupIndex {
    members: HashMap<String, Members, super::ViewHasher>,
    entries: usize,
}

/// One group's members. Most groups are small, and many have one member (a group per
/// worker), so a lone member lives inline instead of in a set's node.
#[derive(Debug)]
enum Members {
    One(Pid),
    Many(BTreeSet<Pid>),
}

impl Members {
    /// Adds `pid`; returns whether it was new.
    fn insert(&mut self, pid: &Pid) -> bool {
        match self {
            Self::One(one) if one == pid => false,
            Self::One(one) => {
                *self = Self::Many(BTreeSet::from([one.clone(), pid.clone()]));
                true
            }
            Self::Many(set) => set.insert(pid.clone()),
        }
    }

    /// Removes `pid`; returns whether the group is empty now.
    fn remove(&mut self, pid: &Pid) -> bool {
        match self {
            Self::One(one) => one == pid,
            Self::Many(set) => {
                set.remove(pid);
                set.is_empty()
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(set) => set.len(),
        }
    }

    fn sorted(&self) -> Vec<Pid> {
        match self {
            Self::One(one) => vec![one.clone()],
            Self::Many(set) => set.iter().cloned().collect(),
        }
    }
}

impl GroupIndex {
    /// A membership key's winner changed from `old` to `new`; returns the change, if any.
    pub(crate) fn update(
        &mut self,
        group: &str,
        old: Option<&Pid>,
        new: Option<&Pid>,
    ) -> Option<(Pid, bool)> {
        if old == new {
            return None;
        }
        if let Some(old) = old {
            self.entries -= 1;
            if self.members.get_mut(group).is_some_and(|m| m.remove(old)) {
                self.members.remove(group);
            }
        }
        if let Some(new) = new {
            self.entries += 1;
            match self.members.get_mut(group) {
                Some(members) => {
                    members.insert(new);
                }
                None => {
                    self.members.insert(group.to_owned(), Members::One(new.clone()));
                }
            }
            return Some((new.clone(), true));
        }
        old.map(|old| (old.clone(), false))
    }

    /// The members of `group`, sorted.
    pub(crate) fn members(&self, group: &str) -> Vec<Pid> {
        self.members.get(group).map(Members::sorted).unwrap_or_default()
    }

    /// How many members `group` has.
    pub(crate) fn size(&self, group: &str) -> usize {
        self.members.get(group).map_or(0, Members::len)
    }

    /// Every group with its member count, sorted by name.
    pub(crate) fn groups(&self) -> Vec<(String, usize)> {
        let mut groups: Vec<(String, usize)> =
            self.members.iter().map(|(g, m)| (g.clone(), m.len())).collect();
        groups.sort_unstable();
        groups
    }

    /// How many memberships the view holds.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Creation, NodeId, NodeName};

    #[test]
    fn membership_keys_name_their_group_and_never_look_like_user_names() {
        let pid = Pid::new(NodeId::new(NodeName::new("n1").unwrap(), Creation(5)), 7);
        let key = group_key("workers", &pid);
        assert_eq!(group_of(&key), Some("workers"));
        assert_eq!(group_of("workers"), None);
        assert!(!valid_group("") && !valid_group("a\0b") && valid_group("workers"));
    }
}
