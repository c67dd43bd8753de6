//! TLS on links: mutual TLS 1.3 with rustls (ring provider), the cookie handshake inside.
//!
//! Both sides present a certificate and check the other's against the cluster's CA. Only the
//! chain is checked, not a name in it: peers are dialled by IP from seeds, DNS answers or
//! beacons, so no name is known to check against, and every holder of a certificate signed by
//! the CA is a cluster peer (as Akka's and Erlang's distribution TLS check by default). The
//! node's name is proved afterwards by the cookie handshake, which runs inside the TLS stream.
//!
//! A node with TLS refuses a plain peer, and a node without it refuses a TLS peer: the first
//! byte of a connection tells which (a TLS record starts with 22, a link frame's length with 0).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::error::NodeError;

/// The first byte of a TLS handshake record; a link frame starts with its length's high byte,
/// 0 for every handshake frame.
pub(crate) const TLS_RECORD_HANDSHAKE: u8 = 22;

/// Where a node's TLS material lives: PEM files of its certificate chain, its private key and
/// the CA that signs every node's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The node's certificate, then any intermediates (PEM).
    pub cert: PathBuf,
    /// The node's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The CA certificate(s) peers' certificates must chain to (PEM).
    pub ca: PathBuf,
}

/// A node's TLS settings, loaded and checked: a connector for dials and an acceptor for
/// accepted connections. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    connector: TlsConnector,
    acceptor: TlsAcceptor,
    files: Option<TlsFiles>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads and checks the three PEM files. Errors name the file and what to do.
    pub fn from_files(files: TlsFiles) -> Result<Self, NodeError> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path)
                .map_err(|e| tls_error(format!("cannot read the {what} {}: {e}", path.display())))
        };
        let cert = read(&files.cert, "certificate (--tls-cert)")?;
        let key = read(&files.key, "private key (--tls-key)")?;
        let ca = read(&files.ca, "CA certificate (--tls-ca)")?;
        let mut config = Self::from_pem(&cert, &key, &ca).map_err(|e| match e {
            NodeError::Tls(why) => tls_error(format!(
                "{why} (files: --tls-cert {}, --tls-key {}, --tls-ca {})",
                files.cert.display(),
                files.key.display(),
                files.ca.display()
            )),
            other => other,
        })?;
        config.files = Some(files);
        Ok(config)
    }

    /// Builds the configuration from PEM text: the node's certificate chain, its key, the CA.
    pub fn from_pem(cert: &[u8], key: &[u8], ca: &[u8]) -> Result<Self, NodeError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<_, _>>()
            .map_err(|e| tls_error(format!("the certificate is not valid PEM: {e}")))?;
        if chain.is_empty() {
            return Err(tls_error("no certificate in the certificate file".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| tls_error(format!("no private key in the key file: {e}")))?;
        let mut roots = RootCertStore::empty();
        for ca_cert in CertificateDer::pem_slice_iter(ca) {
            let ca_cert = ca_cert.map_err(|e| tls_error(format!("the CA file is not valid PEM: {e}")))?;
            roots
                .add(ca_cert)
                .map_err(|e| tls_error(format!("the CA file holds an unusable certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(tls_error("no certificate in the CA file".into()));
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain_only = Arc::new(ChainOnly {
            roots: roots.clone(),
            algs: provider.signature_verification_algorithms,
        });
        let clients = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| tls_error(format!("the CA cannot verify certificates: {e}")))?;
        check_own(&chain, &chain_only, clients.as_ref())?;
        let client = client_config(&provider, chain_only, chain.clone(), key.clone_key())?;
        let server = server_config(&provider, clients, chain, key)?;
        Ok(Self {
            connector: TlsConnector::from(Arc::new(client)),
            acceptor: TlsAcceptor::from(Arc::new(server)),
            files: None,
        })
    }

    /// The files this configuration was read from, if any.
    pub fn files(&self) -> Option<&TlsFiles> {
        self.files.as_ref()
    }

    pub(crate) fn connector(&self) -> &TlsConnector {
        &self.connector
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

fn tls_error(why: String) -> NodeError {
    NodeError::Tls(why)
}

/// How long before its certificate expires a node warns at start.
const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

/// Checks the node's own certificate as its peers will, in both roles, so that a certificate
/// that is expired, from another CA or not made for both roles stops the node at start
/// instead of failing every link; warns when it expires within [`EXPIRY_WARNING`].
fn check_own(
    chain: &[CertificateDer<'static>],
    chain_only: &ChainOnly,
    clients: &dyn ClientCertVerifier,
) -> Result<(), NodeError> {
    let Some((own, intermediates)) = chain.split_first() else {
        return Err(tls_error("no certificate in the certificate file".into()));
    };
    let unusable = |e: rustls::Error| {
        tls_error(format!(
            "the certificate (--tls-cert) would be refused by peers that trust this CA (--tls-ca): {e}"
        ))
    };
    let now = UnixTime::now();
    chain_only.check(own, intermediates, now).map_err(unusable)?;
    clients
        .verify_client_cert(own, intermediates, now)
        .map_err(unusable)?;
    let soon = UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs()) + EXPIRY_WARNING);
    if chain_only.check(own, intermediates, soon).is_err() {
        tracing::warn!(
            "the certificate (--tls-cert) or its CA expires within 30 days: renew it (shoal certs gen --force) and restart the node"
        );
    }
    Ok(())
}

fn client_config(
    provider: &Arc<CryptoProvider>,
    chain_only: Arc<ChainOnly>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, NodeError> {
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(chain_only)
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(format!("the key does not fit the certificate: {e}")))?;
    // Links live long; a resumed session would skip the certificate checks of a reconnect.
    config.resumption = Resumption::disabled();
    Ok(config)
}

fn server_config(
    provider: &Arc<CryptoProvider>,
    clients: Arc<dyn ClientCertVerifier>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, NodeError> {
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error(e.to_string()))?
        .with_client_cert_verifier(clients)
        .with_single_cert(chain, key)
        .map_err(|e| tls_error(format!("the key does not fit the certificate: {e}")))?;
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    Ok(config)
}

/// The name a dial presents (rustls needs one; [`ChainOnly`] does not check it).
pub(crate) fn server_name(addr: std::net::SocketAddr) -> ServerName<'static> {
    ServerName::IpAddress(addr.ip().into())
}

/// Checks a peer's certificate as a server's: its chain to the CA, signatures, validity dates
/// and key usage; never a name in it (see the module doc).
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<RootCertStore>,
    algs: WebPkiSupportedAlgorithms,
}

impl ChainOnly {
    fn check(
        &self,
        cert: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let cert = ParsedCertificate::try_from(cert)?;
        verify_server_cert_signed_by_trust_anchor(&cert, &self.roots, intermediates, now, self.algs.all)
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Why a TLS handshake (or a TLS link) failed, in words that say what to do. Holds for
/// either side: the dialer and the acceptor may each see any of these.
pub(crate) fn explain_failure(tls: &rustls::Error) -> String {
    use CertificateError as C;
    match tls {
        rustls::Error::InvalidMessage(_) => {
            "the peer did not speak TLS: a node with --tls off, or not a Shoal link port; give every node --tls required".into()
        }
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "the peer's certificate is not signed by our CA (--tls-ca); give it a certificate from this cluster's CA"
                .into()
        }
        rustls::Error::InvalidCertificate(
            e @ (C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. }),
        ) => format!("the peer's certificate is out of its validity dates ({e}); renew it"),
        rustls::Error::InvalidCertificate(e) => format!("the peer's certificate is refused: {e}"),
        rustls::Error::AlertReceived(alert) => explain_alert(*alert),
        rustls::Error::NoCertificatesPresented => {
            "the peer presented no certificate; give it --tls-cert and --tls-key".into()
        }
        other => format!("TLS failed: {other}"),
    }
}

/// What the peer's TLS alert says about us.
fn explain_alert(alert: AlertDescription) -> String {
    use AlertDescription as A;
    match alert {
        A::CertificateExpired => {
            "the peer refused our certificate: it is out of its validity dates; renew --tls-cert".into()
        }
        A::UnknownCA | A::BadCertificate | A::DecryptError => {
            "the peer refused our certificate: it does not chain to the peer's CA; give both nodes certificates from one CA".into()
        }
        A::UnsupportedCertificate => {
            "the peer refused our certificate: it is not made for both client and server use (make it with shoal certs gen)".into()
        }
        A::CertificateRequired => "the peer wants a certificate; give this node --tls-cert and --tls-key".into(),
        A::ProtocolVersion => "no TLS version in common: Shoal links speak TLS 1.3 only".into(),
        other => format!("the peer ended the TLS handshake with the alert {other:?}"),
    }
}
