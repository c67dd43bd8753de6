//! [`History`]: a node's bounded memory of what happened and of its figures, so a dashboard
//! opened late (or reloaded) shows what came before it, and metrics can count events by kind.
//!
//! It keeps the newest [`EVENT_CAPACITY`] events and [`SAMPLE_CAPACITY`] samples (one a
//! second: an hour). Recording costs one short lock; nothing here runs because a page
//! watches: the sampler (`history/sampler.rs`) runs whether or not anyone reads.

// Reached by its path, not re-exported: the sampler reads the actor runtime, which records
// into the history, so a re-export here closed an import cycle of four files.
pub(crate) mod sampler;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use shoal_api::views::{EventKind, GoneNode, HistoryEvent, HistoryPage, Sample};

use crate::now_us;

/// Events kept: the newest ten thousand.
pub const EVENT_CAPACITY: usize = 10_000;
/// Samples kept: one hour of one a second.
pub const SAMPLE_CAPACITY: usize = 3_600;
/// Longest `detail` or `subject` kept, in bytes (longer ones are cut at a char boundary).
const MAX_TEXT: usize = 200;

/// A node's event and sample history. Cloned out by readers; never blocks for long.
#[derive(Debug)]
pub struct History {
    node: String,
    creation: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    events: VecDeque<HistoryEvent>,
    last_seq: u64,
    samples: VecDeque<Sample>,
    /// Events recorded since start, by kind and reason (closed sets: a metric's labels).
    counts: BTreeMap<(EventKind, Option<&'static str>), u64>,
}

impl History {
    /// An empty history of node `node` (process creation `creation`).
    pub(crate) fn new(node: impl Into<String>, creation: u64) -> Self {
        Self {
            node: node.into(),
            creation,
            inner: Mutex::default(),
        }
    }

    /// Records that `kind` happened to `subject`, qualified by `reason` (a word from the
    /// kind's closed set), with `detail` for a person. Text past 200 bytes is cut.
    pub(crate) fn record(
        &self,
        kind: EventKind,
        subject: impl Into<String>,
        reason: Option<&'static str>,
        detail: impl Into<String>,
    ) {
        let mut inner = self.lock();
        inner.last_seq += 1;
        *inner.counts.entry((kind, reason)).or_default() += 1;
        let event = HistoryEvent {
            seq: inner.last_seq,
            at_us: now_us(),
            kind,
            subject: cut(subject.into()),
            reason: reason.map(str::to_owned),
            detail: cut(detail.into()),
        };
        if inner.events.len() == EVENT_CAPACITY {
            inner.events.pop_front();
        }
        inner.events.push_back(event);
    }

    /// Adds a sample, dropping the oldest past an hour's worth.
    pub(crate) fn push_sample(&self, sample: Sample) {
        let mut inner = self.lock();
        if inner.samples.len() == SAMPLE_CAPACITY {
            inner.samples.pop_front();
        }
        inner.samples.push_back(sample);
    }

    /// The events after `after`, oldest first, at most `limit` of them (the newest ones if
    /// more wait: a reader far behind skips to the present).
    pub fn page(&self, after: u64, limit: usize) -> HistoryPage {
        let inner = self.lock();
        let newer = inner.events.iter().filter(|e| e.seq > after);
        let count = newer.clone().count();
        let events = newer.skip(count.saturating_sub(limit)).cloned().collect();
        HistoryPage {
            node: self.node.clone(),
            creation: self.creation,
            last_seq: inner.last_seq,
            dropped: inner.last_seq - inner.events.len() as u64,
            events,
        }
    }

    /// The creation of the process whose history this is (its first life's creation; the
    /// `process` of its member record): `seq` starts again in a new process.
    pub fn creation(&self) -> u64 {
        self.creation
    }

    /// The name of the node whose history this is.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The highest event `seq` so far (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// The samples taken after `after_ms`, oldest first, one per `step` samples kept.
    pub fn samples(&self, after_ms: u64, step: usize) -> Vec<Sample> {
        let inner = self.lock();
        let newer: Vec<&Sample> = inner.samples.iter().filter(|s| s.at_ms > after_ms).collect();
        let step = step.max(1);
        // Keep the newest sample whatever the step, so a chart ends at now.
        let first = (newer.len() + step - 1) % step;
        newer.into_iter().skip(first).step_by(step).cloned().collect()
    }

    /// The newest sample, if one was taken.
    pub fn latest_sample(&self) -> Option<Sample> {
        self.lock().samples.back().cloned()
    }

    /// Events recorded since start, by kind and reason, whether or not they are still kept.
    pub fn counts(&self) -> Vec<(EventKind, Option<&'static str>, u64)> {
        let inner = self.lock();
        inner.counts.iter().map(|(&(k, r), &n)| (k, r, n)).collect()
    }

    /// How many `kind` events were recorded since start, any reason, or only `reason`.
    pub fn count(&self, kind: EventKind, reason: Option<&str>) -> u64 {
        let inner = self.lock();
        inner
            .counts
            .iter()
            .filter(|((k, r), _)| *k == kind && (reason.is_none() || *r == reason))
            .map(|(_, n)| n)
            .sum()
    }

    /// Members this node saw go down that have not come up since, newest first, as far back
    /// as the kept events reach; at most `limit`.
    pub fn gone(&self, limit: usize) -> Vec<GoneNode> {
        let inner = self.lock();
        let mut seen = std::collections::HashSet::new();
        let mut gone = Vec::new();
        for e in inner.events.iter().rev() {
            if gone.len() == limit {
                break;
            }
            match e.kind {
                EventKind::NodeUp | EventKind::NodeSuspect => {
                    seen.insert(e.subject.clone());
                }
                EventKind::NodeDown if seen.insert(e.subject.clone()) => gone.push(GoneNode {
                    name: e.subject.clone(),
                    reason: e.reason.clone().unwrap_or_default(),
                    at_us: e.at_us,
                }),
                _ => {}
            }
        }
        gone
    }

    /// [`History::memory_bytes`] of a full history of a node with `peers` peers: 10,000
    /// events with typical text, an hour of samples. For `shoal bench dashboard`.
    pub fn full_estimate(peers: usize) -> usize {
        let history = History::new("node-00", 1);
        for i in 0..EVENT_CAPACITY {
            let id = format!("demo.counter.{i:05}");
            let detail = format!("{id} started here: failed over from node-{:02}", i % 10);
            history.record(EventKind::ChildStarted, id, Some("failed_over"), detail);
        }
        for t in 0..SAMPLE_CAPACITY as u64 {
            history.push_sample(Sample {
                at_ms: t * 1000,
                members_alive: peers as u32 + 1,
                members_suspect: 0,
                actors: 10_000,
                messages_handled: t,
                cpu_ms: Some(t),
                rss_bytes: Some(1 << 20),
                restarts: 0,
                failovers: 0,
                peers: (0..peers)
                    .map(|p| shoal_api::views::PeerSample {
                        node: format!("node-{p:02}"),
                        rtt_us: Some(250),
                        bytes_sent: Some(t),
                    })
                    .collect(),
            });
        }
        history.memory_bytes()
    }

    /// An estimate of the heap the kept events and samples take, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let inner = self.lock();
        let events: usize = inner
            .events
            .iter()
            .map(|e| {
                std::mem::size_of::<HistoryEvent>()
                    + e.subject.capacity()
                    + e.detail.capacity()
                    + e.reason.as_ref().map_or(0, String::capacity)
            })
            .sum();
        let samples: usize = inner
            .samples
            .iter()
            .map(|s| {
                std::mem::size_of::<Sample>()
                    + s.peers.capacity() * std::mem::size_of::<shoal_api::views::PeerSample>()
                    + s.peers.iter().map(|p| p.node.capacity()).sum::<usize>()
            })
            .sum();
        events + samples
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `text`, cut to at most [`MAX_TEXT`] bytes at a char boundary.
fn cut(mut text: String) -> String {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
#[path = "history_test.rs"]
mod tests;
