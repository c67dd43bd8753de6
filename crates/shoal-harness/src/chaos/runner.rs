//! Runs a schedule against a [`ChaosCluster`]: each fault is injected, held, repaired and
//! recorded; the run waits for the full mesh after each, then a quiet phase, then checks.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::checker::{Verdict, check};
use super::cluster::ChaosCluster;
use super::history::{DuplicateRecord, FaultRecord, History};
use super::quiet::faults_of;
use super::sampler::{self, Shared, now_us};
use super::{ChaosConfig, ChaosReport, Fault, FaultKind, Schedule};

/// How long the cluster may take to form again after a fault before the run goes on.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs one chaos session; `progress` gets one line per fault as it happens.
pub fn run(config: &ChaosConfig, mut progress: impl FnMut(&str)) -> io::Result<ChaosReport> {
    std::fs::create_dir_all(&config.out_dir)?;
    let schedule = Schedule::generate(config.seed, config.nodes, config.length, &config.kinds);
    let shared = Shared::default();
    let mut cluster = ChaosCluster::start(&config.bin, &config.out_dir, config.nodes, shared.clone())?;
    let samplers = sampler::start(&shared, config.sample_period);
    let mut runner = Runner {
        cluster: &mut cluster,
        faults: Vec::new(),
        duplicates: Vec::new(),
        progress: &mut progress,
    };
    let result = runner.session(config, &schedule);
    let (faults, duplicates) = (
        std::mem::take(&mut runner.faults),
        std::mem::take(&mut runner.duplicates),
    );
    let ended_us = now_us();
    shared.stop.store(true, Ordering::Relaxed);
    for s in samplers {
        let _ = s.join();
    }
    cluster.shutdown();
    let (started_us, quiet_from_us, done) = result?;
    let mut samples = std::mem::take(
        &mut *shared
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    samples.retain(|s| s.sent_us >= started_us);
    let history = History {
        seed: config.seed,
        started_us,
        nodes: cluster.names(),
        grace_ms: config.grace.as_millis() as u64,
        quiet_from_us: Some(quiet_from_us),
        quiet_bound_ms: config.quiet_bound.as_millis() as u64,
        faults,
        samples,
        events: std::mem::take(&mut cluster.events)
            .into_iter()
            .filter(|e| (started_us..=ended_us).contains(&e.at_us))
            .collect(),
        duplicates,
        event_counts: std::mem::take(&mut cluster.event_counts),
        processes: std::mem::take(&mut cluster.processes),
    };
    let verdict: Verdict = check(&history);
    let history_path = config.out_dir.join("history.json");
    std::fs::write(
        &history_path,
        serde_json::to_vec(&history).map_err(io::Error::other)?,
    )?;
    let mut injected: BTreeMap<FaultKind, usize> = BTreeMap::new();
    for step in &schedule.steps[..done] {
        *injected.entry(step.fault.kind()).or_default() += 1;
    }
    Ok(ChaosReport {
        schedule,
        injected,
        history_path,
        samples: history.samples.len(),
        events: history.event_counts.clone(),
        verdict,
    })
}

struct Runner<'a, P: FnMut(&str)> {
    cluster: &'a mut ChaosCluster,
    faults: Vec<FaultRecord>,
    duplicates: Vec<DuplicateRecord>,
    progress: &'a mut P,
}

impl<P: FnMut(&str)> Runner<'_, P> {
    /// Waits for the first quiet, runs every step, then the final quiet; returns when the
    /// history starts, when quiet began, and how many steps ran.
    fn session(&mut self, config: &ChaosConfig, schedule: &Schedule) -> io::Result<(u64, u64, usize)> {
        let formed = self.wait_settled(now_us(), Duration::from_secs(90));
        if !formed {
            return Err(io::Error::other(
                "the cluster never formed with every demo child running once (90 s)",
            ));
        }
        let started_us = now_us();
        let end = Instant::now() + config.length;
        let mut done = 0;
        for (n, step) in schedule.steps.iter().enumerate() {
            if Instant::now() >= end {
                break;
            }
            done += 1;
            (self.progress)(&format!(
                "[{:>3}] {}",
                n + 1,
                describe(&step.fault, &self.cluster.names())
            ));
            self.inject(&step.fault)?;
            if !self.wait_formed(FORM_TIMEOUT) {
                (self.progress)("      the cluster did not form again within 30 s; going on");
            }
            self.cluster.idle(Duration::from_millis(step.gap_ms));
        }
        let quiet_from = now_us();
        self.cluster.shared.quiet.store(true, Ordering::Relaxed);
        (self.progress)("quiet: waiting for every after-quiet check to hold");
        self.wait_settled(quiet_from, config.quiet_bound);
        self.cluster.idle(config.sample_period * 2);
        Ok((started_us, quiet_from, done))
    }

    /// Waits until one round of samples since `since` passes every after-quiet check.
    fn wait_settled(&mut self, since: u64, bound: Duration) -> bool {
        let end = Instant::now() + bound;
        while Instant::now() < end {
            if let Some(round) = self.cluster.shared.latest_round(since) {
                let refs: Vec<&super::history::Sample> = round.iter().collect();
                let expected = (0..24)
                    .map(|i| format!("demo.counter.{i:02}"))
                    .chain(["demo.clock".to_owned()])
                    .collect();
                if faults_of(&refs, &expected).is_empty() {
                    return true;
                }
            }
            self.cluster.idle(Duration::from_millis(100));
        }
        false
    }

    /// Waits until every node lists every node alive and linked.
    fn wait_formed(&mut self, bound: Duration) -> bool {
        let since = now_us();
        let end = Instant::now() + bound;
        let all = self.cluster.names();
        while Instant::now() < end {
            if let Some(round) = self.cluster.shared.latest_round(since)
                && round.iter().all(|s| {
                    let mut seen: Vec<&str> = s
                        .members
                        .iter()
                        .filter(|m| m.state == "alive" && m.linked)
                        .map(|m| m.name.as_str())
                        .collect();
                    seen.sort_unstable();
                    seen == all.iter().map(String::as_str).collect::<Vec<_>>()
                })
            {
                return true;
            }
            self.cluster.idle(Duration::from_millis(100));
        }
        false
    }

    fn record(
        &mut self,
        kind: FaultKind,
        start_us: u64,
        text: String,
        targets: Vec<String>,
        separated: Vec<(String, String)>,
    ) {
        self.faults.push(FaultRecord {
            kind,
            start_us,
            end_us: now_us(),
            text,
            targets,
            separated,
        });
    }

    fn inject(&mut self, fault: &Fault) -> io::Result<()> {
        let names = self.cluster.names();
        let start = now_us();
        match fault {
            Fault::Rolling => {
                for (i, name) in names.iter().enumerate() {
                    let at = now_us();
                    self.cluster.stop(i, false);
                    self.cluster.spawn(i)?;
                    let formed = self.wait_formed(FORM_TIMEOUT);
                    self.record(
                        FaultKind::Rolling,
                        at,
                        format!("rolling: restart {name}"),
                        vec![name.clone()],
                        vec![],
                    );
                    if !formed {
                        (self.progress)("      no full mesh within 30 s during the rolling restart");
                    }
                }
            }
            Fault::Concurrent { faults } => {
                for f in faults {
                    self.begin(f)?;
                }
                let mut by_hold: Vec<&Fault> = faults.iter().collect();
                by_hold.sort_by_key(|f| f.hold());
                let t0 = Instant::now();
                for f in by_hold {
                    self.cluster.idle(f.hold().saturating_sub(t0.elapsed()));
                    self.end(f)?;
                    let (kind, targets) = (f.kind(), targets_of(f, &names));
                    self.record(
                        kind,
                        start,
                        format!("concurrent: {}", describe(f, &names)),
                        targets,
                        vec![],
                    );
                }
            }
            Fault::Partition { cut, from, .. } => {
                self.begin(fault)?;
                self.cluster.idle(fault.hold());
                self.end(fault)?;
                let separated = cut
                    .iter()
                    .flat_map(|a| from.iter().map(|b| (names[*a].clone(), names[*b].clone())))
                    .collect();
                self.record(
                    FaultKind::Partition,
                    start,
                    describe(fault, &names),
                    targets_of(fault, &names),
                    separated,
                );
            }
            Fault::DuplicateName { node, for_ms } => self.duplicate(*node, *for_ms)?,
            Fault::HandoffRestart { .. } => self.handoff_restart(fault)?,
            _ => {
                self.begin(fault)?;
                self.cluster.idle(fault.hold());
                self.end(fault)?;
                self.record(
                    fault.kind(),
                    start,
                    describe(fault, &names),
                    targets_of(fault, &names),
                    vec![],
                );
            }
        }
        Ok(())
    }

    fn begin(&mut self, fault: &Fault) -> io::Result<()> {
        let names = self.cluster.names();
        match fault {
            Fault::Kill { node, .. } => self.cluster.stop(*node, true),
            Fault::Pause { node, .. } => self.cluster.signal(*node, Signal::SIGSTOP)?,
            Fault::Restart { node } => self.cluster.stop(*node, false),
            Fault::Partition { cut, from, .. } => {
                let side = |ix: &[usize]| ix.iter().map(|i| names[*i].clone()).collect::<Vec<_>>();
                for i in cut {
                    self.cluster.cut(*i, &side(from))?;
                }
                for i in from {
                    self.cluster.cut(*i, &side(cut))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, fault: &Fault) -> io::Result<()> {
        match fault {
            Fault::Kill { node, .. } | Fault::Restart { node } => self.cluster.spawn(*node),
            Fault::Pause { node, .. } => self.cluster.signal(*node, Signal::SIGCONT),
            Fault::Partition { cut, from, .. } => {
                for i in cut.iter().chain(from) {
                    self.cluster.cut(*i, &[])?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn duplicate(&mut self, node: usize, for_ms: u64) -> io::Result<()> {
        let names = self.cluster.names();
        let start = now_us();
        let second = self.cluster.spawn_named(node);
        let ready = second.is_ok();
        self.cluster.idle(Duration::from_millis(for_ms));
        let still_running = match second {
            Ok(mut p) => p.is_running(),
            Err(_) => false,
        };
        self.duplicates.push(DuplicateRecord {
            name: names[node].clone(),
            start_us: start,
            ready,
            still_running,
        });
        let text = format!(
            "second process named {} (ready: {ready}, still running: {still_running})",
            names[node]
        );
        self.record(FaultKind::DuplicateName, start, text, vec![], vec![]);
        Ok(())
    }

    fn handoff_restart(&mut self, fault: &Fault) -> io::Result<()> {
        let Fault::HandoffRestart {
            child,
            to,
            after_ms,
            target,
            kill,
        } = fault
        else {
            return Ok(());
        };
        let names = self.cluster.names();
        let id = format!("demo.counter.{child:02}");
        let owner = self.cluster.shared.latest_round(0).and_then(|r| {
            r.iter()
                .flat_map(|s| s.children.iter())
                .find(|c| c.id == id)
                .map(|c| c.owner.clone())
        });
        let source = owner
            .and_then(|o| names.iter().position(|n| *n == o))
            .unwrap_or(0);
        let to = if *to == source {
            (source + 1) % names.len()
        } else {
            *to
        };
        let victim = if *target { to } else { source };
        let start = now_us();
        let migrate = self.cluster.http(source).map(|http| {
            let (path, token) = (
                format!("/api/supervisor/migrate?id={id}&to={}", names[to]),
                self.cluster.token().to_owned(),
            );
            std::thread::spawn(move || http_request_text(http, &path, &token))
        });
        self.cluster.idle(Duration::from_millis(*after_ms));
        self.cluster.stop(victim, *kill);
        self.cluster.spawn(victim)?;
        let answer = migrate
            .and_then(|t| t.join().ok())
            .unwrap_or_else(|| "not sent".into());
        let text = format!(
            "migrate {id} {} -> {}, then {} {} after {after_ms} ms; migrate answered {answer}",
            names[source],
            names[to],
            if *kill { "kill -9 and start" } else { "restart" },
            names[victim]
        );
        self.record(
            FaultKind::HandoffRestart,
            start,
            text,
            vec![names[victim].clone()],
            vec![],
        );
        Ok(())
    }
}

fn http_request_text(http: std::net::SocketAddr, path: &str, token: &str) -> String {
    match shoal_api::http_request(http, "POST", path, Some(token), Duration::from_secs(10)) {
        Ok((status, body)) => format!("{status} {}", body.chars().take(160).collect::<String>()),
        Err(e) => format!("error {e}"),
    }
}

/// Nodes a fault takes off the kept side.
fn targets_of(fault: &Fault, names: &[String]) -> Vec<String> {
    match fault {
        Fault::Kill { node, .. } | Fault::Pause { node, .. } | Fault::Restart { node } => {
            vec![names[*node].clone()]
        }
        // A minority cut off is off the kept side; a pair cut from each other stays on it.
        Fault::Partition { cut, from, .. }
            if cut.len() + from.len() == names.len() && cut.len() < from.len() =>
        {
            cut.iter().map(|i| names[*i].clone()).collect()
        }
        _ => vec![],
    }
}

/// One line for a person.
pub(crate) fn describe(fault: &Fault, names: &[String]) -> String {
    let n = |i: &usize| names[*i].clone();
    let list = |ix: &[usize]| ix.iter().map(n).collect::<Vec<_>>().join(",");
    match fault {
        Fault::Kill { node, down_ms } => format!("kill -9 {} for {down_ms} ms, then start it again", n(node)),
        Fault::Pause { node, for_ms } => format!("SIGSTOP {} for {for_ms} ms, then SIGCONT", n(node)),
        Fault::Partition { cut, from, for_ms } => format!(
            "partition {} / {} for {for_ms} ms, then heal",
            list(cut),
            list(from)
        ),
        Fault::Restart { node } => format!("graceful restart of {}", n(node)),
        Fault::Rolling => "rolling restart of every node".into(),
        Fault::Concurrent { faults } => {
            let parts: Vec<String> = faults.iter().map(|f| describe(f, names)).collect();
            format!("at once: {}", parts.join(" + "))
        }
        Fault::DuplicateName { node, for_ms } => format!("a second node named {} for {for_ms} ms", n(node)),
        Fault::HandoffRestart {
            child,
            after_ms,
            target,
            kill,
            ..
        } => format!(
            "migrate demo.counter.{child:02}, then {} its {} after {after_ms} ms",
            if *kill { "kill -9" } else { "restart" },
            if *target { "target" } else { "source" }
        ),
    }
}
