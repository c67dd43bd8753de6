//! The end of a node program's life: wait for a signal (or the node's own stop), then leave.

use std::io;
use std::path::{Path, PathBuf};

use tokio::signal::unix::{SignalKind, signal};

use super::Node;

impl Node {
    /// Resolves on the first SIGINT or SIGTERM, or when the node stops on its own (it left
    /// because `SHOAL_LEAVE_ON_STDIN_EOF` saw its launcher go, or a member refused its name:
    /// see [`Node::failure`]). Only fails if the signal handlers cannot be installed. While
    /// it waits, those signals no longer end the process: the caller decides what follows.
    pub async fn wait_for_shutdown(&self) -> io::Result<()> {
        let watch = |kind| {
            signal(kind)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot watch SIGTERM and SIGINT: {e}")))
        };
        let mut term = watch(SignalKind::terminate())?;
        let mut int = watch(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            () = self.stopped() => {}
        }
        Ok(())
    }

    /// Runs a node program's contract with its launcher (`shoal cluster start --bin`, the
    /// test kit) to the end: prints membership events on stdout ([`Node::print_events`]),
    /// announces readiness ([`Node::announce_ready`], to `SHOAL_READY_FILE` when set), then
    /// [`Node::leave_on_shutdown`]. Call it once the program's actors are in place: launchers
    /// treat the ready line as "serving".
    ///
    /// Fails if the ready file cannot be written or the signal handlers installed (the node
    /// is still running then), or with the reason the node stopped by itself
    /// ([`Node::failure`]) if it did.
    pub async fn run_until_shutdown(&self) -> io::Result<()> {
        let ready_file = std::env::var_os(shoal_api::env::READY_FILE).map(PathBuf::from);
        // Subscribe before announcing, so no event after the ready line is missed.
        let printer = self.print_events();
        let result = match self.announce_ready(ready_file.as_deref()) {
            Ok(()) => self.leave_on_shutdown(ready_file.as_deref()).await,
            Err(e) => Err(e),
        };
        printer.abort();
        result
    }

    /// The second half of [`Node::run_until_shutdown`], for a program that announces its
    /// readiness itself: waits for [`Node::wait_for_shutdown`]; then, if the node stopped
    /// with a [`Node::failure`], returns it as the error; else leaves gracefully
    /// ([`Node::leave`]) and removes `ready_file`, as `shoal node` does.
    pub async fn leave_on_shutdown(&self, ready_file: Option<&Path>) -> io::Result<()> {
        self.wait_for_shutdown().await?;
        if let Some(failure) = self.failure() {
            return Err(io::Error::other(failure.to_string()));
        }
        tracing::info!("leaving the cluster");
        self.leave().await;
        if let Some(path) = ready_file {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}
