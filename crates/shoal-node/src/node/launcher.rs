//! Leaving with the launcher: a node started by a test harness or a benchmark should not
//! outlive the process that started it, even when that process is killed (`SIGKILL` runs no
//! destructor). The launcher holds a pipe to the node's standard input; the OS closes it
//! when the launcher exits, however it exits, and the node then reads end of file and leaves
//! the cluster. This is the convention of Erlang port programs.
//!
//! A node its launcher froze (`SIGSTOP`, the test kit's and `shoal chaos`'s pause) reads
//! nothing, so it would stay frozen for ever once the launcher is gone. On Linux the node
//! also asks the kernel for `SIGCONT` when the launching thread dies (`PR_SET_PDEATHSIG`): it
//! thaws a frozen node, which then reads the end of file and leaves; to a running node it
//! is nothing. The request is made from the watching thread, which lives as long as the
//! node's process, before the node says it is ready (a launcher pauses a node only after).

use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use super::{Inner, Node};

/// Reads standard input to its end on a thread of its own, then has `node` leave the cluster
/// (peers see `NodeDown { reason: Left }`). Input is read and discarded, so the program
/// itself must not read stdin. Returns at once.
///
/// Only for a node whose standard input is a pipe its launcher keeps open: at `/dev/null`
/// the node would leave as soon as it starts. A plain thread, not `spawn_blocking`: a read
/// that never returns must not hold up the runtime's shutdown. The watch ends with the node;
/// it never keeps the node alive.
pub(super) fn leave_on_stdin_eof(node: &Node) {
    let (closed_tx, closed) = oneshot::channel::<()>();
    let (asked_tx, asked) = std::sync::mpsc::channel::<()>();
    let watcher = std::thread::Builder::new()
        .name("shoal-stdin-watch".into())
        .spawn(move || {
            thaw_when_launcher_dies();
            let _ = asked_tx.send(());
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = closed_tx.send(());
        });
    if let Err(e) = watcher {
        tracing::warn!("cannot watch standard input ({e}); this node will not leave with its launcher");
        return;
    }
    // Microseconds: the thread asks the kernel before anything else.
    let _ = asked.recv();
    let weak: Weak<Inner> = Arc::downgrade(&node.inner);
    let stopped = node.inner.cancel.clone();
    // Not on the node's tracker: `leave` waits for the tracker, so it would wait for itself.
    tokio::spawn(async move {
        tokio::select! {
            _ = closed => {}
            () = stopped.cancelled() => return,
        }
        if let Some(inner) = weak.upgrade() {
            tracing::warn!("standard input closed: the launcher is gone; leaving the cluster");
            Node { inner }.leave().await;
        }
    });
}

/// Asks the kernel to send this process `SIGCONT` when the thread that launched it dies
/// (Linux only; elsewhere a frozen node outlives its launcher until it is thawed).
fn thaw_when_launcher_dies() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGCONT) {
        tracing::warn!("cannot ask for SIGCONT when the launcher dies ({e}); a paused node would outlive it");
    }
}
