//! One node process and the JSON lines it prints.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use shoal_api::{Line, Ready, env};

/// A running node process. Dropping it kills the process (SIGKILL) and reaps it.
///
/// The node's standard input is a pipe this value holds, and the node is started with
/// `SHOAL_LEAVE_ON_STDIN_EOF=1`: when the launching process dies without dropping it (a
/// `SIGKILL`, an abort), the OS closes the pipe and the node leaves the cluster and exits,
/// instead of running on as an orphan. A node frozen with `SIGSTOP` is thawed by the kernel
/// when the launching thread dies (on Linux), then leaves the same way.
#[derive(Debug)]
pub struct NodeProcess {
    child: Child,
    /// The launcher's end of the node's stdin; `None` once closed.
    stdin: Option<ChildStdin>,
    /// What the node printed when ready.
    pub ready: Ready,
    events: mpsc::Receiver<Value>,
    /// Where the node's stderr (its log) goes.
    pub log: PathBuf,
}

impl NodeProcess {
    /// Runs `bin node --name NAME --listen 127.0.0.1:0 --http 127.0.0.1:0 ARGS...` and waits up
    /// to 20 s for its ready line. The log goes to a file in the system temp directory.
    pub fn spawn(bin: &Path, name: &str, args: &[&str]) -> io::Result<Self> {
        Self::spawn_with_env(bin, name, args, &[])
    }

    /// Like [`NodeProcess::spawn`], with extra environment variables. The name and addresses
    /// are also passed as `SHOAL_NAME`, `SHOAL_LISTEN` and `SHOAL_HTTP`, so a binary built on
    /// `Node::from_env()` that ignores the flags starts the same way (such a binary should
    /// also exit once its node has stopped, for the stdin watch to end it).
    pub fn spawn_with_env(bin: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> io::Result<Self> {
        let log = std::env::temp_dir().join(format!(
            "shoal-test-{name}-{}-{}.log",
            std::process::id(),
            unique()
        ));
        let mut command = Command::new(bin);
        command
            .args([
                "node",
                "--name",
                name,
                "--listen",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
            ])
            .args(args)
            .env_remove(env::COOKIE)
            .env(env::NAME, name)
            .env(env::LISTEN, "127.0.0.1:0")
            .env(env::HTTP, "127.0.0.1:0")
            .env(env::LEAVE_ON_STDIN_EOF, "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?);
        let mut child = spawn_when_not_busy(&mut command)?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && tx.send(value).is_err()
                {
                    return;
                }
            }
        });
        let mut node = Self {
            child,
            stdin,
            ready: placeholder_ready(),
            events,
            log,
        };
        let ready = node
            .wait_line(|line| matches!(line, Line::Ready(_)), Duration::from_secs(20))
            .ok_or_else(|| {
                io::Error::other(format!("{name} printed no ready line; log:\n{}", node.log_text()))
            })?;
        if let Line::Ready(ready) = ready {
            node.ready = ready;
        }
        Ok(node)
    }

    /// The next printed event matching `pred` within `timeout` (earlier lines are consumed).
    pub fn wait_event(&self, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.events.recv_timeout(left) {
                Ok(event) if pred(&event) => return Some(event),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// The next printed line that reads as a [`Line`] and matches `pred` within `timeout`
    /// (earlier lines are consumed): [`NodeProcess::wait_event`], typed.
    pub fn wait_line(&self, pred: impl Fn(&Line) -> bool, timeout: Duration) -> Option<Line> {
        let line = self.wait_event(
            |e| serde_json::from_value::<Line>(e.clone()).is_ok_and(|line| pred(&line)),
            timeout,
        )?;
        serde_json::from_value(line).ok()
    }

    /// Every event line printed and not consumed yet, without waiting.
    pub fn drain_events(&self) -> Vec<Value> {
        self.events.try_iter().collect()
    }

    /// Whether the process still runs (it has not exited, nor been reaped).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        let pid = i32::try_from(self.child.id()).map_err(io::Error::other)?;
        kill(Pid::from_raw(pid), signal).map_err(io::Error::other)
    }

    /// Closes the node's stdin, as the OS does when the launcher dies: the node leaves the
    /// cluster (peers see `NodeDown { reason: Left }`) and exits.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `timeout` for the process to exit; returns its exit code (None if killed
    /// by a signal or still running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// The node's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.signal(Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn placeholder_ready() -> Ready {
    Ready {
        name: String::new(),
        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        http: None,
        pid: 0,
        version: String::new(),
        creation: 0,
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Spawns `command`. An executable written a moment ago (a test's wrapper script) can be held
/// open for writing by a child that another test thread forked before it closed the file, until
/// that child execs: `ETXTBSY`. That passes within milliseconds, so the spawn is retried (for
/// at most 2 s) while it lasts; any other error returns at once.
fn spawn_when_not_busy(command: &mut Command) -> io::Result<std::process::Child> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match command.spawn() {
            Err(e)
                if e.kind() == io::ErrorKind::ExecutableFileBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}
