//! Prometheus metrics of one node: [`Node::encode_metrics`] writes them in the Prometheus
//! text format (version 0.0.4), which `GET /metrics` serves and `promtool check metrics`
//! reads. `docs/metrics.md` lists every family.
//!
//! Each node owns its own [`Registry`] (made in `Node::start`), so many nodes in one
//! process, as in tests, never share or fight over a global recorder. Nearly every value is
//! read at scrape time from state the node keeps anyway (the membership snapshot, the
//! actor table, the registry, the child table, the links' counters) by one [`Collector`];
//! the few counters kept only for metrics say what they cost where they are counted. Label
//! values are bounded: peer names (the cluster's size), actor types (the program's types),
//! and fixed sets of states, reasons and results; never a pid, an actor name or a child id.
//!
//! [`Node::encode_metrics`]: crate::Node::encode_metrics
//! [`Collector`]: prometheus_client::collector::Collector

mod collector;
mod events;
mod histogram;
mod type_counts;
mod write;

use prometheus_client::registry::Registry;

pub(crate) use self::collector::Sources;
pub(crate) use self::histogram::LatencyHistogram;

/// The `Content-Type` of [`crate::Node::encode_metrics`]'s output: the Prometheus text
/// format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One node's metrics registry.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// A registry whose collector reads `sources` at every scrape.
    pub(crate) fn new(sources: Sources) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector::NodeCollector::new(sources)));
        Self { registry }
    }

    /// Appends every metric to `out` in the Prometheus text format.
    pub(crate) fn encode(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::prometheus_text::encode(out, &self.registry)
    }
}
