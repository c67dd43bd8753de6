//! What settings resolution reads from the running process, gathered in one value so that
//! tests can pass their own instead of touching the real environment.

use std::path::PathBuf;

use shoal_proto::node_id::MAX_NAME_LEN;

/// The process facts [`super::NodeArgs::resolve_in`] depends on besides the flags.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    /// Where `shoal.toml` is looked for and relative `--config` paths start (`.` for real).
    pub(crate) cwd: PathBuf,
    /// The home directory holding `.shoal.cookie` (`HOME`); `None` when unset.
    pub(crate) home: Option<PathBuf>,
    /// The value of `SHOAL_COOKIE`, only to tell a cookie from the variable from `--cookie`.
    pub(crate) env_cookie: Option<String>,
    /// Name used when none is given: `<hostname>-<pid>`.
    pub(crate) default_name: String,
    /// Directory of `local` discovery when none is given: `$XDG_RUNTIME_DIR/shoal`, else
    /// `$TMPDIR/shoal-<uid>` (`/tmp/shoal-<uid>` when `TMPDIR` is unset).
    pub(crate) default_local_dir: PathBuf,
}

impl Context {
    /// Reads the facts of this process.
    pub(crate) fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let default_local_dir = match var("XDG_RUNTIME_DIR") {
            Some(dir) => PathBuf::from(dir).join("shoal"),
            None => std::env::temp_dir().join(format!("shoal-{}", nix::unistd::getuid())),
        };
        Self {
            cwd: PathBuf::from("."),
            home: var("HOME").map(PathBuf::from),
            env_cookie: std::env::var(shoal_api::env::COOKIE).ok(),
            default_name: default_name(&hostname(), std::process::id()),
            default_local_dir,
        }
    }
}

/// This host's name, or `node` when it cannot be read.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_string())
}

/// `<host>-<pid>`, where `<host>` is the first label of `hostname` with characters a node
/// name cannot hold replaced by `-`, cut so that the whole stays a valid name.
fn default_name(hostname: &str, pid: u32) -> String {
    let suffix = format!("-{pid}");
    let host: String = hostname
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NAME_LEN - suffix.len())
        .collect();
    let host = if host.is_empty() { "node" } else { host.as_str() };
    format!("{host}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_the_short_host_name_and_the_pid_and_always_valid() {
        assert_eq!(default_name("web1.example.com", 42), "web1-42");
        assert_eq!(default_name("", 7), "node-7");
        assert_eq!(default_name("héllo wörld", 7), "h-llo-w-rld-7");
        let long = default_name(&"x".repeat(100), u32::MAX);
        assert_eq!(long.len(), MAX_NAME_LEN);
        assert!(shoal_proto::NodeName::new(long).is_ok());
        assert!(shoal_proto::NodeName::new(default_name(&hostname(), std::process::id())).is_ok());
    }
}
