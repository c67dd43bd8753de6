//! `shoal certs gen`: a cluster CA and one certificate per node, for `--tls required`.
//!
//! The CA is made once and reused: a later run with the same `--ca-dir` signs more nodes'
//! certificates with it (scaling up). Only a CA made by this command can be reused (its
//! name is fixed); bring your own CA's certificates with your own tools. Keys are ECDSA P-256 and written with mode 0600. A node
//! certificate names its node (a DNS subject alternative name) and serves both TLS roles,
//! since every node both dials and accepts; peers check only that it chains to the CA.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use shoal_proto::NodeName;
use time::{Duration, OffsetDateTime};

/// Certificates for TLS on links (`shoal node --tls required`).
#[derive(clap::Args, Debug)]
pub(crate) struct CertsArgs {
    #[command(subcommand)]
    command: CertsCommand,
}

#[derive(clap::Subcommand, Debug)]
enum CertsCommand {
    /// Make a CA in --ca-dir (or reuse the one there) and a certificate and key per node:
    /// ca.pem, ca.key, NODE.pem, NODE.key.
    Gen(GenArgs),
}

#[derive(clap::Args, Debug)]
struct GenArgs {
    /// Directory of the CA (created if missing); node files are written there too.
    #[arg(long, value_name = "DIR")]
    ca_dir: PathBuf,
    /// Node names, comma-separated: one certificate each.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', required = true)]
    nodes: Vec<String>,
    /// How long node certificates are valid, in days (the CA: ten years).
    #[arg(long, value_name = "DAYS", default_value_t = 825)]
    days: u32,
    /// Replace node certificates that exist already (the CA is always kept).
    #[arg(long)]
    force: bool,
}

/// Runs `shoal certs ...`.
pub(crate) fn run(args: CertsArgs) -> anyhow::Result<()> {
    let CertsCommand::Gen(args) = args.command;
    let made = generate(&args.ca_dir, &args.nodes, args.days, args.force)?;
    let dir = args.ca_dir.display();
    match made.new_ca {
        true => println!("made a CA: {dir}/ca.pem (keep {dir}/ca.key secret)"),
        false => println!("signed with the CA in {dir}"),
    }
    for node in &made.nodes {
        println!("{node}: {dir}/{node}.pem, {dir}/{node}.key");
    }
    let first = &made.nodes[0];
    println!(
        "run each node with: shoal node --name {first} --tls required --tls-cert {dir}/{first}.pem --tls-key {dir}/{first}.key --tls-ca {dir}/ca.pem"
    );
    Ok(())
}

/// What [`generate`] did.
pub(crate) struct Generated {
    /// Whether the CA was made now (else an existing one signed).
    pub(crate) new_ca: bool,
    /// The nodes whose files were written.
    pub(crate) nodes: Vec<String>,
}

/// Makes (or loads) the CA in `dir` and writes `NODE.pem` and `NODE.key` for each node.
/// Refuses to replace a node's files unless `force`.
pub(crate) fn generate(dir: &Path, nodes: &[String], days: u32, force: bool) -> anyhow::Result<Generated> {
    let names = nodes
        .iter()
        .map(|n| NodeName::new(n.trim()).map(|_| n.trim().to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("invalid --nodes: {e}"))?;
    if names.is_empty() {
        bail!("--nodes is empty: give at least one node name");
    }
    if days == 0 {
        bail!("invalid --days 0: use a number of days of at least 1");
    }
    if !force && let Some(taken) = names.iter().find(|n| dir.join(format!("{n}.pem")).exists()) {
        bail!(
            "{} exists already: pass --force to replace it, or leave {taken} out of --nodes",
            dir.join(format!("{taken}.pem")).display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create --ca-dir {}", dir.display()))?;
    let (issuer, new_ca) = certificate_authority(dir)?;
    for name in &names {
        let key = KeyPair::generate().context("cannot make a key")?;
        let cert = node_params(name, days)?
            .signed_by(&key, &issuer)
            .context("cannot sign a node certificate")?;
        write(&dir.join(format!("{name}.key")), &key.serialize_pem(), true)?;
        write(&dir.join(format!("{name}.pem")), &cert.pem(), false)?;
    }
    Ok(Generated { new_ca, nodes: names })
}

/// The CA of `dir`: loaded from `ca.pem` and `ca.key`, or made and written when neither
/// exists. `true` when made.
fn certificate_authority(dir: &Path) -> anyhow::Result<(Issuer<'static, KeyPair>, bool)> {
    let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            let read =
                |p: &Path| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()));
            let key = KeyPair::from_pem(&read(&key_path)?)
                .with_context(|| format!("{} is not a PEM private key", key_path.display()))?;
            if !read(&cert_path)?.contains("BEGIN CERTIFICATE") {
                bail!("{} is not a PEM CA certificate", cert_path.display());
            }
            // The issuer's name is the one `ca_params` gives every CA made here, and its key
            // is the CA's: that is all a signature and a chain check need.
            Ok((Issuer::new(ca_params()?, key), false))
        }
        (false, false) => {
            let key = KeyPair::generate().context("cannot make a key")?;
            let params = ca_params()?;
            let cert = params
                .self_signed(&key)
                .context("cannot sign the CA certificate")?;
            write(&key_path, &key.serialize_pem(), true)?;
            write(&cert_path, &cert.pem(), false)?;
            Ok((Issuer::new(params, key), true))
        }
        _ => bail!(
            "{} holds only one of ca.pem and ca.key: restore the other, or use an empty --ca-dir",
            dir.display()
        ),
    }
}

fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Shoal cluster CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    Ok(params)
}

fn node_params(name: &str, days: u32) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.subject_alt_names =
        vec![SanType::DnsName(name.try_into().with_context(|| {
            format!("node name {name} cannot be a DNS name")
        })?)];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(i64::from(days));
    Ok(params)
}

/// Writes `text` to `path` through a temporary file (mode 0600 when `secret`), so a reader
/// never sees half a file.
fn write(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
