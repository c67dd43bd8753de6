//! Which seeds a test runs: a fixed list, or the one named by `SHOAL_SIM_SEED` to replay a
//! failure.

/// Environment variable that replays one seed.
pub const SEED_VAR: &str = "SHOAL_SIM_SEED";
/// Environment variable that overrides how many seeds a multi-seed test runs.
pub const SEED_COUNT_VAR: &str = "SHOAL_SIM_SEEDS";

/// The seeds a test should run: `[SHOAL_SIM_SEED]` if it is set, else `1..=n` where `n` is
/// `SHOAL_SIM_SEEDS` if set, else `default_count`.
///
/// ```
/// let seeds = shoal_sim::seeds(20);
/// assert!(!seeds.is_empty());
/// ```
pub fn seeds(default_count: u64) -> Vec<u64> {
    if let Some(seed) = read(SEED_VAR) {
        return vec![seed];
    }
    let count = read(SEED_COUNT_VAR).unwrap_or(default_count);
    (1..=count).collect()
}

/// One seed for single-run tests: `SHOAL_SIM_SEED` if set, else `default`.
pub fn seed_or(default: u64) -> u64 {
    read(SEED_VAR).unwrap_or(default)
}

fn read(var: &str) -> Option<u64> {
    let value = std::env::var(var).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{var}={value:?} is not an unsigned integer; set it to a seed such as 17"),
    }
}
