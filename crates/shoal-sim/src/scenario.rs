//! Scenario scripts: a list of [`Step`]s run against a fresh [`Sim`] for each seed. A failure
//! names the seed, the step and the scenario, with the command that replays it.

mod expect;
mod step;

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

pub use self::expect::Expect;
pub use self::step::Step;
use crate::config::SimConfig;
use crate::error::SimError;
use crate::sim::Sim;

/// How often an `Expect` re-checks its condition, in virtual time.
const EXPECT_POLL: Duration = Duration::from_millis(10);

/// A named script of steps with the config it runs under.
#[derive(Clone, Debug)]
pub struct Scenario {
    name: String,
    config: SimConfig,
    steps: Vec<Step>,
}

/// A scenario that did not go as scripted, with everything needed to replay it.
#[derive(Debug)]
pub struct Failure {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of the failing run.
    pub seed: u64,
    /// Index of the failing step.
    pub step: usize,
    /// Virtual time of the failure.
    pub at: Duration,
    /// What went wrong.
    pub reason: String,
    /// The whole script, one step per line.
    pub script: String,
    /// The last membership events before the failure.
    pub recent_events: String,
}

impl Scenario {
    /// An empty scenario under the LAN config.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            config: SimConfig::lan(),
            steps: Vec::new(),
        }
    }

    /// Runs under `config` instead.
    pub fn with_config(mut self, config: SimConfig) -> Self {
        self.config = config;
        self
    }

    /// Appends one step.
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Appends several steps.
    pub fn then_all(mut self, steps: impl IntoIterator<Item = Step>) -> Self {
        self.steps.extend(steps);
        self
    }

    /// The steps so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Runs the script once with `seed`; returns the finished simulation.
    pub fn run(&self, seed: u64) -> Result<Sim, Box<Failure>> {
        let mut sim = Sim::new(seed, self.config.clone());
        for (i, step) in self.steps.iter().enumerate() {
            if let Err(reason) = apply(&mut sim, step) {
                return Err(Box::new(self.failure(&sim, i, reason)));
            }
        }
        Ok(sim)
    }

    /// Runs the script once per seed and panics on the first failure with a replay command
    /// (also when the code under test panics). Returns the finished simulations.
    pub fn check(&self, seeds: &[u64]) -> Vec<Sim> {
        seeds
            .iter()
            .map(|&seed| match std::panic::catch_unwind(AssertUnwindSafe(|| self.run(seed))) {
                Ok(Ok(sim)) => sim,
                Ok(Err(failure)) => panic!("{failure}"),
                Err(panic) => {
                    eprintln!(
                        "scenario {:?} panicked with seed {seed}\nreplay: SHOAL_SIM_SEED={seed} cargo test -p shoal-sim {}",
                        self.name,
                        test_name()
                    );
                    std::panic::resume_unwind(panic)
                }
            })
            .collect()
    }

    fn failure(&self, sim: &Sim, step: usize, reason: String) -> Failure {
        let script = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("  {i:>2}: {s:?}\n"))
            .collect();
        Failure {
            scenario: self.name.clone(),
            seed: sim.seed(),
            step,
            at: sim.now(),
            reason,
            script,
            recent_events: sim.history().tail(40),
        }
    }
}

/// Runs one step; `Err` says why the scenario failed.
fn apply(sim: &mut Sim, step: &Step) -> Result<(), String> {
    let done = match step {
        Step::AddNode { name, seeds } => sim.add_node(name, &refs(seeds)),
        Step::AddStranger { name, seeds } => sim.add_stranger(name, &refs(seeds)),
        Step::SetSeeds { name, seeds } => sim.set_seeds(name, &refs(seeds)),
        Step::Crash(name) => sim.crash(name),
        Step::Restart(name) => sim.restart(name),
        Step::RestartAtNewAddress(name) => sim.restart_at_new_address(name),
        Step::RestartAsStranger(name) => sim.restart_as_stranger(name),
        Step::Leave(name) => sim.leave(name),
        Step::Pause(name) => sim.pause(name),
        Step::Resume(name) => sim.resume(name),
        Step::Partition(a, b) => sim.partition(&refs(a), &refs(b)),
        Step::Heal => {
            sim.heal();
            Ok(())
        }
        Step::Run(duration) => sim.run_for(*duration),
        Step::Expect { what, within } => {
            let held = sim
                .run_until(|s| what.evaluate(s).is_ok(), EXPECT_POLL, *within)
                .map_err(|e| e.to_string())?;
            return match held {
                true => Ok(()),
                false => Err(format!(
                    "{what:?} did not hold within {within:?}: {}",
                    what.evaluate(sim).err().unwrap_or_default()
                )),
            };
        }
    };
    done.map_err(|e: SimError| e.to_string())
}

/// The running test's name (libtest names its threads after the test), for replay commands.
fn test_name() -> String {
    let thread = std::thread::current();
    thread
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("<test name>")
        .to_owned()
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "scenario {:?} failed with seed {} at step {} (virtual time {:?}):\n  {}",
            self.scenario, self.seed, self.step, self.at, self.reason
        )?;
        writeln!(
            f,
            "replay: SHOAL_SIM_SEED={} cargo test -p shoal-sim {}",
            self.seed,
            test_name()
        )?;
        writeln!(f, "script:\n{}", self.script)?;
        write!(f, "last membership events:\n{}", self.recent_events)
    }
}

impl std::error::Error for Failure {}
