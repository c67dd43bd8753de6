//! Version strings of this build.

/// Crate version plus the git commit, e.g. `0.1.0+1a2b3c4d5e6f`; advertised to peers.
pub(crate) const FULL: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("SHOAL_BUILD_HASH"));

/// What `shoal --version` prints after the program name.
pub(crate) const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (build ",
    env!("SHOAL_BUILD_HASH"),
    ")"
);
