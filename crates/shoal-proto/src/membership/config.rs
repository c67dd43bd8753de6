//! Timing and sizing of membership and failure detection.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use crate::datagram::HEADER_LEN;
use crate::error::ConfigError;

/// Settings of the membership core. Every duration is wall time on the driver's clock.
///
/// Failure detection has three signals, fastest first:
/// 1. a link that closes and whose re-dial is refused: the member is down at once;
/// 2. a link that stays silent: suspect after `link_suspect_after`, down after `link_down_after`;
/// 3. SWIM probes (foca) over UDP: the backstop for members we hold no link to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipConfig {
    /// How often foca probes one random member.
    pub probe_period: Duration,
    /// How long a direct probe waits before asking others to probe indirectly.
    pub probe_rtt: Duration,
    /// How long a SWIM suspect may refute before it is declared down.
    pub suspect_to_down_after: Duration,
    /// How often membership updates are pushed to a few random members.
    pub gossip_interval: Duration,
    /// How often each link sends a heartbeat (which also measures RTT).
    pub heartbeat_interval: Duration,
    /// Link silence after which the peer is reported suspect.
    pub link_suspect_after: Duration,
    /// Link silence after which the peer is declared down (`Failed`).
    pub link_down_after: Duration,
    /// First re-dial delay after a link breaks for a reason other than "refused".
    pub redial_min: Duration,
    /// Longest re-dial delay (the backoff doubles up to this).
    pub redial_max: Duration,
    /// How long the higher-id side of a pair waits for the lower-id side to dial.
    pub dial_grace: Duration,
    /// How often we announce ourselves to members believed down (heals partitions).
    pub announce_to_down_interval: Duration,
    /// On graceful leave, how long after the `Goodbye` frames our departure is gossiped.
    pub leave_gossip_delay: Duration,
    /// How late a timer may fire before the core concludes that this node did not run (its
    /// process was stopped, or starved of CPU) and discounts the gap: silence measured over
    /// time this node did not run is not held against its peers. Shorter than
    /// `link_suspect_after`.
    pub stall_after: Duration,
    /// How long a down member is remembered (stops a stale life from being re-added).
    pub remove_down_after: Duration,
    /// Cluster size the gossip fan-out and retransmissions are tuned for.
    pub expected_cluster_size: NonZeroU32,
    /// Largest datagram sent, in bytes, header included.
    pub max_datagram_len: NonZeroUsize,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        Self::lan()
    }
}

impl MembershipConfig {
    /// Defaults for a LAN or one host: a frozen peer is down in about 1 s, a killed one at once.
    pub fn lan() -> Self {
        Self {
            probe_period: Duration::from_millis(500),
            probe_rtt: Duration::from_millis(200),
            suspect_to_down_after: Duration::from_millis(1500),
            gossip_interval: Duration::from_millis(100),
            heartbeat_interval: Duration::from_millis(100),
            link_suspect_after: Duration::from_millis(500),
            link_down_after: Duration::from_millis(1000),
            redial_min: Duration::from_millis(50),
            redial_max: Duration::from_secs(2),
            dial_grace: Duration::from_millis(300),
            announce_to_down_interval: Duration::from_secs(2),
            leave_gossip_delay: Duration::from_millis(50),
            stall_after: Duration::from_millis(300),
            remove_down_after: Duration::from_secs(60),
            expected_cluster_size: NonZeroU32::new(32).unwrap_or(NonZeroU32::MIN),
            max_datagram_len: NonZeroUsize::new(1400).unwrap_or(NonZeroUsize::MIN),
        }
    }

    /// Checks cross-field rules; returns the config unchanged when it is usable.
    pub fn validate(self) -> Result<Self, ConfigError> {
        let nonzero = [
            ("probe_period", self.probe_period),
            ("probe_rtt", self.probe_rtt),
            ("gossip_interval", self.gossip_interval),
            ("heartbeat_interval", self.heartbeat_interval),
            ("redial_min", self.redial_min),
            ("stall_after", self.stall_after),
        ];
        for (field, value) in nonzero {
            if value.is_zero() {
                return Err(ConfigError::invalid(field, "0ms", "use a duration above zero"));
            }
        }
        if self.probe_rtt >= self.probe_period {
            return Err(ms_error(
                "probe_rtt",
                self.probe_rtt,
                "must be shorter than probe_period",
            ));
        }
        if self.link_suspect_after <= self.heartbeat_interval {
            return Err(ms_error(
                "link_suspect_after",
                self.link_suspect_after,
                "must be longer than heartbeat_interval",
            ));
        }
        if self.link_down_after <= self.link_suspect_after {
            return Err(ms_error(
                "link_down_after",
                self.link_down_after,
                "must be longer than link_suspect_after",
            ));
        }
        if self.stall_after >= self.link_suspect_after {
            return Err(ms_error(
                "stall_after",
                self.stall_after,
                "must be shorter than link_suspect_after",
            ));
        }
        if self.redial_max < self.redial_min {
            return Err(ms_error(
                "redial_max",
                self.redial_max,
                "must be at least redial_min",
            ));
        }
        if self.max_datagram_len.get() < 512 + HEADER_LEN {
            return Err(ConfigError::invalid(
                "max_datagram_len",
                &self.max_datagram_len.to_string(),
                "use at least 529 bytes",
            ));
        }
        Ok(self)
    }

    /// The foca settings these values imply.
    pub(crate) fn foca(&self) -> foca::Config {
        let mut c = foca::Config::new_lan(self.expected_cluster_size);
        c.probe_period = self.probe_period;
        c.probe_rtt = self.probe_rtt;
        c.suspect_to_down_after = self.suspect_to_down_after;
        c.remove_down_after = Some(self.remove_down_after);
        c.max_packet_size =
            NonZeroUsize::new(self.max_datagram_len.get() - HEADER_LEN).unwrap_or(NonZeroUsize::MIN);
        c.periodic_gossip = Some(foca::PeriodicParams {
            frequency: self.gossip_interval,
            num_members: nz(3),
        });
        c.periodic_announce = Some(foca::PeriodicParams {
            frequency: Duration::from_secs(10),
            num_members: nz(1),
        });
        c.periodic_announce_to_down_members = Some(foca::PeriodicParams {
            frequency: self.announce_to_down_interval,
            num_members: nz(2),
        });
        c
    }
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

fn ms_error(field: &str, value: Duration, fix: &str) -> ConfigError {
    ConfigError::invalid(field, &format!("{}ms", value.as_millis()), fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_orderings_are_named() {
        assert!(MembershipConfig::lan().validate().is_ok());
        let bad = MembershipConfig {
            link_down_after: Duration::from_millis(400),
            ..MembershipConfig::lan()
        };
        let err = bad.validate().unwrap_err();
        assert_eq!(err.field, "link_down_after");
        assert!(err.to_string().contains("400ms"), "{err}");
    }
}
