//! `--tls required|off` and the files it needs: `--tls-cert`, `--tls-key`, `--tls-ca`.

use std::path::PathBuf;

use anyhow::bail;
use shoal_node::tls::TlsFiles;

use super::value::Sourced;

/// The four TLS settings as given (flag, variable or `shoal.toml` key).
pub(crate) struct TlsInputs {
    pub(crate) mode: Option<Sourced<String>>,
    pub(crate) cert: Option<Sourced<PathBuf>>,
    pub(crate) key: Option<Sourced<PathBuf>>,
    pub(crate) ca: Option<Sourced<PathBuf>>,
}

/// The files of `--tls required`, or `None` for `--tls off` (the default). Files without
/// `--tls required`, or `--tls required` without all three files, are errors that say what
/// to add; the files are read when the node starts.
pub(crate) fn resolve(inputs: TlsInputs) -> anyhow::Result<Option<TlsFiles>> {
    let TlsInputs { mode, cert, key, ca } = inputs;
    let required = match &mode {
        None => false,
        Some(m) => match m.value.as_str() {
            "required" => true,
            "off" => false,
            other => bail!("invalid {} {other:?}: use required or off", m.label),
        },
    };
    if !required {
        if let Some(file) = [&cert, &key, &ca].into_iter().flatten().next() {
            bail!(
                "invalid {} {:?}: TLS is off; add --tls required to use it, or drop it",
                file.label,
                file.value.display()
            );
        }
        return Ok(None);
    }
    let (Some(cert), Some(key), Some(ca)) = (&cert, &key, &ca) else {
        let missing: Vec<&str> = [(&cert, "--tls-cert"), (&key, "--tls-key"), (&ca, "--tls-ca")]
            .into_iter()
            .filter(|(given, _)| given.is_none())
            .map(|(_, flag)| flag)
            .collect();
        bail!(
            "--tls required needs --tls-cert, --tls-key and --tls-ca (missing: {}); make them with `shoal certs gen --ca-dir DIR --nodes NAME,...`",
            missing.join(", ")
        );
    };
    Ok(Some(TlsFiles {
        cert: cert.value.clone(),
        key: key.value.clone(),
        ca: ca.value.clone(),
    }))
}
