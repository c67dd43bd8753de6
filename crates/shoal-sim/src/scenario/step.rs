//! One line of a scenario script.

use std::time::Duration;

use super::expect::Expect;

/// One action or expectation of a [`crate::Scenario`].
#[derive(Clone, Debug)]
pub enum Step {
    /// Start a node holding the cluster cookie that joins through the nodes named `seeds`.
    AddNode {
        /// Its name.
        name: String,
        /// Names of the nodes it dials to join.
        seeds: Vec<String>,
    },
    /// Start a node holding another cookie; it must never become a member.
    AddStranger {
        /// Its name.
        name: String,
        /// Names of the nodes it dials to join.
        seeds: Vec<String>,
    },
    /// From now on, a node's discovery proposes only the addresses of `seeds` (a DNS name
    /// answering with other hosts).
    SetSeeds {
        /// Its name.
        name: String,
        /// Names of the nodes whose addresses it proposes.
        seeds: Vec<String>,
    },
    /// Stop a node without warning.
    Crash(String),
    /// Start a stopped node again on its address, with a higher creation.
    Restart(String),
    /// Start a stopped node again on a new address, with a higher creation.
    RestartAtNewAddress(String),
    /// Start a stopped node again on its address, but holding another cookie.
    RestartAsStranger(String),
    /// Stop a node's process (`SIGSTOP`): it handles nothing, its peers hear nothing.
    Pause(String),
    /// Let a paused node run again: its timers fire at once, then what waited arrives.
    Resume(String),
    /// Make a node leave gracefully, then stop it.
    Leave(String),
    /// Cut the first group of nodes off from the second, both ways.
    Partition(Vec<String>, Vec<String>),
    /// Remove every partition.
    Heal,
    /// Let virtual time pass.
    Run(Duration),
    /// Wait until `what` holds; fail if it does not within `within` of virtual time.
    Expect {
        /// The condition.
        what: Expect,
        /// How long it may take.
        within: Duration,
    },
}

impl Step {
    /// `AddNode` from string slices.
    pub fn add(name: &str, seeds: &[&str]) -> Self {
        Self::AddNode {
            name: name.into(),
            seeds: strings(seeds),
        }
    }

    /// `AddStranger` from string slices.
    pub fn stranger(name: &str, seeds: &[&str]) -> Self {
        Self::AddStranger {
            name: name.into(),
            seeds: strings(seeds),
        }
    }

    /// `SetSeeds` from string slices.
    pub fn set_seeds(name: &str, seeds: &[&str]) -> Self {
        Self::SetSeeds {
            name: name.into(),
            seeds: strings(seeds),
        }
    }

    /// `Crash` from a string slice.
    pub fn crash(name: &str) -> Self {
        Self::Crash(name.into())
    }

    /// `Restart` from a string slice.
    pub fn restart(name: &str) -> Self {
        Self::Restart(name.into())
    }

    /// `Leave` from a string slice.
    pub fn leave(name: &str) -> Self {
        Self::Leave(name.into())
    }

    /// `Partition` from string slices.
    pub fn partition(side_a: &[&str], side_b: &[&str]) -> Self {
        Self::Partition(strings(side_a), strings(side_b))
    }

    /// `Run` for `ms` milliseconds.
    pub fn run_ms(ms: u64) -> Self {
        Self::Run(Duration::from_millis(ms))
    }

    /// `Expect` with a limit in seconds.
    pub fn expect(what: Expect, within_secs: u64) -> Self {
        Self::Expect {
            what,
            within: Duration::from_secs(within_secs),
        }
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}
