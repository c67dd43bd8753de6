//! The names of this node's own actors, by actor: an actor's exit drops its names without a
//! scan of the table. The registrations themselves live in the registry's claims table.

use std::collections::{BTreeSet, HashMap};

use crate::actor_wire::Pid;

/// Which names each local actor holds.
#[derive(Debug, Default)]
pub(crate) struct OwnNames {
    by_pid: HashMap<Pid, PidNames, super::ViewHasher>,
}

/// One actor's names. Most actors hold one name (or one group membership), which lives
/// inline instead of in a set's node.
#[derive(Debug)]
enum PidNames {
    One(Box<str>),
    Many(BTreeSet<Box<str>>),
}

impl OwnNames {
    /// Records that `pid` holds `name`.
    pub(crate) fn insert(&mut self, pid: &Pid, name: &str) {
        match self.by_pid.get_mut(pid) {
            None => {
                self.by_pid.insert(pid.clone(), PidNames::One(name.into()));
            }
            Some(names) => match names {
                PidNames::One(one) if **one == *name => {}
                PidNames::One(one) => {
                    let first = std::mem::take(one);
                    *names = PidNames::Many(BTreeSet::from([first, name.into()]));
                }
                PidNames::Many(set) => {
                    set.insert(name.into());
                }
            },
        }
    }

    /// Records that `pid` no longer holds `name`.
    pub(crate) fn remove(&mut self, pid: &Pid, name: &str) {
        let Some(names) = self.by_pid.get_mut(pid) else {
            return;
        };
        let now_empty = match names {
            PidNames::One(one) => **one == *name,
            PidNames::Many(set) => {
                set.remove(name);
                set.is_empty()
            }
        };
        if now_empty {
            self.by_pid.remove(pid);
        }
    }

    /// Forgets every name of `pid` and returns them.
    pub(crate) fn take(&mut self, pid: &Pid) -> Vec<Box<str>> {
        match self.by_pid.remove(pid) {
            None => Vec::new(),
            Some(PidNames::One(one)) => vec![one],
            Some(PidNames::Many(set)) => set.into_iter().collect(),
        }
    }

    /// Every own name (unordered).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.by_pid.values().flat_map(|names| {
            let (one, many) = match names {
                PidNames::One(one) => (Some(&**one), None),
                PidNames::Many(set) => (None, Some(set.iter().map(|n| &**n))),
            };
            one.into_iter().chain(many.into_iter().flatten())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Creation, NodeId, NodeName};

    #[test]
    fn names_are_kept_per_actor_and_leave_with_it() {
        let pid = |id| Pid::new(NodeId::new(NodeName::new("a").unwrap(), Creation(1)), id);
        let mut own = OwnNames::default();
        own.insert(&pid(1), "x");
        own.insert(&pid(1), "x");
        own.insert(&pid(1), "y");
        own.insert(&pid(2), "z");
        let mut all: Vec<&str> = own.names().collect();
        all.sort_unstable();
        assert_eq!(all, ["x", "y", "z"]);
        own.remove(&pid(1), "x");
        assert_eq!(own.take(&pid(1)), vec![Box::from("y")]);
        assert!(own.take(&pid(1)).is_empty());
        own.remove(&pid(2), "z");
        assert_eq!(own.names().count(), 0);
    }
}
