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

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
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
        let client = client_config(&provider, &roots, chain.clone(), key.clone_key())?;
        let server = server_config(&provider, roots, chain, key)?;
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

fn client_config(
    provider: &Arc<CryptoProvider>,
    roots: &Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, NodeError> {
    let chain_check =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| tls_error(format!("the CA cannot verify certificates: {e}")))?;
    ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainOnly(chain_check)))
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(format!("the key does not fit the certificate: {e}")))
}

fn server_config(
    provider: &Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, NodeError> {
    let clients = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| tls_error(format!("the CA cannot verify certificates: {e}")))?;
    ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error(e.to_string()))?
        .with_client_cert_verifier(clients)
        .with_single_cert(chain, key)
        .map_err(|e| tls_error(format!("the key does not fit the certificate: {e}")))
}

/// The name a dial presents (rustls needs one; [`ChainOnly`] does not check it).
pub(crate) fn server_name(addr: std::net::SocketAddr) -> ServerName<'static> {
    ServerName::IpAddress(addr.ip().into())
}

/// Checks a peer's certificate chain against the CA and its signatures, but not the name in
/// it (see the module doc). webpki checks the chain before the name, so a name error means
/// the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Why a TLS handshake failed, in words that say what to do.
pub(crate) fn explain_failure(tls: &rustls::Error) -> String {
    match tls {
        rustls::Error::InvalidMessage(_) => {
            "the peer answered without TLS: it runs with --tls off; give every node --tls required".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            "the peer's certificate is not signed by our CA (--tls-ca); give it a certificate from this cluster's CA"
                .into()
        }
        rustls::Error::InvalidCertificate(e) => format!("the peer's certificate is refused: {e:?}"),
        rustls::Error::AlertReceived(alert) => format!(
            "the peer refused our certificate ({alert:?}): it trusts another CA; give both nodes certificates from one CA"
        ),
        rustls::Error::NoCertificatesPresented => {
            "the peer presented no certificate; give it --tls-cert and --tls-key".into()
        }
        other => format!("TLS handshake failed: {other}"),
    }
}
