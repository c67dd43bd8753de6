//! Tests of settings resolution. The process environment is never changed here (that needs
//! `unsafe` in edition 2024): process facts come in a [`Context`], and the `SHOAL_*`
//! precedence is checked by re-running this test binary as a child with variables set.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{CommandFactory as _, FromArgMatches as _, Parser as _};

use super::*;

/// A directory removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("shoal-settings-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: NodeArgs,
}

/// A working directory (with `shoal.toml` holding `toml`, unless `None`) and a home.
struct Fixture {
    dir: TempDir,
    ctx: Context,
}

impl Fixture {
    fn new(toml: Option<&str>) -> Self {
        let dir = TempDir::new("fixture");
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        if let Some(toml) = toml {
            std::fs::write(dir.path().join("shoal.toml"), toml).unwrap();
        }
        let ctx = Context {
            cwd: dir.path().to_path_buf(),
            home: Some(home),
            env_cookie: None,
            default_name: "host-1".into(),
            default_local_dir: PathBuf::from("/run/user/1/shoal"),
        };
        Self { dir, ctx }
    }

    /// Parses `flags` with the `SHOAL_*` variables switched off (so that a developer's own
    /// environment cannot change the outcome) and resolves them.
    fn resolve(&self, flags: &[&str]) -> anyhow::Result<NodeSettings> {
        let argv = std::iter::once("shoal-node").chain(flags.iter().copied());
        let command = Cli::command().mut_args(|arg| arg.env(None::<&str>));
        let args = NodeArgs::from_arg_matches(&command.try_get_matches_from(argv)?)?;
        args.resolve_in(&self.ctx)
    }

    fn error(&self, flags: &[&str]) -> String {
        let err = self.resolve(flags).unwrap_err().to_string();
        assert!(!err.contains('\n'), "errors are one line: {err}");
        err
    }
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let f = Fixture::new(None);
    let s = f.resolve(&[]).unwrap();
    assert_eq!(s.name.as_str(), "host-1");
    assert_eq!((s.listen, s.http), (DEFAULT_ADDR, Some(DEFAULT_ADDR)));
    assert_eq!((s.local_discovery, s.static_discovery), (true, true));
    assert_eq!(s.local_dir, PathBuf::from("/run/user/1/shoal"));
    assert_eq!(s.log, "info");
    assert_eq!(s.membership, MembershipConfig::lan());
    let cookie_path = f.ctx.home.as_ref().unwrap().join(".shoal.cookie");
    assert_eq!(
        s.cookie_source,
        CookieSource::DefaultFile {
            path: cookie_path,
            created: true
        }
    );
    assert!(s.seeds.is_empty() && s.roles.is_empty() && s.warnings.is_empty());
    assert_eq!((s.config_file, s.ready_file, s.admin_token), (None, None, None));
}

#[test]
fn a_flag_beats_shoal_toml_which_beats_the_default() {
    let toml = "name = \"from-toml\"\nlisten = \"127.0.0.1:7000\"\nroles = [\"db\"]\n\
                seeds = [\"db1.lan:7000\"]\nlog = \"debug\"\nheartbeat_ms = 50\ncookie = \"s\"\n";
    let f = Fixture::new(Some(toml));
    let s = f
        .resolve(&[
            "--name",
            "from-flag",
            "--roles",
            "web,cache",
            "--link-down-ms",
            "900",
        ])
        .unwrap();
    assert_eq!(s.name.as_str(), "from-flag");
    assert_eq!(s.roles, ["web", "cache"]);
    assert_eq!(s.listen.port(), 7000);
    assert_eq!(s.seeds, ["db1.lan:7000"]);
    assert_eq!(s.log, "debug");
    assert_eq!(s.membership.heartbeat_interval, Duration::from_millis(50));
    assert_eq!(s.membership.link_down_after, Duration::from_millis(900));
    assert_eq!(s.membership.probe_period, MembershipConfig::lan().probe_period);
    assert_eq!(s.config_file, Some(f.dir.path().join("shoal.toml")));
    assert_eq!(
        s.cookie_source,
        CookieSource::Config(f.dir.path().join("shoal.toml"))
    );
}

#[test]
fn env_beats_shoal_toml_and_a_flag_beats_env_in_a_child_process() {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe);
    for (var, _) in std::env::vars_os().filter(|(v, _)| v.to_string_lossy().starts_with("SHOAL_")) {
        child.env_remove(var);
    }
    let out = child
        .args([
            "--exact",
            "settings::tests::child_body_for_env_precedence",
            "--nocapture",
        ])
        .env("SHOAL_SETTINGS_TEST_CHILD", "1")
        .env("SHOAL_NAME", "from-env")
        .env("SHOAL_LISTEN", "127.0.0.1:7001")
        .env("SHOAL_COOKIE", "env-secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child test ran: {stdout}");
}

#[test]
fn child_body_for_env_precedence() {
    if std::env::var_os("SHOAL_SETTINGS_TEST_CHILD").is_none() {
        return; // Only meaningful with the variables set by the test above.
    }
    let f = Fixture::new(Some(
        "name = \"from-toml\"\nlisten = \"127.0.0.1:7000\"\nlog = \"warn\"\n",
    ));
    let ctx = Context {
        env_cookie: Some("env-secret".into()),
        ..f.ctx.clone()
    };
    let argv = ["shoal-node", "--listen", "127.0.0.1:7002"];
    let s = Cli::try_parse_from(argv).unwrap().args.resolve_in(&ctx).unwrap();
    assert_eq!(s.name.as_str(), "from-env");
    assert_eq!(s.listen.port(), 7002);
    assert_eq!(s.log, "warn");
    assert_eq!(s.cookie_source, CookieSource::Env);
}

#[test]
fn malformed_shoal_toml_is_one_line_naming_the_file_and_the_fix() {
    let f = Fixture::new(Some("name = \"n1\"\nlisten = \n"));
    let err = f.error(&[]);
    let path = f.dir.path().join("shoal.toml");
    assert!(
        err.starts_with(&format!("invalid shoal.toml at {}: line 2", path.display())),
        "{err}"
    );
    assert!(err.ends_with("; fix the file or pass --config"), "{err}");
}

#[test]
fn unknown_shoal_toml_key_is_named() {
    let f = Fixture::new(Some("heartbeat = 100\n"));
    let err = f.error(&[]);
    assert!(err.contains("unknown field `heartbeat`"), "{err}");
}

#[test]
fn explicit_config_that_does_not_exist_is_an_error() {
    let f = Fixture::new(None);
    let err = f.error(&["--config", "nope.toml"]);
    assert!(err.starts_with("invalid --config \"nope.toml\": "), "{err}");
    assert!(err.ends_with("create the file or drop --config"), "{err}");
}

#[test]
fn bad_port_names_the_flag_the_value_and_the_fix() {
    let f = Fixture::new(None);
    let err = f.error(&["--listen", "127.0.0.1:70000"]);
    assert_eq!(
        err,
        "invalid --listen \"127.0.0.1:70000\": use IP:PORT with a port from 0 to 65535, e.g. 127.0.0.1:0"
    );
    let f = Fixture::new(Some("http = \"localhost:80\"\n"));
    let err = f.error(&[]);
    assert!(err.starts_with("invalid http in "), "{err}");
}

#[test]
fn bad_name_names_the_value_and_the_allowed_characters() {
    let f = Fixture::new(None);
    let err = f.error(&["--name", "a b"]);
    assert_eq!(
        err,
        "invalid --name \"a b\": use 1 to 64 ASCII letters, digits, '.', '_' or '-'"
    );
}

#[test]
fn http_is_disabled_by_no_http_or_by_false_in_shoal_toml() {
    let f = Fixture::new(Some("http = false\n"));
    assert_eq!(f.resolve(&[]).unwrap().http, None);
    let addr = f.resolve(&["--http", "127.0.0.1:8080"]).unwrap().http;
    assert_eq!(addr, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(
        f.resolve(&["--http", "127.0.0.1:8080", "--no-http"])
            .unwrap()
            .http,
        None
    );
}

#[test]
fn cookie_file_in_shoal_toml_is_relative_to_that_file() {
    let f = Fixture::new(Some("cookie_file = \"c.cookie\"\n"));
    std::fs::write(f.dir.path().join("c.cookie"), "secret").unwrap();
    let s = f.resolve(&[]).unwrap();
    assert_eq!(s.cookie_source, CookieSource::File(f.dir.path().join("c.cookie")));
    assert_eq!(s.cookie, Cookie::new("secret").unwrap());
    assert_eq!(
        f.resolve(&["--cookie", "x"]).unwrap().cookie_source,
        CookieSource::Flag
    );
}

#[test]
fn shoal_toml_with_both_cookie_and_cookie_file_is_refused() {
    let f = Fixture::new(Some("cookie = \"a\"\ncookie_file = \"b\"\n"));
    assert!(
        f.error(&[])
            .ends_with("it sets both cookie and cookie_file; keep one")
    );
}

#[test]
fn timing_that_breaks_an_ordering_rule_names_the_flags() {
    let f = Fixture::new(None);
    let err = f.error(&["--link-down-ms", "400"]);
    assert_eq!(
        err,
        "invalid --link-down-ms \"400ms\": must be longer than --link-suspect-ms"
    );
    assert!(
        f.error(&["--heartbeat-ms", "0"])
            .starts_with("invalid --heartbeat-ms \"0\": ")
    );
}

#[test]
fn seeds_without_static_discovery_are_dropped_with_a_warning() {
    let f = Fixture::new(Some("seeds = [\"h:1\"]\ndiscovery = [\"local\"]\n"));
    let s = f.resolve(&[]).unwrap();
    assert!(s.seeds.is_empty() && !s.static_discovery && s.local_discovery);
    assert_eq!(
        s.warnings,
        ["ignoring seeds h:1: discovery does not include static"]
    );
    let err = f.error(&["--discovery", "none,local"]);
    assert!(err.starts_with("invalid --discovery \"none,local\""), "{err}");
}

#[test]
fn cookie_bytes_are_the_trimmed_secret_and_debug_hides_them() {
    let f = Fixture::new(None);
    let s = f.resolve(&["--cookie", " s3cret\n"]).unwrap();
    assert_eq!(s.cookie_bytes(), b"s3cret");
    assert_eq!(Cookie::new(s.cookie_bytes()).unwrap(), s.cookie);
    assert!(!format!("{s:?}").contains("s3cret"));
    assert_eq!(s.cookie_source.describe(), "using cookie from --cookie");
}

#[test]
fn defaults_shown_in_help_match_the_lan_preset() {
    let lan = MembershipConfig::lan();
    let ms = |d: Duration| d.as_millis();
    let shown = (100, 500, 1000, 500);
    let actual = (
        ms(lan.heartbeat_interval),
        ms(lan.link_suspect_after),
        ms(lan.link_down_after),
        ms(lan.probe_period),
    );
    assert_eq!(
        shown, actual,
        "update the [default: ..] notes in settings/args.rs"
    );
}

#[test]
fn ready_min_members_comes_from_the_flag_or_shoal_toml_and_refuses_zero() {
    let f = Fixture::new(None);
    assert_eq!(f.resolve(&[]).unwrap().ready_min_members, 1);
    assert_eq!(
        f.resolve(&["--ready-min-members", "3"])
            .unwrap()
            .ready_min_members,
        3
    );
    let err = f.error(&["--ready-min-members", "0"]);
    assert_eq!(
        err,
        "invalid --ready-min-members \"0\": use a whole number of members above 0, e.g. 3"
    );
    let f = Fixture::new(Some("ready_min_members = 5\n"));
    assert_eq!(f.resolve(&[]).unwrap().ready_min_members, 5);
}

#[test]
fn advertise_comes_from_the_flag_or_shoal_toml_and_refuses_what_is_not_ip_port() {
    let f = Fixture::new(None);
    assert_eq!(f.resolve(&[]).unwrap().advertise, None);
    let flag = f
        .resolve(&["--listen", "0.0.0.0:7000", "--advertise", "10.1.2.3:0"])
        .unwrap();
    assert_eq!(flag.advertise, Some("10.1.2.3:0".parse().unwrap()));
    let err = f.error(&["--advertise", "pod-1:7000"]);
    assert!(err.contains("--advertise") && err.contains("IP:PORT"), "{err}");
    let f = Fixture::new(Some("advertise = \"10.9.9.9:7100\"\n"));
    assert_eq!(
        f.resolve(&[]).unwrap().advertise,
        Some("10.9.9.9:7100".parse().unwrap())
    );
}
