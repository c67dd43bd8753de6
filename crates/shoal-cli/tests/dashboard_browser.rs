//! The dashboard in a real browser: headless Chromium driven over WebDriver (`chromedriver`)
//! against a 3-node `shoal cluster start --demo`, as a user would use it.
//!
//! One cluster and one test, in steps: the page lists every node and every node's actors; a
//! node killed with SIGKILL shows down within 5 s and its children move; Kill is refused
//! without the admin token and works with it; a partition made from the Chaos tab shows in
//! the reachability matrix and heals; bad input answers clearly; ten live feeds at once all
//! tick, and the node stops gathering once they close. A screenshot of every view lands in
//! `target/dashboard-screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`);
//! without them the test skips and says so, or fails where `SHOAL_REQUIRE_TOOLS` is set (CI).

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use shoal_api::client::http_request_with_body;

mod common;
use common::nodes_using;

use shoal_harness::webdriver::{Chromedriver, Session};

/// The demo's supervised counters (`shoal node --demo`).
const COUNTERS: usize = 24;

/// How soon after a SIGKILL the page must show the node is not alive.
const SHOWN_DOWN_WITHIN: Duration = Duration::from_secs(5);

/// A `shoal cluster` in a private state directory, stopped (and its directory removed) on
/// drop, whatever path the test takes.
struct Cluster {
    dir: PathBuf,
    nodes: Vec<NodeRow>,
    token: String,
}

/// One node as `shoal cluster start --json` printed it.
#[derive(Clone, Debug)]
struct NodeRow {
    name: String,
    pid: u32,
    http: SocketAddr,
}

fn shoal(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("cluster")
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

impl Cluster {
    fn start(size: usize) -> Self {
        let dir = std::env::temp_dir().join(format!("shoal-browser-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The guard exists before `start` runs: a start that fails half-way is cleaned too.
        let mut cluster = Self {
            dir,
            nodes: Vec::new(),
            token: String::new(),
        };
        let size_arg = size.to_string();
        let out = shoal(&cluster.dir, &["start", "--size", &size_arg, "--demo", "--json"]);
        assert!(
            out.status.success(),
            "shoal cluster start --demo failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        cluster.nodes = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let row = || -> Option<NodeRow> {
                    Some(NodeRow {
                        name: r["name"].as_str()?.to_owned(),
                        pid: u32::try_from(r["pid"].as_u64()?).ok()?,
                        http: r["http"].as_str()?.parse().ok()?,
                    })
                };
                row().unwrap_or_else(|| panic!("a node without name, pid or HTTP address: {r}"))
            })
            .collect();
        assert_eq!(cluster.nodes.len(), size, "{rows}");
        cluster.token = std::fs::read_to_string(cluster.dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_owned();
        cluster
    }

    fn node(&self, name: &str) -> &NodeRow {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    /// Lines of the nodes' logs that tell of a panic.
    fn panics(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("logs")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .flat_map(|e| {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let file = e.file_name().to_string_lossy().into_owned();
                text.lines()
                    .filter(|l| l.contains("panicked"))
                    .map(|l| format!("{file}: {l}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = shoal(&self.dir, &["stop"]);
        // Whatever `stop` left (it should leave nothing).
        for pid in nodes_using(&self.dir) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `METHOD path` on `addr`, with the admin token when given.
fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    http_request_with_body(addr, method, path, token, b"", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// Polls `check` every 100 ms until it gives `Ok(Ok(value))` or `timeout` passes. `Ok(Err(seen))`
/// means "not yet, the page shows `seen`"; `Err` is a failure that waiting cannot mend.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Result<T, String>, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = match check() {
            Ok(Ok(value)) => return value,
            Ok(Err(seen)) => seen,
            Err(e) => panic!("{what}: {e}"),
        };
        if Instant::now() >= deadline {
            panic!("{what}: not within {timeout:?}; the page showed:\n{seen}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One row of a table as the page shows it.
#[derive(Debug)]
struct Row {
    data: Value,
    text: String,
}

impl Row {
    fn get(&self, key: &str) -> &str {
        self.data[key].as_str().unwrap_or("")
    }
}

/// The page under test, with the helpers that read it.
struct Page {
    session: Session,
    url: String,
    shots: PathBuf,
}

impl Page {
    fn js(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.session.execute(script, args)
    }

    /// The rows matching `selector`: their `data-*` attributes and their cells' text (read
    /// from the DOM, so a hidden view reads too).
    fn rows(&self, selector: &str) -> Result<Vec<Row>, String> {
        let value = self.js(
            "return [...document.querySelectorAll(arguments[0])].map((tr) => ({ \
               data: Object.assign({}, tr.dataset), \
               text: [...tr.children].map((c) => c.textContent.trim()).join(' | ') }));",
            vec![json!(selector)],
        )?;
        Ok(value
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| Row {
                data: r["data"].clone(),
                text: r["text"].as_str().unwrap_or("").to_owned(),
            })
            .collect())
    }

    /// The text of the first element matching `selector` (hidden or not), and its class.
    fn text_and_class(&self, selector: &str) -> Result<(String, String), String> {
        let v = self.js(
            "const e = document.querySelector(arguments[0]); \
             return e ? [e.textContent, e.className] : null;",
            vec![json!(selector)],
        )?;
        Ok((
            v[0].as_str().unwrap_or("<no such element>").to_owned(),
            v[1].as_str().unwrap_or("").to_owned(),
        ))
    }

    fn show(&self, tab: &str) {
        self.session
            .click_css(&format!("#tab-{tab}"))
            .unwrap_or_else(|e| panic!("clicking the {tab} tab: {e}"));
    }

    /// Saves a screenshot of the viewport as `NN-name.png`.
    fn screenshot(&self, name: &str) {
        let png = self
            .session
            .screenshot()
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    /// Clicks `button` and waits until the message paragraph `message` has a verdict
    /// (class `ok` or `bad`); returns it with its text. The paragraph is emptied first, so a
    /// previous answer is not taken for this one.
    fn click_for_verdict(&self, button: &str, message: &str) -> (bool, String) {
        self.js(
            "const p = document.querySelector(arguments[0]); \
             if (p) { p.textContent = ''; p.className = 'message'; }",
            vec![json!(message)],
        )
        .unwrap();
        self.session
            .click_css(button)
            .unwrap_or_else(|e| panic!("clicking {button}: {e}"));
        wait_for(
            &format!("the answer to {button} in {message}"),
            Duration::from_secs(10),
            || {
                let (text, class) = self.text_and_class(message)?;
                Ok(if class.contains("ok") || class.contains("bad") {
                    Ok((class.contains("ok"), text))
                } else {
                    Err(format!("{message}: {text:?} (class {class:?})"))
                })
            },
        )
    }
}

fn dump(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "(no rows)".into();
    }
    rows.iter()
        .map(|r| format!("  {} {}", r.data, r.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The nodes table: name -> state, or what it shows.
fn node_states(page: &Page) -> Result<(Vec<(String, String)>, String), String> {
    let rows = page.rows("#nodes tbody tr[data-node]")?;
    let states = rows
        .iter()
        .map(|r| (r.get("node").to_owned(), r.get("state").to_owned()))
        .collect();
    Ok((states, dump(&rows)))
}

/// One cell of the reachability matrix: observer, peer, class.
type Cell = (String, String, String);

/// The reachability matrix: (observer, peer, class) for every cell of a peer, and its text.
fn matrix(page: &Page) -> Result<(Vec<Cell>, String), String> {
    let v = page.js(
        "return [...document.querySelectorAll('#matrix tr[data-observer]')].map((tr) => ({ \
           observer: tr.dataset.observer, \
           cells: [...tr.querySelectorAll('td[data-peer]')].map((td) => [td.dataset.peer, td.className, td.textContent]) }));",
        vec![],
    )?;
    let mut cells = Vec::new();
    let mut text = String::new();
    for row in v.as_array().into_iter().flatten() {
        let observer = row["observer"].as_str().unwrap_or("").to_owned();
        text.push_str(&format!("  {observer}:"));
        for cell in row["cells"].as_array().into_iter().flatten() {
            let peer = cell[0].as_str().unwrap_or("").to_owned();
            let class = cell[1].as_str().unwrap_or("").to_owned();
            text.push_str(&format!(" [{peer} {class} {}]", cell[2].as_str().unwrap_or("")));
            cells.push((observer.clone(), peer, class));
        }
        text.push('\n');
    }
    if text.is_empty() {
        text = "(no matrix rows)".into();
    }
    Ok((cells, text))
}

/// Where the screenshots go: `dashboard-screenshots/` in this build's target directory
/// (`CARGO_TARGET_DIR` or the workspace's `target/`), found from the test binary's own path,
/// `<target>/debug/deps/NAME`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

#[test]
fn the_dashboard_in_headless_chromium() {
    let started = Instant::now();
    let shots = screenshot_dir();
    // The browser first: without one, skip (or fail where SHOAL_REQUIRE_TOOLS is set, as in
    // CI), naming the packages to install.
    let driver = match Chromedriver::start() {
        Ok(driver) => driver,
        Err(missing) if shoal_api::env::skip_without_tool(&missing) => return,
        Err(e) => panic!("{e}"),
    };
    let cluster = Cluster::start(3);
    println!("cluster up after {:?}", started.elapsed());
    let n1 = cluster.node("n1").http;
    let page = Page {
        session: driver.session().unwrap_or_else(|e| panic!("{e}")),
        url: format!("http://{n1}/"),
        shots,
    };

    every_node_and_every_actor(&page);
    a_killed_node_shows_down_and_its_children_move(&page, &cluster);
    other_views_render(&page);
    kill_needs_the_token(&page, &cluster);
    a_restarted_node_shows_alive(&page, &cluster);
    a_partition_shows_in_the_matrix_and_heals(&page);
    bad_input_is_answered_clearly(&page, &cluster);
    charts_have_lines(&page);
    drop(page);

    ten_live_feeds_then_none(&cluster);
    // A new page still works once they closed.
    let page = Page {
        session: driver.session().unwrap_or_else(|e| panic!("{e}")),
        url: format!("http://{n1}/"),
        shots: screenshot_dir(),
    };
    page.session.goto(&page.url).unwrap();
    wait_for(
        "a new page after the feeds closed",
        Duration::from_secs(10),
        || all_alive_and_ok(&page, &["n1", "n2", "n3"]),
    );
    drop(page);
    drop(driver);

    let panics = cluster.panics();
    assert!(panics.is_empty(), "a node panicked:\n{}", panics.join("\n"));
    println!("browser test done in {:?}", started.elapsed());
}

/// Step 1: the nodes table lists all 3 alive, the actors tab every node's counters.
fn every_node_and_every_actor(page: &Page) {
    page.session.goto(&page.url).unwrap();
    wait_for("the live feed", Duration::from_secs(10), || {
        let (text, _) = page.text_and_class("#live")?;
        Ok(if text == "live" {
            Ok(())
        } else {
            Err(format!("#live: {text}"))
        })
    });
    wait_for("3 nodes alive, full matrix", Duration::from_secs(20), || {
        let (states, text) = node_states(page)?;
        let (cells, matrix_text) = matrix(page)?;
        let all_alive = states.len() == 3 && states.iter().all(|(_, s)| s == "alive");
        let all_ok = cells.len() == 6 && cells.iter().all(|(_, _, c)| c == "ok");
        Ok(if all_alive && all_ok {
            Ok(())
        } else {
            Err(format!("nodes:\n{text}\nmatrix:\n{matrix_text}"))
        })
    });
    page.screenshot("01-cluster");

    page.show("actors");
    page.session.type_into("#actor-search", "demo.counter").unwrap();
    let nodes = wait_for(
        "the demo's 24 counters of all 3 nodes in the actors tab, by name",
        Duration::from_secs(20),
        || {
            let rows = page.rows("#actors tbody tr[data-pid]")?;
            let (info, _) = page.text_and_class("#actor-page-info")?;
            let counters = rows.iter().filter(|r| r.text.contains("demo.counter.")).count();
            let nodes: BTreeSet<String> = rows
                .iter()
                .filter_map(|r| r.get("pid").split_once('@').map(|(_, n)| n.to_owned()))
                .collect();
            Ok(
                if counters == COUNTERS
                    && rows.len() == COUNTERS
                    && rows[0].text.contains("demo.counter.00")
                    && rows[COUNTERS - 1].text.contains("demo.counter.23")
                    && info.contains(&format!("({COUNTERS} actors)"))
                    && nodes.len() == 3
                {
                    Ok(nodes)
                } else {
                    Err(format!("{info}\n{}", dump(&rows)))
                },
            )
        },
    );
    println!("actors tab: {COUNTERS} counters on {nodes:?}");
}

/// Step 2: n3 killed with SIGKILL shows not alive within 5 s; its children move.
fn a_killed_node_shows_down_and_its_children_move(page: &Page, cluster: &Cluster) {
    page.show("cluster");
    let owners_before = supervisor_owners(page);
    let n3 = cluster.node("n3");
    let killed = Instant::now();
    let killed_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    kill(Pid::from_raw(n3.pid as i32), Signal::SIGKILL).unwrap();
    let state = wait_for("n3 shown not alive", Duration::from_secs(15), || {
        let (states, text) = node_states(page)?;
        Ok(
            match states.iter().find(|(n, _)| n == "n3").map(|(_, s)| s.as_str()) {
                Some(s @ ("down" | "unreachable" | "left")) => Ok(s.to_owned()),
                _ => Err(text),
            },
        )
    });
    let polled = killed.elapsed();
    // When the page drew the change (it notes each node's state changes, same clock as
    // ours), more exact than our polling.
    let drawn_ms = page
        .js("return (window.shoalStates || {}).n3?.since_ms ?? null;", vec![])
        .unwrap()
        .as_u64();
    let shown_after = drawn_ms.map_or(polled, |at| Duration::from_millis(at.saturating_sub(killed_ms)));
    println!(
        "n3 killed: the page showed it {state} {shown_after:?} after the SIGKILL (seen by polling after {polled:?})"
    );
    assert!(
        shown_after <= SHOWN_DOWN_WITHIN,
        "the page showed n3 {state} only {shown_after:?} after its SIGKILL (at most {SHOWN_DOWN_WITHIN:?})"
    );
    page.screenshot("02-cluster-n3-killed");

    page.show("supervisor");
    let moved = wait_for(
        "n3's children moved to n1 and n2 (Supervisor tab)",
        Duration::from_secs(30),
        || {
            let rows = page.rows("#children tbody tr[data-child]")?;
            let on_n3 = rows.iter().filter(|r| r.get("owner") == "n3").count();
            let running = rows
                .iter()
                // The pid cell (the third) holds `id@node` while the child runs.
                .filter(|r| r.text.split(" | ").nth(2).is_some_and(|pid| pid.contains('@')))
                .count();
            Ok(if !rows.is_empty() && on_n3 == 0 && running == rows.len() {
                Ok(rows.len())
            } else {
                Err(format!(
                    "{on_n3} of {} rows owned by n3:\n{}",
                    rows.len(),
                    dump(&rows)
                ))
            })
        },
    );
    println!(
        "supervisor: {moved} children on n1/n2 {:?} after the kill (n3 had {} before)",
        killed.elapsed(),
        owners_before.iter().filter(|o| *o == "n3").count()
    );
    page.screenshot("03-supervisor-after-failover");
}

/// The owner of every child in the Supervisor tab (opened and read).
fn supervisor_owners(page: &Page) -> Vec<String> {
    page.show("supervisor");
    let owners = wait_for(
        "the Supervisor tab lists the demo's counters",
        Duration::from_secs(10),
        || {
            let rows = page.rows("#children tbody tr[data-child]")?;
            Ok(if rows.len() >= COUNTERS {
                Ok(rows.iter().map(|r| r.get("owner").to_owned()).collect())
            } else {
                Err(dump(&rows))
            })
        },
    );
    page.show("cluster");
    owners
}

/// Registry and Timeline show something sensible (and are photographed).
fn other_views_render(page: &Page) {
    page.show("registry");
    wait_for("the registry lists the counters", Duration::from_secs(10), || {
        let rows = page.rows("#registry tbody tr[data-name]")?;
        let counters = rows
            .iter()
            .filter(|r| r.get("name").starts_with("demo.counter."))
            .count();
        Ok(if counters == COUNTERS {
            Ok(())
        } else {
            Err(dump(&rows))
        })
    });
    page.screenshot("04-registry");

    page.show("timeline");
    wait_for(
        "the timeline shows n3 going down",
        Duration::from_secs(10),
        || {
            let items = page.js(
            "return [...document.querySelectorAll('#timeline li[data-kind]')].map((li) => [li.dataset.kind, li.textContent]);",
            vec![],
        )?;
            let items = items.as_array().cloned().unwrap_or_default();
            let down = items
                .iter()
                .any(|i| i[0] == "node_down" && i[1].as_str().unwrap_or("").contains("n3"));
            Ok(if down {
                Ok(())
            } else {
                Err(items
                    .iter()
                    .take(30)
                    .map(|i| format!("  {}", i[1].as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("\n"))
            })
        },
    );
    page.screenshot("05-timeline");
}

/// The Charts tab, once the page has gathered for a while: lines, not just points.
fn charts_have_lines(page: &Page) {
    page.show("charts");
    wait_for("8 charts, 6 with lines", Duration::from_secs(10), || {
        let v = page.js(
            "return [...document.querySelectorAll('#charts .chart')].map((c) => [c.querySelector('h3').textContent, !!c.querySelector('polyline')]);",
            vec![],
        )?;
        let charts = v.as_array().cloned().unwrap_or_default();
        let drawn = charts.iter().filter(|c| c[1] == true).count();
        Ok(if charts.len() == 8 && drawn >= 6 {
            Ok(())
        } else {
            Err(format!("{drawn} of {} charts drawn: {v}", charts.len()))
        })
    });
    page.screenshot("10-charts");
}

/// Step 3: Kill without the token is refused (401) and says why; with it, the actor goes.
fn kill_needs_the_token(page: &Page, cluster: &Cluster) {
    page.show("actors");
    let pid = wait_for("a counter of n2 listed", Duration::from_secs(10), || {
        let rows = page.rows("#actors tbody tr[data-pid]")?;
        Ok(rows
            .iter()
            .find(|r| r.get("pid").ends_with("@n2") && r.text.contains("demo.counter."))
            .map(|r| r.get("pid").to_owned())
            .ok_or_else(|| dump(&rows)))
    });
    page.session
        .click_css(&format!("#actors tbody tr[data-pid='{pid}']"))
        .unwrap();
    wait_for("the actor's detail", Duration::from_secs(10), || {
        let (text, _) = page.text_and_class("#actor-detail dd")?;
        let has_kill = page.session.find("#kill")?.is_some();
        Ok(if text == pid && has_kill {
            Ok(())
        } else {
            Err(page.text_and_class("#actor-detail")?.0)
        })
    });
    let (mode, _) = page.text_and_class("#mode").unwrap();
    assert_eq!(mode, "read-only", "a fresh tab holds no token");
    let (ok, text) = page.click_for_verdict("#kill", "#actor-message");
    assert!(
        !ok && text.contains("refused (401)") && text.contains("admin token"),
        "Kill without the token must be refused (401) and say to paste the token; the page said {text:?}"
    );
    let shown = page
        .session
        .get("#actor-message")
        .and_then(|e| page.session.text(&e))
        .unwrap();
    assert_eq!(shown, text, "the refusal is shown, not just in the DOM");
    println!("Kill without token: {text}");
    page.screenshot("06-actors-detail-refused");

    page.session.type_into("#token", &cluster.token).unwrap();
    page.session.click_css("#token-save").unwrap();
    let (mode, _) = page.text_and_class("#mode").unwrap();
    let class = page
        .session
        .get("#mode")
        .and_then(|e| page.session.attr(&e, "class"))
        .unwrap();
    assert_eq!(
        (mode.as_str(), class.as_deref()),
        ("admin", Some("admin")),
        "after Use token"
    );
    let (ok, text) = page.click_for_verdict("#kill", "#actor-message");
    assert!(ok, "Kill with the token failed: {text}");
    let n2 = cluster.node("n2").http;
    let path = format!("/api/actors/{pid}");
    wait_for(&format!("{pid} gone"), Duration::from_secs(10), || {
        let (status, body) = http(n2, "GET", &path, None);
        let listed = page.rows(&format!("#actors tbody tr[data-pid='{pid}']"))?.len();
        Ok(if status == 404 && listed == 0 {
            Ok(())
        } else {
            Err(format!(
                "GET {path} on n2: {status} {body}; rows with data-pid {pid}: {listed}"
            ))
        })
    });
    println!("Kill with token: {pid} gone");
}

/// `shoal cluster restart n3`: the page shows it alive again, the matrix full and all ok.
fn a_restarted_node_shows_alive(page: &Page, cluster: &Cluster) {
    page.show("cluster");
    let out = shoal(&cluster.dir, &["restart", "n3"]);
    assert!(
        out.status.success(),
        "shoal cluster restart n3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = Instant::now();
    wait_for("n3 alive again after restart", Duration::from_secs(20), || {
        all_alive_and_ok(page, &["n1", "n2", "n3"])
    });
    println!(
        "n3 restarted: shown alive, matrix all ok after {:?}",
        back.elapsed()
    );
}

/// `Ok(Ok(()))` when the nodes table shows exactly `names`, all alive, and every matrix cell
/// among them is ok.
fn all_alive_and_ok(page: &Page, names: &[&str]) -> Result<Result<(), String>, String> {
    let (cells, text) = matrix(page)?;
    let (states, nodes) = node_states(page)?;
    let want: BTreeSet<&str> = names.iter().copied().collect();
    let alive: BTreeSet<&str> = states
        .iter()
        .filter(|(_, s)| s == "alive")
        .map(|(n, _)| n.as_str())
        .collect();
    let n = names.len();
    Ok(
        if states.len() == n
            && alive == want
            && cells.len() == n * (n - 1)
            && cells.iter().all(|(_, _, c)| c == "ok")
        {
            Ok(())
        } else {
            Err(format!("nodes:\n{nodes}\nmatrix:\n{text}"))
        },
    )
}

/// Step 4: a partition made from the Chaos tab shows in the matrix; heal clears it.
fn a_partition_shows_in_the_matrix_and_heals(page: &Page) {
    page.show("chaos");
    wait_for("the chaos tab lists n1, n2, n3", Duration::from_secs(10), || {
        let boxes = page.js(
            "return [...document.querySelectorAll('#chaos-nodes input[data-node]')].map((i) => i.dataset.node);",
            vec![],
        )?;
        Ok(if boxes == json!(["n1", "n2", "n3"]) {
            Ok(())
        } else {
            Err(format!("checkboxes: {boxes}"))
        })
    });
    page.session
        .click_css("#chaos-nodes input[data-node='n1']")
        .unwrap();
    let checked = page
        .js(
            "return [...document.querySelectorAll('#chaos-nodes input:checked')].map((i) => i.dataset.node);",
            vec![],
        )
        .unwrap();
    assert_eq!(checked, json!(["n1"]), "only n1 checked");
    let (ok, text) = page.click_for_verdict("#chaos-partition", "#chaos-result");
    assert!(ok, "the partition was refused: {text}");
    println!("partition: {text}");
    let cut = Instant::now();
    let seen = wait_for("the partition in the matrix", Duration::from_secs(20), || {
        let (cells, text) = matrix(page)?;
        let marked: Vec<String> = cells
            .iter()
            .filter(|(obs, peer, class)| {
                (class == "suspect" || class == "missing") && (obs == "n1") != (peer == "n1")
            })
            .map(|(obs, peer, class)| format!("{obs} marks {peer} {class}"))
            .collect();
        Ok(if marked.is_empty() {
            Err(text)
        } else {
            Ok(marked.join(", "))
        })
    });
    println!("partition shown after {:?}: {seen}", cut.elapsed());
    page.screenshot("07-chaos-partitioned");
    page.show("cluster");
    page.screenshot("08-cluster-partitioned");
    page.show("chaos");

    let (ok, text) = page.click_for_verdict("#chaos-heal", "#chaos-result");
    // Heal reaches both sides, the cut-off ones through their last address.
    assert!(
        ok && text.starts_with("healed on") && ["n1", "n2", "n3"].iter().all(|n| text.contains(n)),
        "heal must reach n1, n2 and n3: {text}"
    );
    println!("heal: {text}");
    let healed = Instant::now();
    wait_for("the matrix all ok after heal", Duration::from_secs(30), || {
        all_alive_and_ok(page, &["n1", "n2", "n3"])
    });
    println!("healed: matrix all ok after {:?}", healed.elapsed());
}

/// Step 6: an unknown actor and an unknown node are answered 404 with a clear message.
fn bad_input_is_answered_clearly(page: &Page, cluster: &Cluster) {
    let n1 = cluster.node("n1").http;
    let (status, body) = http(
        n1,
        "POST",
        "/api/nodes/n1/actors/999999@n1/kill",
        Some(&cluster.token),
    );
    assert_eq!(status, 404, "kill of an unknown actor: {body}");
    assert!(body.contains("999999@n1"), "the message names the pid: {body}");
    println!("unknown actor: {status} {body}");
    let (status, body) = http(n1, "GET", "/api/nodes/nope/node", None);
    assert_eq!(status, 404, "an unknown node: {body}");
    assert!(
        body.contains("no live member named nope"),
        "an unknown node: {body}"
    );
    println!("unknown node: {status} {body}");

    page.show("chaos");
    page.session.type_into("#chaos-pid", "999999@n1").unwrap();
    let (ok, text) = page.click_for_verdict("#chaos-kill", "#chaos-result");
    assert!(
        !ok && text.contains("(404)") && text.contains("no actor 999999@n1"),
        "killing an unknown actor from the Chaos tab must fail (404) and name it; the page said {text:?}"
    );
    println!("chaos tab, unknown actor: {text}");
    page.screenshot("09-chaos-unknown-actor");
}

/// Step 6: ten live feeds at once each get ticks; once they close, n1 stops gathering (n2
/// sees no more report requests from it) and a new page still works.
fn ten_live_feeds_then_none(cluster: &Cluster) {
    let n1 = cluster.node("n1").http;
    let n2 = cluster.node("n2").http;
    // The closed browser's feed ends first (the node notices at its next write).
    let closed = Instant::now();
    wait_for_feeds(n1, "no feed once the browser closed", |feeds, gathering| {
        feeds == 0 && !gathering
    });
    println!(
        "browser closed: n1 stopped gathering after {:?}",
        closed.elapsed()
    );

    let close = Arc::new(AtomicBool::new(false));
    let feeds: Vec<_> = (0..10)
        .map(|i| {
            let close = close.clone();
            std::thread::spawn(move || feed(n1, i, &close))
        })
        .collect();
    wait_for_feeds(n1, "10 feeds open, gathering", |feeds, gathering| {
        feeds == 10 && gathering
    });
    // The gathering asks the members: n2 sees its report requests.
    let asked = accepted_during(n2, Duration::from_secs(3));
    assert!(
        asked >= 1,
        "with 10 feeds open, n1 asked n2 for its report {asked} times in 3 s"
    );
    // Each feed returns once it saw 2 ticks and `close` is set.
    close.store(true, Ordering::Relaxed);
    let mut report = Vec::new();
    for f in feeds {
        report.push(
            f.join()
                .unwrap_or_else(|_| Err("the feed thread panicked".into())),
        );
    }
    let bad: Vec<&String> = report.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(bad.is_empty(), "some live feeds failed:\n{bad:?}");
    let counts: Vec<usize> = report.into_iter().map(Result::unwrap).collect();
    println!("10 feeds: ticks seen {counts:?}; n1 asked n2 {asked} times in 3 s");

    let closed = Instant::now();
    wait_for_feeds(
        n1,
        "no feed and no gathering once all 10 closed",
        |feeds, gathering| feeds == 0 && !gathering,
    );
    let stopped = closed.elapsed();
    let after = accepted_during(n2, Duration::from_secs(2));
    assert_eq!(
        after, 0,
        "n1 says it stopped gathering, yet n2 accepted {after} connections in the next 2 s"
    );
    println!("feeds closed: n1 stopped gathering after {stopped:?}; n2 then saw no request for 2 s");
}

/// Waits until n1's `/api/node` shows `stats.http.dashboard_feeds` and `dashboard_gathering`
/// as `want` accepts.
fn wait_for_feeds(node: SocketAddr, what: &str, want: impl Fn(u64, bool) -> bool) {
    wait_for(what, Duration::from_secs(10), || {
        let (status, body) = http(node, "GET", "/api/node", None);
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
        let stats = &v["stats"]["http"];
        let (Some(feeds), Some(gathering)) = (
            stats["dashboard_feeds"].as_u64(),
            stats["dashboard_gathering"].as_bool(),
        ) else {
            return Err(format!(
                "no dashboard_feeds/dashboard_gathering in /api/node: {stats}"
            ));
        };
        Ok(if want(feeds, gathering) {
            Ok(())
        } else {
            Err(format!(
                "dashboard_feeds {feeds}, dashboard_gathering {gathering}"
            ))
        })
    });
}

/// How many connections `node` accepted over `window`, apart from the one that measured.
fn accepted_during(node: SocketAddr, window: Duration) -> u64 {
    let read = || {
        let (status, body) = http(node, "GET", "/api/node", None);
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["stats"]["http"]["accepted"]
            .as_u64()
            .unwrap_or_else(|| panic!("no stats.http.accepted in /api/node: {v}"))
    };
    let before = read();
    std::thread::sleep(window);
    read() - before - 1
}

/// One live feed on `node`: reads `tick` events until it has seen two and `close` is set.
/// Returns how many it saw.
fn feed(node: SocketAddr, i: usize, close: &AtomicBool) -> Result<usize, String> {
    let mut stream = TcpStream::connect(node).map_err(|e| format!("feed {i}: cannot connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "GET /api/dashboard/events HTTP/1.1\r\nHost: {node}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .map_err(|e| format!("feed {i}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    // The answer's start (for messages), the last bytes read (a tick split across reads)
    // and the ticks counted so far.
    let mut head = String::new();
    let mut carry = Vec::new();
    let mut ticks = 0;
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("feed {i}: nothing for 5 s ({e}) after {ticks} ticks; {head:.300}"))?;
        if n == 0 {
            return Err(format!(
                "feed {i}: closed by the node after {ticks} ticks; {head:.300}"
            ));
        }
        if head.len() < 300 {
            head.push_str(&String::from_utf8_lossy(&buf[..n]));
            if !head.starts_with("HTTP/1.1 200") {
                return Err(format!("feed {i}: {head:.300}"));
            }
        }
        // `carry` is shorter than the marker: a match inside it was counted already.
        const MARK: &[u8] = b"event: tick";
        carry.extend_from_slice(&buf[..n]);
        ticks += carry.windows(MARK.len()).filter(|w| *w == MARK).count();
        carry.drain(..carry.len().saturating_sub(MARK.len() - 1));
        if ticks >= 2 && close.load(Ordering::Relaxed) {
            return Ok(ticks);
        }
        if Instant::now() > deadline {
            return Err(format!("feed {i}: {ticks} ticks in 30 s"));
        }
    }
}
