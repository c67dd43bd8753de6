//! A throwaway network for the DNS and multicast discovery tests (and the TLS capture): a
//! bridge in a namespace of its own (the hub; IGMP snooping off, so multicast floods to every
//! port), the root namespace plugged into it at the `.1` address (so the test reaches every
//! node's HTTP API), and network namespaces plugged into it, each with its own IP, a route
//! for multicast (224.0.0.0/4) through its veth, and its own `/etc/netns/NS/resolv.conf` (which `ip netns exec` puts in place of `/etc/resolv.conf`).
//! The bridge is not in the root namespace because there, with `br_netfilter` loaded (Docker
//! loads it, and sets the FORWARD policy to DROP), bridged packets would go through the host's
//! iptables and be dropped. Names carry the test's pid. Dropping the [`Net`] kills the
//! processes it started, then deletes the namespaces (the hub's bridge and veths go with
//! it), the host's veth and the resolv.conf directories, on every path (a failed assertion
//! too).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The network; see the module doc.
pub(crate) struct Net {
    /// Prefix of every name, `sh<pid>`.
    tag: String,
    /// The /24 of the bridge: `10.<a>.<b>.0`.
    net: [u8; 3],
    /// The namespace holding the bridge `br0`.
    pub(crate) hub: String,
    /// The root namespace's veth to the bridge.
    host: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
}

/// Why namespaces cannot be made here, or `None` when they can; `tools` are the commands the
/// test needs besides `ip`.
pub(crate) fn unavailable(tools: &[&str]) -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root: network namespaces need root".into());
    }
    for tool in std::iter::once(&"ip").chain(tools) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            let packages = format!("iproute2 {}", tools.join(" "));
            return Some(format!(
                "{tool} is not installed (apt-get install {})",
                packages.trim_end()
            ));
        }
    }
    let probe = format!("shprobe{}", std::process::id());
    if !run(&["ip", "netns", "add", &probe]) {
        return Some("`ip netns add` fails here (no CAP_SYS_ADMIN?)".into());
    }
    run(&["ip", "netns", "del", &probe]);
    None
}

/// Runs a command quietly; whether it succeeded.
fn run(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command that must succeed.
fn must(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run ip");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Net {
    /// A bridge with the root namespace at `.1` of a /24 chosen from the pid.
    pub(crate) fn new() -> Self {
        let pid = std::process::id();
        let tag = format!("sh{}", pid % 1_000_000);
        let net = [
            10,
            200 + u8::try_from(pid % 50).unwrap_or(0),
            u8::try_from(pid / 50 % 250).unwrap_or(0),
        ];
        let net = Self {
            hub: format!("{tag}hub"),
            host: format!("{tag}br"),
            tag,
            net,
            namespaces: Vec::new(),
            children: Vec::new(),
        };
        must(&["ip", "netns", "add", &net.hub]);
        must(&[
            "ip",
            "-n",
            &net.hub,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        must(&["ip", "-n", &net.hub, "link", "set", "br0", "up"]);
        must(&[
            "ip", "link", "add", &net.host, "type", "veth", "peer", "name", "host", "netns", &net.hub,
        ]);
        net.attach("host");
        must(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", net.ip(1)),
            "dev",
            &net.host,
        ]);
        must(&["ip", "link", "set", &net.host, "up"]);
        net
    }

    /// Puts the hub's port `port` on the bridge, up.
    fn attach(&self, port: &str) {
        must(&["ip", "-n", &self.hub, "link", "set", port, "master", "br0"]);
        must(&["ip", "-n", &self.hub, "link", "set", port, "up"]);
    }

    /// The address `.host` of the bridge's /24.
    pub(crate) fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.net[0], self.net[1], self.net[2], host)
    }

    /// A namespace named `<tag><short>` with address `.host`, plugged into the bridge, whose
    /// resolv.conf names `nameserver`. Returns its name.
    pub(crate) fn namespace(&mut self, short: &str, host: u8, nameserver: Ipv4Addr) -> String {
        let ns = format!("{}{short}", self.tag);
        must(&["ip", "netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        let inner = format!("{ns}i");
        must(&[
            "ip", "-n", &self.hub, "link", "add", short, "type", "veth", "peer", "name", &inner, "netns", &ns,
        ]);
        self.attach(short);
        let addr = format!("{}/24", self.ip(host));
        must(&["ip", "-n", &ns, "addr", "add", &addr, "dev", &inner]);
        must(&["ip", "-n", &ns, "link", "set", &inner, "up"]);
        must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        must(&["ip", "-n", &ns, "route", "add", "224.0.0.0/4", "dev", &inner]);
        let dir = resolv_dir(&ns);
        std::fs::create_dir_all(&dir).expect("create /etc/netns/NS");
        std::fs::write(dir.join("resolv.conf"), format!("nameserver {nameserver}\n"))
            .expect("write resolv.conf");
        ns
    }

    /// Starts `args` inside namespace `ns` (stdin piped, so a node given
    /// `--leave-on-stdin-eof` also goes if the test process dies); killed on drop.
    pub(crate) fn spawn(&mut self, ns: &str, args: &[&str]) -> u32 {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn in namespace");
        let pid = child.id();
        self.children.push(child);
        pid
    }
}

/// What [`Net::shoal_node`] starts: node `name` at `.host`, links on `ports.0`, HTTP on
/// `ports.1`, with `cookie` and `extra` flags (discovery, TLS, ...).
pub(crate) struct NodeSpec<'a> {
    pub(crate) name: &'a str,
    pub(crate) host: u8,
    pub(crate) ports: (u16, u16),
    pub(crate) cookie: &'a str,
    pub(crate) extra: &'a [&'a str],
}

impl Net {
    /// Starts `shoal node` in namespace `ns` as `spec` says, leaving when the test process
    /// goes (`--leave-on-stdin-eof`), logging warnings and errors only.
    pub(crate) fn shoal_node(&mut self, ns: &str, spec: &NodeSpec<'_>) -> u32 {
        let listen = std::net::SocketAddr::from((self.ip(spec.host), spec.ports.0)).to_string();
        let http = std::net::SocketAddr::from((self.ip(spec.host), spec.ports.1)).to_string();
        let mut args = vec![
            env!("CARGO_BIN_EXE_shoal"),
            "node",
            "--name",
            spec.name,
            "--cookie",
            spec.cookie,
            "--listen",
            &listen,
            "--http",
            &http,
            "--leave-on-stdin-eof",
            "--log",
            "warn",
        ];
        args.extend_from_slice(spec.extra);
        self.spawn(ns, &args)
    }
}

fn resolv_dir(ns: &str) -> PathBuf {
    PathBuf::from("/etc/netns").join(ns)
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            // Deleting the namespace deletes the veth inside it, and so its peer in the hub.
            run(&["ip", "netns", "del", ns]);
            let _ = std::fs::remove_dir_all(resolv_dir(ns));
        }
        // The hub takes its bridge and the host veth's peer with it; the host's veth is
        // deleted by name too, for one whose peer never made it into the hub.
        run(&["ip", "netns", "del", &self.hub]);
        run(&["ip", "link", "del", &self.host]);
    }
}
