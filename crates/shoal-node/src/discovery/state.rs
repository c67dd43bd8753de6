//! What discovery knows, as a pure value: each strategy's last lookup and each candidate
//! address's last outcome. No I/O and no clock: callers pass the time.
//!
//! Call order: [`DiscoveryState::handle_lookup`] after each lookup of a strategy (it returns
//! the addresses to propose), [`DiscoveryState::handle_outcome`] whenever a dial through a
//! candidate ends, [`DiscoveryState::view`] to show it all.
//!
//! Rules:
//! 1. Discovery only adds candidates. A lookup's only output is the list of addresses to dial;
//!    there is no way to express "this node is gone": a name that answers with fewer hosts
//!    changes what is proposed next, never the membership (which alone decides who is down).
//! 2. A candidate a later lookup no longer returns keeps its last outcome, so `GET
//!    /api/discovery` still says why it did or did not join.
//! 3. At most [`MAX_CANDIDATES`] candidates are kept; past that, the one least recently
//!    proposed is dropped from the view (only from the view: nothing else follows from it).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use shoal_api::views::{CandidateOutcome, CandidateView, DiscoveryView, StrategyView};

/// Most candidate addresses kept for the view.
pub const MAX_CANDIDATES: usize = 256;

/// Every strategy's last lookup and every candidate's last outcome.
#[derive(Clone, Debug, Default)]
pub struct DiscoveryState {
    strategies: Vec<StrategyView>,
    candidates: BTreeMap<SocketAddr, Candidate>,
    /// Increases with every proposal; orders candidates proposed in the same millisecond.
    proposals: u64,
}

#[derive(Clone, Debug)]
struct Candidate {
    view: CandidateView,
    /// [`DiscoveryState::proposals`] when it was last proposed.
    proposed_seq: u64,
}

impl DiscoveryState {
    /// A state for these strategies (their labels, e.g. `dns:shoal.svc:7000`), none looked up.
    pub fn new(strategies: impl IntoIterator<Item = String>) -> Self {
        let strategies = strategies
            .into_iter()
            .map(|strategy| StrategyView {
                strategy,
                last_lookup_ms: None,
                lookups: 0,
                found: Vec::new(),
                error: None,
            })
            .collect();
        Self {
            strategies,
            ..Self::default()
        }
    }

    /// Records the lookup of `strategy` that ended at `now_ms` (ms since the Unix epoch) and
    /// returns the addresses to propose: what it found, sorted, without repeats (nothing on an
    /// error). An unknown strategy label is added. Never removes a candidate (rule 1).
    pub fn handle_lookup(
        &mut self,
        now_ms: u64,
        strategy: &str,
        result: Result<Vec<SocketAddr>, String>,
    ) -> Vec<SocketAddr> {
        let (mut found, error) = match result {
            Ok(found) => (found, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        found.sort();
        found.dedup();
        // An answer may list thousands of hosts: propose (and dial) at most as many as the
        // view keeps.
        found.truncate(MAX_CANDIDATES);
        let index = match self.strategies.iter().position(|s| s.strategy == strategy) {
            Some(i) => i,
            None => {
                self.strategies.push(StrategyView {
                    strategy: strategy.to_owned(),
                    last_lookup_ms: None,
                    lookups: 0,
                    found: Vec::new(),
                    error: None,
                });
                self.strategies.len() - 1
            }
        };
        let entry = &mut self.strategies[index];
        entry.last_lookup_ms = Some(now_ms);
        entry.lookups += 1;
        entry.found.clone_from(&found);
        entry.error = error;
        for addr in &found {
            self.propose(now_ms, *addr, strategy);
        }
        found
    }

    /// Records the outcome of a dial through `addr` that ended at `now_ms` (or `Joined` for a
    /// proposed address that is linked already). `outcome_ms` changes only with the outcome.
    /// Addresses no strategy proposed (a member's own re-dials) are not candidates and are
    /// ignored.
    pub fn handle_outcome(&mut self, now_ms: u64, addr: SocketAddr, outcome: CandidateOutcome) {
        if let Some(c) = self.candidates.get_mut(&addr)
            && c.view.outcome != outcome
        {
            c.view.outcome = outcome;
            c.view.outcome_ms = now_ms;
        }
    }

    /// Everything, for `GET /api/discovery`.
    pub fn view(&self) -> DiscoveryView {
        DiscoveryView {
            strategies: self.strategies.clone(),
            candidates: self.candidates.values().map(|c| c.view.clone()).collect(),
            multicast: None,
        }
    }

    fn propose(&mut self, now_ms: u64, addr: SocketAddr, strategy: &str) {
        self.proposals += 1;
        let seq = self.proposals;
        let candidate = self.candidates.entry(addr).or_insert_with(|| Candidate {
            view: CandidateView {
                addr,
                sources: Vec::new(),
                proposed_ms: now_ms,
                outcome: CandidateOutcome::Proposed,
                outcome_ms: now_ms,
            },
            proposed_seq: seq,
        });
        candidate.view.proposed_ms = now_ms;
        candidate.proposed_seq = seq;
        if !candidate.view.sources.iter().any(|s| s == strategy) {
            candidate.view.sources.push(strategy.to_owned());
            candidate.view.sources.sort();
        }
        if self.candidates.len() > MAX_CANDIDATES {
            let oldest = self
                .candidates
                .iter()
                .min_by_key(|(_, c)| c.proposed_seq)
                .map(|(a, _)| *a);
            if let Some(oldest) = oldest {
                self.candidates.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(last_octets: &[u8]) -> Vec<SocketAddr> {
        last_octets
            .iter()
            .map(|o| SocketAddr::from(([10, 0, 0, *o], 7000)))
            .collect()
    }

    #[test]
    fn a_lookup_proposes_what_it_found_sorted_once_each() {
        let mut state = DiscoveryState::new(["dns:n:7000".to_string()]);
        let proposed = state.handle_lookup(5, "dns:n:7000", Ok(addrs(&[3, 1, 3, 2])));
        assert_eq!(proposed, addrs(&[1, 2, 3]));
        let view = state.view();
        assert_eq!(view.strategies[0].found, addrs(&[1, 2, 3]));
        assert_eq!(view.strategies[0].last_lookup_ms, Some(5));
        assert_eq!(view.strategies[0].lookups, 1);
        assert_eq!(view.candidates.len(), 3);
        assert!(
            view.candidates
                .iter()
                .all(|c| c.outcome == CandidateOutcome::Proposed)
        );
    }

    #[test]
    fn an_answer_of_thousands_of_hosts_proposes_at_most_the_candidates_kept() {
        let mut state = DiscoveryState::new(["dns:n:7000".to_string()]);
        let many: Vec<SocketAddr> = (0..1000u32)
            .map(|i| SocketAddr::from(([10, 0, (i / 256) as u8, (i % 256) as u8], 7000)))
            .collect();
        let proposed = state.handle_lookup(5, "dns:n:7000", Ok(many));
        assert_eq!(proposed.len(), MAX_CANDIDATES);
        assert_eq!(state.view().strategies[0].found.len(), MAX_CANDIDATES);
    }

    #[test]
    fn fewer_records_propose_fewer_addresses_and_keep_every_candidate_and_outcome() {
        let mut state = DiscoveryState::new(["dns:n:7000".to_string()]);
        state.handle_lookup(1, "dns:n:7000", Ok(addrs(&[1, 2, 3, 4])));
        for a in addrs(&[1, 2, 3, 4]) {
            state.handle_outcome(2, a, CandidateOutcome::Joined);
        }
        // The name now answers with two hosts: only those are proposed; nothing else comes
        // out of the state (there is no output that could remove a member).
        let proposed = state.handle_lookup(3, "dns:n:7000", Ok(addrs(&[1, 2])));
        assert_eq!(proposed, addrs(&[1, 2]));
        let view = state.view();
        assert_eq!(view.strategies[0].found, addrs(&[1, 2]));
        let kept: Vec<_> = view.candidates.iter().map(|c| (c.addr, c.outcome)).collect();
        let joined: Vec<_> = addrs(&[1, 2, 3, 4])
            .into_iter()
            .map(|a| (a, CandidateOutcome::Joined))
            .collect();
        assert_eq!(kept, joined);
        // An answer with no host at all, or an error, proposes nothing and removes nothing.
        assert!(state.handle_lookup(4, "dns:n:7000", Ok(Vec::new())).is_empty());
        let failed = state.handle_lookup(5, "dns:n:7000", Err("NXDOMAIN".into()));
        assert!(failed.is_empty());
        let view = state.view();
        assert_eq!(view.candidates.len(), 4);
        assert_eq!(view.strategies[0].error.as_deref(), Some("NXDOMAIN"));
        assert_eq!(view.strategies[0].lookups, 4);
    }

    #[test]
    fn outcomes_are_kept_per_candidate_and_other_addresses_are_ignored() {
        let mut state = DiscoveryState::new(["dns-srv:s".to_string()]);
        state.handle_lookup(1, "dns-srv:s", Ok(addrs(&[1, 2])));
        state.handle_outcome(2, addrs(&[1])[0], CandidateOutcome::WrongCookie);
        state.handle_outcome(3, addrs(&[9])[0], CandidateOutcome::Refused);
        let view = state.view();
        assert_eq!(view.candidates.len(), 2);
        assert_eq!(view.candidates[0].outcome, CandidateOutcome::WrongCookie);
        assert_eq!(view.candidates[0].outcome_ms, 2);
        assert_eq!(view.candidates[1].outcome, CandidateOutcome::Proposed);
    }

    #[test]
    fn a_candidate_found_by_two_strategies_names_both() {
        let mut state = DiscoveryState::new(["local".to_string(), "dns:n:7000".to_string()]);
        state.handle_lookup(1, "local", Ok(addrs(&[1])));
        state.handle_lookup(1, "dns:n:7000", Ok(addrs(&[1])));
        assert_eq!(state.view().candidates[0].sources, ["dns:n:7000", "local"]);
    }

    #[test]
    fn candidates_are_bounded_and_the_least_recently_proposed_go_first() {
        let mut state = DiscoveryState::new(["dns:n:1".to_string()]);
        let many: Vec<SocketAddr> = (0..300u16)
            .map(|p| SocketAddr::from(([10, 0, 0, 1], p)))
            .collect();
        state.handle_lookup(1, "dns:n:1", Ok(many[..MAX_CANDIDATES].to_vec()));
        // Port 0 is proposed again, so it is the most recent and stays.
        state.handle_lookup(2, "dns:n:1", Ok(vec![many[0]]));
        state.handle_lookup(3, "dns:n:1", Ok(many[MAX_CANDIDATES..].to_vec()));
        let view = state.view();
        assert_eq!(view.candidates.len(), MAX_CANDIDATES);
        let has = |a: &SocketAddr| view.candidates.iter().any(|c| c.addr == *a);
        assert!(has(&many[0]) && has(&many[299]));
        assert!(!has(&many[1]) && has(&many[45]));
    }
}
