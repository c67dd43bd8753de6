//! The deployment examples in `deploy/` stay true to `shoal node`: every flag, `SHOAL_*`
//! variable and `shoal.toml` key they use is one `shoal node --help` lists, and the settings of
//! each example pass `shoal node --check` (files the platform provides, such as the mounted
//! cookie, are made in a temporary root that stands for `/`). The YAML is read line by line:
//! the manifests keep each list item and each `key: value` on one line.
//!
//! Also runs `systemd-analyze verify` on the unit where systemd-analyze is installed.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STATEFULSET: &str = "deploy/kubernetes/statefulset.yaml";
const SERVICE: &str = "deploy/kubernetes/service.yaml";
const UNIT: &str = "deploy/systemd/shoal.service";
const UNIT_TOML: &str = "deploy/systemd/shoal.toml";
const DOCKERFILE: &str = "deploy/docker/Dockerfile";

/// What the downward API gives the pod in the test: its name, IP and namespace.
const POD: [(&str, &str); 3] = [
    ("metadata.name", "shoal-0"),
    ("status.podIP", "10.1.2.3"),
    ("metadata.namespace", "default"),
];

/// The credentials directory systemd gives `shoal.service` (`%d`).
const CREDENTIALS: &str = "/run/credentials/shoal.service";

/// One way the examples start `shoal node`: its arguments after `node` and its environment.
#[derive(Debug)]
struct Launch {
    /// The file it comes from, for messages.
    source: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(file: &str) -> String {
    std::fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
}

fn shoal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .output()
        .unwrap()
}

/// The flags (`--name`) and variables (`SHOAL_NAME`) that `shoal node --help` lists.
fn node_help() -> (BTreeSet<String>, BTreeSet<String>) {
    let out = shoal(&["node", "--help"]);
    assert!(out.status.success(), "shoal node --help failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut flags = BTreeSet::new();
    let mut vars = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start();
        // `--name <NAME>` or `-h, --help`: the flag is the first `--` word.
        let head = line.strip_prefix("-h, ").unwrap_or(line);
        if let Some(flag) = head.split_whitespace().next().filter(|w| w.starts_with("--")) {
            flags.insert(flag.to_string());
        }
        for part in line.split("[env: ").skip(1) {
            vars.insert(part.split(['=', ']']).next().unwrap().to_string());
        }
    }
    assert!(
        flags.contains("--cookie-file") && vars.contains("SHOAL_NAME"),
        "{text}"
    );
    (flags, vars)
}

/// The Dockerfile's instructions, continuation lines joined: (instruction, rest).
fn dockerfile() -> Vec<(String, String)> {
    let text = read(DOCKERFILE);
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                let (word, rest) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((word.to_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

/// The image: `ENTRYPOINT` (which must be `... shoal node`) and `ENV`.
fn image() -> Launch {
    let mut entrypoint = Vec::new();
    let mut env = Vec::new();
    for (word, rest) in dockerfile() {
        match word.as_str() {
            "ENTRYPOINT" => entrypoint = serde_json::from_str::<Vec<String>>(&rest).unwrap(),
            "ENV" => env.extend(rest.split_whitespace().map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })),
            _ => {}
        }
    }
    assert!(
        entrypoint.len() >= 2 && entrypoint[0].ends_with("/shoal") && entrypoint[1] == "node",
        "{DOCKERFILE}: ENTRYPOINT must run `shoal node`, got {entrypoint:?}"
    );
    Launch {
        source: DOCKERFILE,
        args: entrypoint[2..].to_vec(),
        env,
    }
}

/// Indentation of a line, in spaces.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The lines of the block under the first line that is `key:` (deeper-indented lines, no
/// comments).
fn block<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    let Some(start) = lines.by_ref().find(|l| l.trim() == key) else {
        panic!("no `{key}` in the manifest")
    };
    lines
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .take_while(|l| indent(l) > indent(start))
        .collect()
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

/// The value of `key: value` lines in `lines`.
fn values<'a>(lines: impl IntoIterator<Item = &'a str>, key: &str) -> Vec<String> {
    let prefix = format!("{key}:");
    lines
        .into_iter()
        .filter_map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .strip_prefix(prefix.as_str())
                .map(unquote)
        })
        .collect()
}

/// The StatefulSet's container: the image's launch with its `args` and `env` added, `$(VAR)`
/// expanded as the kubelet does, the downward API answering with [`POD`].
fn pod() -> Launch {
    let text = read(STATEFULSET);
    let mut env = image().env;
    let mut name: Option<String> = None;
    for line in block(&text, "env:") {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("- name:") {
            name = Some(unquote(n));
        }
        let value = if let Some(v) = line.strip_prefix("value:") {
            unquote(v)
        } else if let Some(path) = line.strip_prefix("fieldPath:") {
            let path = unquote(path);
            let found = POD.iter().find(|(p, _)| *p == path);
            found
                .unwrap_or_else(|| panic!("{STATEFULSET}: no sample for {path}"))
                .1
                .to_string()
        } else if line.starts_with("secretKeyRef:") {
            "secret-from-the-test".to_string()
        } else {
            continue;
        };
        let key = name
            .take()
            .unwrap_or_else(|| panic!("{STATEFULSET}: a value without a name"));
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    }
    let expand = |arg: &str| {
        env.iter()
            .fold(arg.to_string(), |a, (k, v)| a.replace(&format!("$({k})"), v))
    };
    let args: Vec<String> = block(&text, "args:")
        .iter()
        .map(|l| expand(&unquote(l.trim().strip_prefix("- ").unwrap())))
        .collect();
    Launch {
        source: STATEFULSET,
        args,
        env,
    }
}

/// The unit's `ExecStartPre=` and `ExecStart=` lines (after `shoal node`), each with the
/// unit's `Environment=`; `%d` (the credentials directory) stays for the caller to replace.
fn unit() -> Vec<Launch> {
    let text = read(UNIT);
    let setting = |key: &str| -> Vec<String> {
        let prefix = format!("{key}=");
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
            .collect()
    };
    let env: Vec<(String, String)> = setting("Environment")
        .iter()
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let mut launches = Vec::new();
    for line in setting("ExecStartPre").into_iter().chain(setting("ExecStart")) {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        assert!(
            words.len() >= 2 && words[0].ends_with("/shoal") && words[1] == "node",
            "{UNIT}: expected `shoal node ...`, got {line}"
        );
        launches.push(Launch {
            source: UNIT,
            args: words[2..].to_vec(),
            env: env.clone(),
        });
    }
    assert_eq!(launches.len(), 2, "{UNIT}: one ExecStartPre and one ExecStart");
    launches
}

/// `--tls-cert=PATH` -> ("tls_cert", Some(PATH)); `--check` -> ("check", None).
fn flag_key(arg: &str) -> Option<(String, Option<String>)> {
    let flag = arg.strip_prefix("--")?;
    let (name, value) = match flag.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (flag, None),
    };
    Some((name.replace('-', "_"), value))
}

/// Every flag, variable and key the examples use that `shoal node --help` does not list, as
/// one sentence each. The shoal.toml keys are the flags' names with `_` for `-`.
#[test]
fn every_flag_variable_and_key_in_deploy_is_one_shoal_node_takes() {
    let (flags, vars) = node_help();
    let mut launches = vec![image(), pod()];
    launches.extend(unit());
    let mut unknown = BTreeSet::new();
    for launch in &launches {
        for arg in &launch.args {
            if let Some((key, _)) = flag_key(arg) {
                let flag = format!("--{}", key.replace('_', "-"));
                if !flags.contains(&flag) {
                    unknown.insert(format!("{} uses flag {flag}", launch.source));
                }
            }
        }
        for (var, _) in &launch.env {
            if var.starts_with("SHOAL_") && !vars.contains(var) {
                unknown.insert(format!("{} uses variable {var}", launch.source));
            }
        }
    }
    let toml: toml::Table = read(UNIT_TOML).parse().unwrap();
    for key in toml.keys() {
        let flag = format!("--{}", key.replace('_', "-"));
        if !flags.contains(&flag) {
            unknown.insert(format!("{UNIT_TOML} uses key {key} (flag {flag})"));
        }
    }
    assert!(
        unknown.is_empty(),
        "`shoal node --help` does not list what deploy/ uses:\n  {}\n(fix deploy/ or shoal node)",
        unknown.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

/// A temporary directory standing for `/`, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shoal-deploy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// `/etc/x` as a path under this root; anything else as it is.
    fn path(&self, value: &str) -> String {
        match value.strip_prefix('/') {
            Some(rest) => self.0.join(rest).display().to_string(),
            None => value.to_string(),
        }
    }

    /// Makes what the platform provides at `path` for setting `key`: the cookie (0600), the
    /// TLS files (from `shoal certs gen` when it exists, else placeholders), the directory of
    /// the ready file.
    fn provide(&self, key: &str, path: &str) {
        let path = Path::new(path);
        let write = |bytes: Vec<u8>| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        };
        match key {
            "cookie_file" => write(b"deploy-test-cookie\n".to_vec()),
            "tls_cert" => write(self.cert("shoal.pem")),
            "tls_key" => write(self.cert("shoal.key")),
            "tls_ca" => write(self.cert("ca.pem")),
            "ready_file" => std::fs::create_dir_all(path.parent().unwrap()).unwrap(),
            _ => {}
        }
    }

    /// A file of `shoal certs gen --ca-dir DIR --nodes shoal` (run once), or a placeholder
    /// while `shoal` has no such command.
    fn cert(&self, file: &str) -> Vec<u8> {
        let dir = self.0.join("certs");
        if !dir.exists() {
            let dir_text = dir.display().to_string();
            let out = shoal(&["certs", "gen", "--ca-dir", &dir_text, "--nodes", "shoal"]);
            if !out.status.success() {
                std::fs::create_dir_all(&dir).unwrap();
            }
        }
        std::fs::read(dir.join(file)).unwrap_or_else(|_| format!("placeholder {file}\n").into_bytes())
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `shoal node ARGS --check` with only `launch`'s environment, its absolute paths moved
/// under `root` and the files they name made there (`shoal.toml`'s included); returns stdout
/// and fails with shoal's error if the check fails.
fn check(launch: &Launch, root: &Root) -> String {
    let mut args: Vec<String> = Vec::new();
    let mut expect_config = false;
    for arg in &launch.args {
        let arg = match flag_key(arg) {
            Some((key, Some(value))) => {
                let moved = root.path(&value);
                match key.as_str() {
                    "config" => write_config(root, &value, &moved),
                    _ => root.provide(&key, &moved),
                }
                format!("--{}={moved}", key.replace('_', "-"))
            }
            Some((_, None)) => arg.clone(),
            None if expect_config => {
                let path = root.path(arg);
                write_config(root, arg, &path);
                path
            }
            None => root.path(arg),
        };
        expect_config = arg == "--config";
        args.push(arg);
    }
    if !args.iter().any(|a| a == "--check") {
        args.push("--check".into());
    }
    let mut env = Vec::new();
    for (key, value) in &launch.env {
        let value = root.path(value);
        if let Some(setting) = key.strip_prefix("SHOAL_") {
            root.provide(&setting.to_lowercase(), &value);
        }
        env.push((key.clone(), value));
    }
    let home = root.0.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("node")
        .args(&args)
        .env_clear()
        .env("HOME", &home)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}: `shoal node {}` refused the settings:\n{stderr}\nenvironment: {env:?}",
        launch.source,
        args.join(" ")
    );
    stdout
}

/// Copies the example shoal.toml (the unit's `--config`) to `path`, its absolute paths moved
/// under `root` and the files they name made.
fn write_config(root: &Root, original: &str, path: &str) {
    assert_eq!(
        original, "/etc/shoal/shoal.toml",
        "the unit reads the example file"
    );
    let mut table: toml::Table = read(UNIT_TOML).parse().unwrap();
    for (key, value) in &mut table {
        if let toml::Value::String(s) = value {
            *s = root.path(s);
            root.provide(key, s);
        }
    }
    std::fs::create_dir_all(Path::new(path).parent().unwrap()).unwrap();
    std::fs::write(path, toml::to_string(&table).unwrap()).unwrap();
}

/// The line `key = value` of a `--check` output.
fn line<'a>(summary: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key} = ");
    summary
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {key} in:\n{summary}"))
}

#[test]
fn the_image_alone_passes_shoal_node_check() {
    let root = Root::new("image");
    let summary = check(&image(), &root);
    assert_eq!(line(&summary, "listen"), "0.0.0.0:7000");
    assert_eq!(line(&summary, "http"), "0.0.0.0:7001");
    assert_eq!(line(&summary, "discovery"), "static");
}

#[test]
fn the_kubernetes_pod_passes_shoal_node_check() {
    let root = Root::new("pod");
    let summary = check(&pod(), &root);
    assert_eq!(line(&summary, "name"), "shoal-0");
    assert_eq!(line(&summary, "advertise"), "10.1.2.3:7000");
    assert_eq!(
        line(&summary, "discovery"),
        "dns:shoal.default.svc.cluster.local:7000"
    );
    assert_eq!(line(&summary, "ready_min_members"), "2");
}

#[test]
fn the_systemd_unit_passes_shoal_node_check() {
    for launch in unit() {
        let root = Root::new("unit");
        // %d: where systemd puts the service's credentials (moved under the root by check).
        let launch = Launch {
            env: (launch.env.iter())
                .map(|(k, v)| (k.clone(), v.replace("%d", CREDENTIALS)))
                .collect(),
            ..launch
        };
        let summary = check(&launch, &root);
        assert_eq!(line(&summary, "name"), "shoal1");
        let cookie = format!("{CREDENTIALS}/cookie");
        assert!(line(&summary, "cookie").contains(&cookie), "{summary}");
    }
}

/// The ports the node listens on are the ones the image exposes and the pod and the Service
/// declare, and the probes ask the HTTP port for the health endpoints.
#[test]
fn ports_and_probes_agree_with_the_settings() {
    let pod = pod();
    let port = |flag: &str| -> String {
        let arg = pod.args.iter().find_map(|a| a.strip_prefix(flag)).unwrap();
        arg.rsplit(':').next().unwrap().to_string()
    };
    let (link, http) = (port("--listen="), port("--http="));
    let exposed: Vec<String> = dockerfile()
        .into_iter()
        .filter(|(w, _)| w == "EXPOSE")
        .flat_map(|(_, rest)| rest.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for want in [
        format!("{link}/tcp"),
        format!("{link}/udp"),
        format!("{http}/tcp"),
    ] {
        assert!(
            exposed.contains(&want),
            "{DOCKERFILE}: EXPOSE lacks {want}: {exposed:?}"
        );
    }
    let text = read(STATEFULSET);
    let ports = values(text.lines(), "containerPort");
    assert_eq!(ports, [link.clone(), link.clone(), http.clone()], "{STATEFULSET}");
    let service = read(SERVICE);
    assert_eq!(
        values(service.lines(), "port"),
        [link.clone(), link, http],
        "{SERVICE}"
    );
    assert!(service.contains("clusterIP: None") && service.contains("publishNotReadyAddresses: true"));
    for (probe, path) in [
        ("readinessProbe:", "/health/ready"),
        ("livenessProbe:", "/health/live"),
    ] {
        let lines = block(&text, probe);
        assert_eq!(
            values(lines.iter().copied(), "path"),
            [path],
            "{STATEFULSET}: {probe}"
        );
        assert_eq!(
            values(lines.iter().copied(), "port"),
            ["http"],
            "{STATEFULSET}: {probe}"
        );
    }
}

/// `systemd-analyze verify` finds nothing to say about the unit (it exits 0 even for unknown
/// keys, so any output fails). Skipped where systemd-analyze is not installed; not in CI.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("SKIPPED: systemd-analyze is not installed (Debian: apt-get install systemd)");
        return;
    }
    let root = Root::new("verify");
    // verify checks that the command exists: point it at the binary under test.
    let unit = read(UNIT).replace("/usr/local/bin/shoal", env!("CARGO_BIN_EXE_shoal"));
    let path = root.0.join("shoal.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify {UNIT}:\n{said}"
    );
}
