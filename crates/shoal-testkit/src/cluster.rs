//! `TestCluster`: a whole cluster for one test, in this process or as real processes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shoal_node::{Node, NodeName};

use shoal_api::views::MemberView;
use shoal_api::{client, env, http_request};
use shoal_harness::{NodeProcess, cut_path};

/// How long `start` waits for the cluster to form.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one HTTP request to a node process may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// One node of a [`TestCluster`].
#[derive(Debug)]
pub enum TestNode {
    /// A node running inside the test process.
    InProcess(Node),
    /// A node process of a binary (killed when the cluster drops).
    Process(NodeProcess),
    /// A node that [`TestCluster::kill`] stopped.
    Killed(String),
}

impl TestNode {
    /// The node's name.
    pub fn name(&self) -> String {
        match self {
            Self::InProcess(node) => node.local().id.name.to_string(),
            Self::Process(process) => process.ready.name.clone(),
            Self::Killed(name) => name.clone(),
        }
    }

    /// The in-process node, if this is one.
    pub fn node(&self) -> Option<&Node> {
        match self {
            Self::InProcess(node) => Some(node),
            _ => None,
        }
    }

    /// The node process, if this is one.
    pub fn process(&self) -> Option<&NodeProcess> {
        match self {
            Self::Process(process) => Some(process),
            _ => None,
        }
    }

    fn listen(&self) -> Option<SocketAddr> {
        match self {
            Self::InProcess(node) => Some(node.listen_addr()),
            Self::Process(process) => Some(process.ready.listen),
            Self::Killed(_) => None,
        }
    }

    /// Names of the members this node lists as alive (itself included), sorted; empty if it
    /// does not answer.
    pub fn alive_members(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Self::InProcess(node) => {
                let mut names: Vec<String> = node
                    .members()
                    .iter()
                    .map(|m| m.member.id.name.to_string())
                    .collect();
                names.push(self.name());
                names
            }
            Self::Process(process) => process
                .ready
                .http
                .and_then(|http| client::get::<Vec<MemberView>>(http, "/api/members", HTTP_TIMEOUT).ok())
                .unwrap_or_default()
                .into_iter()
                .filter(MemberView::is_alive)
                .map(|m| m.name)
                .collect(),
            Self::Killed(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

/// Configures a [`TestCluster`].
#[derive(Debug, Clone)]
pub struct TestClusterBuilder {
    size: usize,
    binary: Option<PathBuf>,
    prefix: String,
    roles: Vec<String>,
}

/// A cluster for one test: N nodes with a fresh cookie, joined through the first node's
/// address (no same-host discovery, so tests never meet each other), plus fault injection.
/// In-process nodes by default; [`TestClusterBuilder::binary`] runs real processes of a binary
/// that follows the node contract (`shoal node`, or one built on `Node::from_env()`).
/// Everything stops when the cluster drops.
#[derive(Debug)]
pub struct TestCluster {
    nodes: Vec<TestNode>,
    cookie: String,
    admin_token: String,
}

impl TestCluster {
    /// Starts configuring a cluster of 3 in-process nodes.
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder {
            size: 3,
            binary: None,
            prefix: format!("t{}", rand::random::<u32>() % 100_000),
            roles: Vec::new(),
        }
    }
}

impl TestClusterBuilder {
    /// Number of nodes (at least 1).
    pub fn size(mut self, size: usize) -> Self {
        self.size = size.max(1);
        self
    }

    /// Runs each node as a process of `binary` instead of inside the test.
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = Some(binary.into());
        self
    }

    /// Every node gets these roles (for placement and singletons).
    pub fn roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Node names are `<prefix>-1`, `<prefix>-2`, ... (default: a random prefix).
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Starts the nodes and waits until every node sees every other.
    pub async fn start(self) -> std::io::Result<TestCluster> {
        let cookie = format!("test-{:032x}", rand::random::<u128>());
        let admin_token = format!("{:032x}", rand::random::<u128>());
        let mut nodes: Vec<TestNode> = Vec::new();
        for i in 1..=self.size {
            let name = format!("{}-{i}", self.prefix);
            let seed = nodes.first().and_then(TestNode::listen).map(|a| a.to_string());
            let node = match &self.binary {
                None => TestNode::InProcess(start_in_process(&name, &cookie, seed, &self.roles).await?),
                Some(bin) => {
                    let roles = self.roles.join(",");
                    let mut env = vec![
                        (env::COOKIE, cookie.as_str()),
                        (env::DISCOVERY, "static"),
                        (env::ADMIN_TOKEN, admin_token.as_str()),
                    ];
                    if let Some(seed) = &seed {
                        env.push((env::SEEDS, seed.as_str()));
                    }
                    if !roles.is_empty() {
                        env.push((env::ROLES, roles.as_str()));
                    }
                    TestNode::Process(NodeProcess::spawn_with_env(bin, &name, &[], &env)?)
                }
            };
            nodes.push(node);
        }
        let cluster = TestCluster {
            nodes,
            cookie,
            admin_token,
        };
        if !cluster.wait_until(FORM_TIMEOUT, TestCluster::is_formed).await {
            return Err(std::io::Error::other("the test cluster did not form within 30 s"));
        }
        Ok(cluster)
    }
}

async fn start_in_process(
    name: &str,
    cookie: &str,
    seed: Option<String>,
    roles: &[String],
) -> std::io::Result<Node> {
    Node::builder()
        .name(name)
        .roles(roles.to_vec())
        .cookie(cookie)
        .seeds(seed)
        .local_discovery(None)
        .start()
        .await
        .map_err(std::io::Error::other)
}

impl TestCluster {
    /// The admin token every process node was started with (for mutating HTTP requests).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The nodes, in start order.
    pub fn nodes(&self) -> &[TestNode] {
        &self.nodes
    }

    /// Node `i` (0-based) as an in-process [`Node`]; panics for a process or killed node.
    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].node().expect("an in-process node (see TestNode)")
    }

    /// Names of the nodes, in start order.
    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(TestNode::name).collect()
    }

    /// Whether every running node lists exactly the running nodes as alive.
    pub fn is_formed(&self) -> bool {
        let mut running: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| !matches!(n, TestNode::Killed(_)))
            .map(TestNode::name)
            .collect();
        running.sort();
        self.nodes
            .iter()
            .filter(|n| !matches!(n, TestNode::Killed(_)))
            .all(|n| n.alive_members() == running)
    }

    /// Polls `predicate` every 10 ms until it holds or `deadline` passes; returns whether it
    /// held. Bound it generously: this is a wait on a condition, not a timing assertion.
    pub async fn wait_until(&self, deadline: Duration, mut predicate: impl FnMut(&Self) -> bool) -> bool {
        let end = Instant::now() + deadline;
        loop {
            if predicate(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops node `i` without a goodbye: a process gets SIGKILL; an in-process node stops
    /// every task and closes its sockets.
    pub async fn kill(&mut self, i: usize) {
        let name = self.nodes[i].name();
        match std::mem::replace(&mut self.nodes[i], TestNode::Killed(name)) {
            TestNode::InProcess(node) => node.shutdown().await,
            TestNode::Process(process) => drop(process), // kill on drop
            TestNode::Killed(_) => {}
        }
    }

    /// Freezes node `i`: SIGSTOP for a process; for an in-process node, a partition between
    /// it and every other node (it goes silent the same way).
    pub fn pause(&self, i: usize) -> std::io::Result<()> {
        match &self.nodes[i] {
            TestNode::Process(process) => process.signal(Signal::SIGSTOP),
            _ => {
                let others: Vec<usize> = (0..self.nodes.len()).filter(|j| *j != i).collect();
                self.partition(&[&[i], &others])
            }
        }
    }

    /// Thaws node `i` after [`TestCluster::pause`].
    pub fn resume(&self, i: usize) -> std::io::Result<()> {
        match &self.nodes[i] {
            TestNode::Process(process) => process.signal(Signal::SIGCONT),
            _ => self.heal(),
        }
    }

    /// Splits the cluster: each node of a group drops all traffic with the nodes of the other
    /// groups (nodes in no group stay connected to all). Indices are 0-based.
    pub fn partition(&self, groups: &[&[usize]]) -> std::io::Result<()> {
        for (g, group) in groups.iter().enumerate() {
            let others: Vec<String> = groups
                .iter()
                .enumerate()
                .filter(|(h, _)| *h != g)
                .flat_map(|(_, other)| other.iter().map(|j| self.nodes[*j].name()))
                .collect();
            for i in group.iter() {
                self.cut(*i, &others)?;
            }
        }
        Ok(())
    }

    /// Ends every partition.
    pub fn heal(&self) -> std::io::Result<()> {
        (0..self.nodes.len()).try_for_each(|i| self.cut(i, &[]))
    }

    /// The cluster's cookie, for a node of the test's own that joins it.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// Node `i` drops all traffic with the nodes named `peers` (any node, also ones outside
    /// the cluster); an empty list heals it. [`TestCluster::partition`] is built on this.
    pub fn cut(&self, i: usize, peers: &[String]) -> std::io::Result<()> {
        match &self.nodes[i] {
            TestNode::InProcess(node) => {
                let names = peers.iter().map(NodeName::new).collect::<Result<Vec<_>, _>>();
                node.partition_from(names.map_err(std::io::Error::other)?);
                Ok(())
            }
            TestNode::Process(process) => {
                let http = process
                    .ready
                    .http
                    .ok_or_else(|| std::io::Error::other("the node serves no HTTP API"))?;
                let timeout = Duration::from_secs(5);
                let path = cut_path(peers, timeout);
                let (status, body) = http_request(http, "POST", &path, Some(&self.admin_token), timeout)?;
                if status == 200 {
                    Ok(())
                } else {
                    Err(std::io::Error::other(format!(
                        "{} refused fault injection: {body}",
                        process.ready.name
                    )))
                }
            }
            TestNode::Killed(_) => Ok(()),
        }
    }
}
