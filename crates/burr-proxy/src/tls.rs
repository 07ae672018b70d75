//! TLS: loads a listener's PEM certificate chain and key into a rustls server configuration
//! (offering HTTP/2 and HTTP/1.1 by ALPN on HTTPS listeners, nothing on SSL listeners), and the
//! client side burr uses towards targets and health checks, which verifies no certificate.
//!
//! A certificate burr holds (named by ARN) is served through a [`CertificateSlot`]: one server
//! configuration per listener kind whose certificate resolver reads an `ArcSwap`'d key, so a
//! replaced certificate reaches the next handshake while connections already established keep
//! the session they negotiated, and the listener is neither rebound nor restarted.

use arc_swap::ArcSwap;
use burr_model::TlsFiles;
use burr_model::certificates::Certificate;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

/// Builds an HTTPS listener's server configuration (ALPN `h2`, `http/1.1`), or says which file
/// is wrong and why.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut config = load(files)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Builds an SSL listener's server configuration: the same certificate, and no ALPN, since what
/// the client sends inside TLS is relayed, not read (a client offering `h2` must not be told
/// burr speaks it).
pub fn relay_server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    load(files).map(Arc::new)
}

fn load(files: &TlsFiles) -> Result<rustls::ServerConfig, String> {
    let (certs, key) = read_files(files)?;
    let (cert_path, key_path) = (files.certificate.display(), files.private_key.display());
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!("certificate {cert_path} and key {key_path} do not form a usable pair: {e}")
        })
}

type ChainAndKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn read_files(files: &TlsFiles) -> Result<ChainAndKey, String> {
    let cert_path = files.certificate.display();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.certificate)
        .map_err(|e| format!("cannot read certificate {cert_path}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate {cert_path} is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "certificate {cert_path} holds no CERTIFICATE block"
        ));
    }
    let key_path = files.private_key.display();
    let key = PrivateKeyDer::from_pem_file(&files.private_key)
        .map_err(|e| format!("cannot read a private key from {key_path}: {e}"))?;
    Ok((certs, key))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A stored certificate's chain and key, ready to sign handshakes.
pub fn certified_key(certificate: &Certificate) -> Result<Arc<CertifiedKey>, String> {
    let arn = &certificate.arn;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(certificate.full_chain_pem().as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("certificate {arn} is not valid PEM: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(certificate.private_key.0.as_bytes())
        .map_err(|_| format!("certificate {arn}: its private key is unreadable"))?;
    CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|e| format!("certificate {arn} and its key do not form a usable pair: {e}"))
}

/// The key a [`CertificateSlot`]'s configurations sign with, replaceable at any time.
#[derive(Debug)]
struct SwappableKey(Arc<ArcSwap<CertifiedKey>>);

impl ResolvesServerCert for SwappableKey {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// The server configurations of one stored certificate, shared by every listener that names
/// it and kept across configuration changes; [`CertificateSlot::install`] replaces the key.
pub struct CertificateSlot {
    key: Arc<ArcSwap<CertifiedKey>>,
    /// For HTTPS listeners (ALPN `h2`, `http/1.1`).
    pub https: Arc<rustls::ServerConfig>,
    /// For SSL listeners (no ALPN).
    pub relay: Arc<rustls::ServerConfig>,
}

impl CertificateSlot {
    pub fn new(key: Arc<CertifiedKey>) -> Result<Self, String> {
        let key = Arc::new(ArcSwap::new(key));
        let (https, relay) = configs_resolving(Arc::new(SwappableKey(key.clone())))?;
        Ok(Self { https, relay, key })
    }

    /// Makes `key` the one new handshakes use.
    pub fn install(&self, key: Arc<CertifiedKey>) {
        if !Arc::ptr_eq(&self.key.load(), &key) {
            self.key.store(key);
        }
    }

    /// The key new handshakes use.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.key.load_full()
    }
}

/// The HTTPS (ALPN `h2`, `http/1.1`) and SSL (no ALPN) server configurations whose
/// certificate `resolver` chooses.
pub(crate) fn configs_resolving(
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<(Arc<rustls::ServerConfig>, Arc<rustls::ServerConfig>), String> {
    let config = || -> Result<rustls::ServerConfig, String> {
        Ok(rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone()))
    };
    let mut https = config()?;
    https.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(https), Arc::new(config()?)))
}

/// A listener's `tls` files as a key to sign handshakes with (the default certificate of a
/// listener that also serves certificates by SNI).
pub fn certified_key_from_files(files: &TlsFiles) -> Result<Arc<CertifiedKey>, String> {
    let (certs, key) = read_files(files)?;
    let (cert_path, key_path) = (files.certificate.display(), files.private_key.display());
    CertifiedKey::from_der(certs, key, &provider())
        .map(Arc::new)
        .map_err(|e| {
            format!("certificate {cert_path} and key {key_path} do not form a usable pair: {e}")
        })
}

/// A TLS client for targets and health checks that accepts any certificate: like ELB, burr
/// checks that a target answers, not who it claims to be.
pub fn insecure_client_connector() -> tokio_rustls::TlsConnector {
    use std::sync::OnceLock;
    static CONNECTOR: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| tokio_rustls::TlsConnector::from(insecure_client_config()))
        .clone()
}

/// The client configuration of [`insecure_client_connector`].
pub(crate) fn insecure_client_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
