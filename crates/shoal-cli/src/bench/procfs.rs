//! Memory and CPU of processes from /proc (Linux).

use std::time::{Duration, Instant};

/// Resident set size in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the process is stopped by a signal (SIGSTOP): state `T` in /proc/PID/stat.
pub(crate) fn is_stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('T'))
        })
        .unwrap_or(false)
}

/// User plus system CPU time in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU use of each process over `window`, in percent of one core.
pub(crate) fn cpu_percent(pids: &[u32], window: Duration) -> Vec<f64> {
    let ticks_per_s = 100.0; // USER_HZ is 100 on Linux
    let before: Vec<Option<u64>> = pids.iter().map(|p| cpu_ticks(*p)).collect();
    let start = Instant::now();
    std::thread::sleep(window); // a measurement window, not a wait for a condition
    let secs = start.elapsed().as_secs_f64();
    pids.iter()
        .zip(before)
        .filter_map(|(p, b)| Some((cpu_ticks(*p)? - b?) as f64 / ticks_per_s / secs * 100.0))
        .collect()
}
