//! Leaving with the launcher: a node started by a test harness or a benchmark should not
//! outlive the process that started it, even when that process is killed (`SIGKILL` runs no
//! destructor). The launcher holds a pipe to the node's standard input; the OS closes it
//! when the launcher exits, however it exits, and the node then reads end of file and leaves
//! the cluster. This is the convention of Erlang port programs.

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
    let watcher = std::thread::Builder::new()
        .name("shoal-stdin-watch".into())
        .spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = closed_tx.send(());
        });
    if let Err(e) = watcher {
        tracing::warn!("cannot watch standard input ({e}); this node will not leave with its launcher");
        return;
    }
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
