//! `InProcessCluster`: the nodes of an in-process benchmark (`registry`, `failover`), started
//! in this process on 127.0.0.1 with a fresh cookie, each seeded with the first node's
//! address and no same-host discovery, so a benchmark never joins anything else.

use std::time::{Duration, Instant};

use anyhow::Context;
use shoal_node::Node;

/// How long the nodes may take to see each other.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// N in-process nodes; a killed one is `None`. Dropping the cluster stops every node.
pub(crate) struct InProcessCluster {
    nodes: Vec<Option<Node>>,
}

impl InProcessCluster {
    /// Starts `size` nodes named `<prefix>-1..` and waits until each sees every other.
    pub(crate) async fn start(size: usize, prefix: &str) -> anyhow::Result<Self> {
        let cookie = format!("bench-{:032x}", rand::random::<u128>());
        let mut nodes: Vec<Option<Node>> = Vec::new();
        for i in 1..=size {
            let seed = nodes
                .first()
                .and_then(Option::as_ref)
                .map(|n| n.listen_addr().to_string());
            let node = Node::builder()
                .name(&format!("{prefix}-{i}"))
                .cookie(&cookie)
                .seeds(seed)
                .local_discovery(None)
                .start()
                .await
                .with_context(|| format!("starting in-process node {prefix}-{i}"))?;
            nodes.push(Some(node));
        }
        let cluster = Self { nodes };
        let deadline = Instant::now() + FORM_TIMEOUT;
        while !cluster.is_formed() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the {size} in-process nodes did not form within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(cluster)
    }

    /// Whether every node lists every other as a live member.
    fn is_formed(&self) -> bool {
        self.nodes
            .iter()
            .flatten()
            .all(|n| n.members().len() + 1 == self.nodes.len())
    }

    /// Node `i` (0-based); panics if it was killed (a benchmark's own sequencing error).
    pub(crate) fn node(&self, i: usize) -> &Node {
        self.nodes[i]
            .as_ref()
            .expect("a node the benchmark has not killed")
    }

    /// Stops node `i` without a goodbye: every task ends and its sockets close.
    pub(crate) async fn kill(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].take() {
            node.shutdown().await;
        }
    }
}
