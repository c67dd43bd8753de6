//! `shoal node --check`: the resolved settings as text, one `key = value` line each, under
//! the `shoal.toml` key names, with no secret shown.

use std::fmt::Write as _;
use std::time::Duration;

use super::NodeSettings;

impl NodeSettings {
    /// Checks what resolution does not (the ready file's directory exists) and describes the
    /// settings, for `shoal node --check`. The error is one line naming the value and the fix.
    /// Binds nothing and dials nobody: a busy port is only found at start.
    pub(crate) fn check(&self) -> anyhow::Result<String> {
        let ready_dir = self.ready_file.as_deref().and_then(|f| f.parent());
        if let (Some(file), Some(dir)) = (&self.ready_file, ready_dir)
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            anyhow::bail!(
                "invalid --ready-file {}: directory {} does not exist; create it or pick \
                 another path",
                file.display(),
                dir.display()
            );
        }
        if let Some(files) = &self.tls {
            // Reads the three files and checks that the key fits the certificate.
            shoal_node::tls::TlsConfig::from_files(files.clone())?;
        }
        Ok(self.summary())
    }

    /// Every setting as `key = value` lines (keys as in `shoal.toml`); secrets are replaced by
    /// where they came from and, for the cookie, each secret's public fingerprint, so two
    /// nodes' outputs tell whether they share a cookie (or which rotation step each is at).
    pub(crate) fn summary(&self) -> String {
        let or = |v: Option<String>, none: &str| v.unwrap_or_else(|| none.to_string());
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(",")
            }
        };
        let ms = |d: Duration| d.as_millis().to_string();
        let mut discovery: Vec<String> = Vec::new();
        if self.static_discovery {
            discovery.push("static".into());
        }
        if self.local_discovery {
            discovery.push("local".into());
        }
        discovery.extend(self.dns.iter().map(ToString::to_string));
        if let Some(mc) = &self.multicast {
            discovery.push(format!("{} (ttl {})", mc.label(), mc.ttl));
        }
        let m = &self.membership;
        let lines = [
            (
                "config",
                or(self.config_file.as_ref().map(|p| p.display().to_string()), "none"),
            ),
            ("name", self.name.to_string()),
            (
                "cookie",
                format!(
                    "from {} (fingerprints {})",
                    self.cookie_source,
                    self.cookie.fingerprints().join(",")
                ),
            ),
            ("listen", self.listen.to_string()),
            (
                "advertise",
                or(
                    self.advertise.map(|a| a.to_string()),
                    "not set: the bound address (with 0.0.0.0, this host's first address that \
                     is not loopback)",
                ),
            ),
            (
                "tls",
                or(
                    self.tls.as_ref().map(|t| {
                        format!(
                            "required (cert {}, key {}, ca {})",
                            t.cert.display(),
                            t.key.display(),
                            t.ca.display()
                        )
                    }),
                    "off",
                ),
            ),
            ("http", or(self.http.map(|a| a.to_string()), "off")),
            ("discovery", list(&discovery)),
            ("seeds", list(&self.seeds)),
            ("discovery_interval_ms", ms(self.discovery_interval)),
            ("local_dir", self.local_dir.display().to_string()),
            ("roles", list(&self.roles)),
            (
                "ready_file",
                or(self.ready_file.as_ref().map(|p| p.display().to_string()), "none"),
            ),
            ("log", self.log.clone()),
            ("heartbeat_ms", ms(m.heartbeat_interval)),
            ("link_suspect_ms", ms(m.link_suspect_after)),
            ("link_down_ms", ms(m.link_down_after)),
            ("probe_period_ms", ms(m.probe_period)),
            (
                "admin_token",
                or(self.admin_token.as_ref().map(|_| "set".into()), "none"),
            ),
            ("ready_min_members", self.ready_min_members.to_string()),
            ("demo", self.demo.to_string()),
            ("leave_on_stdin_eof", self.leave_on_stdin_eof.to_string()),
        ];
        let mut out = String::new();
        for (key, value) in lines {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{key} = {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::tests::TempDir;
    use crate::settings::{Context, NodeArgs};

    fn ctx(dir: &TempDir) -> Context {
        Context {
            cwd: dir.path().to_path_buf(),
            home: None,
            env_cookie: None,
            default_name: "host-1".into(),
            default_local_dir: dir.path().join("local"),
        }
    }

    #[test]
    fn summary_names_every_key_and_never_shows_a_secret() {
        let dir = TempDir::new("summary");
        let args = NodeArgs {
            cookie: Some("top-secret-cookie\nold-secret".into()),
            admin_token: Some("top-secret-token".into()),
            discovery: Some(vec!["static".into(), "dns:shoal.example:7000".into()]),
            ..NodeArgs::default()
        };
        let text = args.resolve_in(&ctx(&dir)).unwrap().check().unwrap();
        assert!(
            !text.contains("top-secret") && !text.contains("old-secret"),
            "{text}"
        );
        assert!(text.contains("name = host-1\n"), "{text}");
        assert!(
            text.contains("discovery = static,dns:shoal.example:7000\n"),
            "{text}"
        );
        assert!(text.contains("admin_token = set\n"), "{text}");
        let cookie = text.lines().find(|l| l.starts_with("cookie = ")).unwrap();
        assert_eq!(cookie.matches(',').count(), 1, "two fingerprints: {cookie}");
    }

    #[test]
    fn check_refuses_a_ready_file_in_a_missing_directory() {
        let dir = TempDir::new("summary-ready");
        let file = dir.path().join("missing").join("ready.json");
        let args = NodeArgs {
            cookie: Some("k".into()),
            ready_file: Some(file),
            ..NodeArgs::default()
        };
        let err = args
            .resolve_in(&ctx(&dir))
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid --ready-file ") && err.contains("does not exist"),
            "{err}"
        );
    }
}
