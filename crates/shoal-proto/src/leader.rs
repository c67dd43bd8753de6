//! Who leads: the rule singletons and leader watches follow (ARCHITECTURE section 6).

use crate::member::Member;

/// The leader among `members` for `role` (any member for `None`): the one with the smallest
/// process creation, then the smallest name, among those with the role. Using the process
/// creation (not the membership creation) keeps a node that rejoined after a partition as
/// old as it really is. Pure and total, so every node with the same view picks the same one.
pub fn oldest<'a>(members: impl IntoIterator<Item = &'a Member>, role: Option<&str>) -> Option<&'a Member> {
    members
        .into_iter()
        .filter(|m| role.is_none_or(|r| m.roles.iter().any(|have| have == r)))
        .min_by(|a, b| (a.process, &a.id.name).cmp(&(b.process, &b.id.name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::test_member;
    use crate::node_id::Creation;

    fn member(name: &str, process: u64, roles: &[&str]) -> Member {
        let mut m = test_member(name, process + 10, 7000);
        m.process = Creation(process);
        m.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        m
    }

    #[test]
    fn the_oldest_process_with_the_role_leads() {
        let all = [
            member("c", 30, &["worker"]),
            member("a", 10, &[]),
            member("b", 20, &["worker"]),
        ];
        assert_eq!(oldest(&all, None).map(|m| m.id.name.as_str()), Some("a"));
        assert_eq!(
            oldest(&all, Some("worker")).map(|m| m.id.name.as_str()),
            Some("b")
        );
        assert_eq!(oldest(&all, Some("gpu")), None);
        let ties = [member("y", 5, &[]), member("x", 5, &[])];
        assert_eq!(oldest(&ties, None).map(|m| m.id.name.as_str()), Some("x"));
    }
}
