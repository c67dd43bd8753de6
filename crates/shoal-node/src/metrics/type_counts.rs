//! [`TypeCounts`]: actors per type, counted in one pass over the actor table.

/// Actors per type. A program has few actor types, and each type's name is one `&'static
/// str`, so a short list compared by address first beats hashing the name once per actor.
#[derive(Default)]
pub(crate) struct TypeCounts(Vec<(&'static str, u64)>);

impl TypeCounts {
    /// Counts one actor of `type_name`.
    pub(crate) fn add(&mut self, type_name: &'static str) {
        let found = self
            .0
            .iter_mut()
            .find(|(t, _)| std::ptr::eq(*t, type_name) || *t == type_name);
        match found {
            Some((_, n)) => *n += 1,
            None => self.0.push((type_name, 1)),
        }
    }

    /// The counts, sorted by type name.
    pub(crate) fn sorted(mut self) -> Vec<(&'static str, u64)> {
        self.0.sort_unstable();
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_at_different_addresses_count_as_one_type() {
        let owned = String::from("a::B");
        let leaked: &'static str = Box::leak(owned.into_boxed_str());
        let mut counts = TypeCounts::default();
        counts.add("a::B");
        counts.add(leaked);
        counts.add("a::A");
        assert_eq!(counts.sorted(), [("a::A", 1), ("a::B", 2)]);
    }
}
