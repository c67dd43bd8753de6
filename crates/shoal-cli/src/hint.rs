//! Commands that messages suggest, spelled so that they run as printed.
//!
//! Contract: a suggested command names the state directory the user's command worked on
//! (`--state-dir DIR`) unless it is the default one, so copying it acts on the same cluster;
//! and a message never suggests the command that printed it (callers' duty: they suggest the
//! next step instead).

use std::path::Path;

/// The state directory of every `shoal cluster` and inspection command when none is given.
pub(crate) const DEFAULT_STATE_DIR: &str = ".shoal";

/// `` `shoal ARGS` ``, with `--state-dir DIR` appended unless `dir` is the default state
/// directory (given as `.shoal`, or the same directory spelled another way).
pub(crate) fn shoal(dir: &Path, args: &str) -> String {
    if is_default(dir) {
        format!("`shoal {args}`")
    } else {
        format!("`shoal {args} --state-dir {}`", quoted(dir))
    }
}

/// Whether `dir` is the default state directory of the working directory.
fn is_default(dir: &Path) -> bool {
    let default = Path::new(DEFAULT_STATE_DIR);
    if dir == default {
        return true;
    }
    match (std::fs::canonicalize(dir), std::fs::canonicalize(default)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `path` as a shell word: as is when every character is safe, else in single quotes.
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_state_dir_is_left_out_and_any_other_is_kept() {
        assert_eq!(shoal(Path::new(".shoal"), "cluster stop"), "`shoal cluster stop`");
        assert_eq!(
            shoal(Path::new("/tmp/c1"), "cluster restart n2"),
            "`shoal cluster restart n2 --state-dir /tmp/c1`"
        );
    }

    #[test]
    fn a_state_dir_with_spaces_or_quotes_is_quoted_for_the_shell() {
        assert_eq!(
            shoal(Path::new("/tmp/my dir's"), "cluster stop"),
            r"`shoal cluster stop --state-dir '/tmp/my dir'\''s'`"
        );
    }
}
