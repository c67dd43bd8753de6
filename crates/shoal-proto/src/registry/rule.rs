//! The conflict rule: which of two registrations of one name wins.

use std::cmp::Ordering;

use super::Registration;

/// Orders two registrations of the same name: the **earlier** one wins. Earlier means the
/// smaller registration clock (the owner's wall clock in µs when it registered), then the
/// smaller owner node name, then the smaller creation, then the smaller actor id. Total and
/// the same on every node, so every node picks the same winner without talking.
pub fn precedence(a: &Registration, b: &Registration) -> Ordering {
    a.clock
        .cmp(&b.clock)
        .then_with(|| a.pid.node.name.cmp(&b.pid.node.name))
        .then_with(|| a.pid.node.creation.cmp(&b.pid.node.creation))
        .then_with(|| a.pid.id.cmp(&b.pid.id))
}

/// The winner among registrations of one name.
pub fn winner<'a>(candidates: impl IntoIterator<Item = &'a Registration>) -> Option<&'a Registration> {
    candidates.into_iter().min_by(|a, b| precedence(a, b))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Creation, NodeId, NodeName, Pid};

    fn registration() -> impl Strategy<Value = Registration> {
        (0u64..5, 0usize..3, 0u64..3, 0u64..4).prop_map(|(clock, node, creation, id)| Registration {
            pid: Pid::new(
                NodeId::new(NodeName::new(["a", "b", "c"][node]).unwrap(), Creation(creation)),
                id,
            ),
            clock,
        })
    }

    proptest! {
        #[test]
        fn precedence_is_a_total_order(a in registration(), b in registration(), c in registration()) {
            // Antisymmetric, and equal only for the same registration.
            prop_assert_eq!(precedence(&a, &b), precedence(&b, &a).reverse());
            prop_assert_eq!(precedence(&a, &b) == Ordering::Equal, a == b);
            // Transitive.
            if precedence(&a, &b) != Ordering::Greater && precedence(&b, &c) != Ordering::Greater {
                prop_assert_ne!(precedence(&a, &c), Ordering::Greater);
            }
        }

        #[test]
        fn the_winner_does_not_depend_on_the_order_seen(mut regs in proptest::collection::vec(registration(), 1..6)) {
            let first = winner(&regs).cloned();
            regs.reverse();
            prop_assert_eq!(winner(&regs).cloned(), first);
        }
    }
}
