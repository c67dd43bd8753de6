//! Finding the cluster's cookie: a value, a file, `shoal.toml`, or the per-user default file.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use shoal_proto::{ConfigError, Cookie};

/// Name of the per-user default cookie file, in the home directory.
pub(crate) const DEFAULT_COOKIE_FILE: &str = ".shoal.cookie";

/// Length of a generated cookie, in alphanumeric characters.
const GENERATED_LEN: usize = 32;

/// Where the cookie came from. `Display` names the source (never the secret), for a log line
/// such as `using cookie from /home/me/.shoal.cookie (created)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CookieSource {
    /// The `--cookie` flag.
    Flag,
    /// The `SHOAL_COOKIE` environment variable.
    Env,
    /// A file named by `--cookie-file`, `SHOAL_COOKIE_FILE` or `cookie_file` in shoal.toml.
    File(PathBuf),
    /// The `cookie` key of the shoal.toml at this path.
    Config(PathBuf),
    /// The per-user default file `~/.shoal.cookie`.
    DefaultFile {
        /// Its full path.
        path: PathBuf,
        /// Whether this run wrote it (it did not exist before).
        created: bool,
    },
}

/// The inputs of [`resolve_cookie`], highest precedence first.
#[derive(Clone, Debug, Default)]
pub(crate) struct CookieInputs<'a> {
    /// The secret itself, with [`CookieSource::Flag`] or [`CookieSource::Env`].
    pub(crate) value: Option<(&'a str, CookieSource)>,
    /// A cookie file (from a flag, its variable, or shoal.toml).
    pub(crate) file: Option<&'a Path>,
    /// The `cookie` key of shoal.toml, and that file's path.
    pub(crate) config: Option<(&'a str, &'a Path)>,
    /// The home directory that holds the default file; `None` when `HOME` is unset.
    pub(crate) home: Option<&'a Path>,
}

/// A cookie ready for use.
#[derive(Clone, Debug)]
pub(crate) struct ResolvedCookie {
    /// The secret.
    pub(crate) cookie: Cookie,
    /// The same secret as bytes, for APIs that take bytes.
    pub(crate) secret: Secret,
    /// Where it came from.
    pub(crate) source: CookieSource,
    /// A warning line when the cookie file can be read or written by other users.
    pub(crate) warning: Option<String>,
}

/// A cookie's bytes (trimmed, as in [`Cookie`]), for APIs that take bytes rather than a
/// [`Cookie`]. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(Vec<u8>);

impl CookieSource {
    /// The log line for this source, e.g. `using cookie from /home/me/.shoal.cookie (created)`.
    pub(crate) fn describe(&self) -> String {
        format!("using cookie from {self}")
    }
}

impl ResolvedCookie {
    fn new(bytes: &[u8], source: CookieSource, warning: Option<String>) -> Result<Self, ConfigError> {
        let cookie = Cookie::new(bytes)?;
        let secret = Secret(bytes.trim_ascii().to_vec());
        Ok(Self {
            cookie,
            secret,
            source,
            warning,
        })
    }
}

impl Secret {
    /// The secret bytes. Never log them.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for CookieSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("--cookie"),
            Self::Env => f.write_str("SHOAL_COOKIE"),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Config(path) => write!(f, "`cookie` in {}", path.display()),
            Self::DefaultFile { path, created: true } => write!(f, "{} (created)", path.display()),
            Self::DefaultFile { path, created: false } => write!(f, "{}", path.display()),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Picks the cookie: the value, else the file, else shoal.toml's `cookie`, else
/// `<home>/.shoal.cookie`, which is created (mode 0600, 32 random alphanumeric characters)
/// when missing. Errors are one line naming the source and the fix, never the secret.
pub(crate) fn resolve_cookie(inputs: CookieInputs<'_>) -> anyhow::Result<ResolvedCookie> {
    if let Some((secret, source)) = inputs.value {
        let label = source.to_string();
        return ResolvedCookie::new(secret.as_bytes(), source, None)
            .map_err(|e| anyhow!("invalid {label} ({}): {}", e.value, e.fix));
    }
    if let Some(path) = inputs.file {
        return read_cookie_file(path, CookieSource::File(path.to_path_buf()));
    }
    if let Some((secret, file)) = inputs.config {
        let source = CookieSource::Config(file.to_path_buf());
        return ResolvedCookie::new(secret.as_bytes(), source, None)
            .map_err(|e| anyhow!("invalid cookie in {} ({}): {}", file.display(), e.value, e.fix));
    }
    let Some(home) = inputs.home else {
        bail!(
            "cannot find the default cookie file ~/{DEFAULT_COOKIE_FILE}: HOME is not set; \
             set HOME, or pass --cookie-file or SHOAL_COOKIE"
        );
    };
    let path = home.join(DEFAULT_COOKIE_FILE);
    let created = if path.exists() {
        false
    } else {
        create_default(&path).map_err(|e| {
            anyhow!(
                "cannot create the default cookie file {}: {e}; check that the directory is \
                 writable, or pass --cookie-file",
                path.display()
            )
        })?
    };
    read_cookie_file(
        &path,
        CookieSource::DefaultFile {
            path: path.clone(),
            created,
        },
    )
}

/// Reads a cookie file and checks that only its owner can use it.
fn read_cookie_file(path: &Path, source: CookieSource) -> anyhow::Result<ResolvedCookie> {
    let bytes = fs::read(path).map_err(|e| {
        anyhow!(
            "cannot read cookie file {}: {e}; check the path and permissions (chmod 600)",
            path.display()
        )
    })?;
    let open = fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
    let warning = open.then(|| {
        format!(
            "cookie file {0} can be read or written by other users; run `chmod 600 {0}`",
            path.display()
        )
    });
    ResolvedCookie::new(&bytes, source, warning)
        .map_err(|e| anyhow!("invalid cookie file {} ({}): {}", path.display(), e.value, e.fix))
}

/// Writes a fresh secret to `path` unless some other process got there first. The secret is
/// written to a private temporary file and hard-linked into place, so a concurrent reader
/// never sees a half-written file. Returns whether this call created it.
fn create_default(path: &Path) -> io::Result<bool> {
    let mut rng = rand::rng();
    let secret: String = (0..GENERATED_LEN)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect();
    let tmp = path.with_file_name(format!("{DEFAULT_COOKIE_FILE}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(secret.as_bytes()).and_then(|()| f.sync_all()));
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::TempDir;

    #[test]
    fn default_cookie_file_is_created_private_and_then_reused() {
        let home = TempDir::new("cookie-home");
        let inputs = CookieInputs {
            home: Some(home.path()),
            ..CookieInputs::default()
        };
        let first = resolve_cookie(inputs.clone()).unwrap();
        let path = home.path().join(DEFAULT_COOKIE_FILE);
        assert_eq!(
            first.source,
            CookieSource::DefaultFile {
                path: path.clone(),
                created: true
            }
        );
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()), "{text}");
        assert_eq!(first.warning, None);
        assert_eq!(
            fs::read_dir(home.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );

        let second = resolve_cookie(inputs).unwrap();
        assert_eq!(second.source, CookieSource::DefaultFile { path, created: false });
        assert_eq!(second.cookie, first.cookie);
    }

    #[test]
    fn unreadable_cookie_file_error_names_the_path_and_the_fix() {
        let dir = TempDir::new("cookie-missing");
        let path = dir.path().join("nope.cookie");
        let inputs = CookieInputs {
            file: Some(&path),
            ..CookieInputs::default()
        };
        let err = resolve_cookie(inputs).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot read cookie file {}: ", path.display())),
            "{err}"
        );
        assert!(
            err.contains("os error 2") && err.ends_with("(chmod 600)"),
            "{err}"
        );
    }

    #[test]
    fn cookie_file_readable_by_others_gives_a_warning_but_works() {
        let dir = TempDir::new("cookie-open");
        let path = dir.path().join("c");
        fs::write(&path, "secret\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let inputs = CookieInputs {
            file: Some(&path),
            ..CookieInputs::default()
        };
        let got = resolve_cookie(inputs).unwrap();
        assert_eq!(got.cookie, Cookie::new("secret").unwrap());
        assert!(got.warning.unwrap().contains("chmod 600"));
    }

    #[test]
    fn missing_home_is_an_error_with_a_fix_and_a_value_never_shows_the_secret() {
        let err = resolve_cookie(CookieInputs::default()).unwrap_err().to_string();
        assert!(
            err.contains("HOME is not set") && err.contains("--cookie-file"),
            "{err}"
        );
        let inputs = CookieInputs {
            value: Some(("  ", CookieSource::Env)),
            ..CookieInputs::default()
        };
        let err = resolve_cookie(inputs).unwrap_err().to_string();
        assert!(err.starts_with("invalid SHOAL_COOKIE (<0 bytes>)"), "{err}");
    }

    #[test]
    fn cookie_source_names_where_the_cookie_came_from() {
        let path = PathBuf::from("/h/.shoal.cookie");
        let created = CookieSource::DefaultFile {
            path: path.clone(),
            created: true,
        };
        assert_eq!(created.to_string(), "/h/.shoal.cookie (created)");
        assert_eq!(
            CookieSource::Config(path).to_string(),
            "`cookie` in /h/.shoal.cookie"
        );
    }
}
