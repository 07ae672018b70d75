//! TLS: loads a listener's PEM certificate chain and key into a rustls server configuration
//! (offering HTTP/2 and HTTP/1.1 by ALPN on HTTPS listeners, nothing on SSL listeners), and the
//! client side burr uses towards targets and health checks, which verifies no certificate;
//! and the accepting of clients' handshakes, counted by result ([`accept_counted`]).
//!
//! A certificate burr holds (named by ARN) is served through a [`CertificateSlot`]: one server
//! configuration per listener kind whose certificate resolver reads an `ArcSwap`'d key, so a
//! replaced certificate reaches the next handshake while connections already established keep
//! the session they negotiated, and the listener is neither rebound nor restarted.
//!
//! An ELBv2 listener's security policy ([`with_policy`]) narrows its configuration to the
//! policy's protocol versions and cipher suites; listeners without one (TOML, Classic ELB) keep
//! rustls' safe defaults.

use arc_swap::ArcSwap;
use burr_model::TlsFiles;
use burr_model::certificates::Certificate;
use burr_model::elbv2::SslPolicy;
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

/// burr's default certificate ([`SELF_SIGNED_CERTIFICATE`](burr_model::certificates::SELF_SIGNED_CERTIFICATE)):
/// a self-signed ECDSA P-256 certificate for `localhost`, made once per process on first use and
/// served by every listener that names it. Clients that verify servers will refuse it; it is
/// there so a listener without a certificate of its own still speaks TLS.
pub fn self_signed_key() -> Result<Arc<CertifiedKey>, String> {
    static KEY: std::sync::OnceLock<Result<Arc<CertifiedKey>, String>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let (chain, key) = burr_model::certificates::self_signed().map_err(|e| e.to_string())?;
        let chain = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("burr's self-signed certificate is not valid PEM: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(key.0.as_bytes())
            .map_err(|e| format!("burr's self-signed key is not valid PEM: {e}"))?;
        CertifiedKey::from_der(chain, key, &provider())
            .map(Arc::new)
            .map_err(|e| format!("burr's self-signed certificate and key do not pair: {e}"))
    })
    .clone()
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
    /// Those two narrowed to the security policies of the listeners that use them.
    pub policies: PolicyConfigs,
}

impl CertificateSlot {
    pub fn new(key: Arc<CertifiedKey>) -> Result<Self, String> {
        let key = Arc::new(ArcSwap::new(key));
        let (https, relay) = configs_resolving(Arc::new(SwappableKey(key.clone())))?;
        Ok(Self {
            https,
            relay,
            key,
            policies: PolicyConfigs::default(),
        })
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

/// `base` restricted to an ELBv2 security policy: the protocol versions and cipher suites the
/// policy lists, nothing else, with `base`'s certificate resolver (so a hot-swapped key or SNI
/// table reaches these handshakes too) and ALPN.
pub fn with_policy(
    base: &rustls::ServerConfig,
    policy: &SslPolicy,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let suites = policy
        .ciphers
        .iter()
        .map(|name| {
            rustls_suite(name).ok_or_else(|| {
                format!(
                    "SSL policy {}: cipher {name} has no rustls suite",
                    policy.name
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let versions = policy
        .protocols
        .iter()
        .map(|name| match *name {
            "TLSv1.2" => Ok(&rustls::version::TLS12),
            "TLSv1.3" => Ok(&rustls::version::TLS13),
            other => Err(format!(
                "SSL policy {}: protocol {other} is not one rustls speaks",
                policy.name
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: suites,
        ..rustls::crypto::ring::default_provider()
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("SSL policy {}: {e}", policy.name))?
        .with_no_client_auth()
        .with_cert_resolver(base.cert_resolver.clone());
    config.alpn_protocols = base.alpn_protocols.clone();
    Ok(Arc::new(config))
}

/// A slot's configurations narrowed to security policies, made once per policy and listener
/// kind and kept with the slot, so that, like the slot's own, they (and their TLS session
/// caches) outlive configuration changes. Only compiling touches it, never a handshake.
#[derive(Default)]
pub struct PolicyConfigs(std::sync::Mutex<Vec<PolicyConfig>>);

/// A policy's name, whether the base is the HTTPS configuration, and the narrowed one.
type PolicyConfig = (&'static str, bool, Arc<rustls::ServerConfig>);

impl PolicyConfigs {
    /// `base` (the slot's HTTPS configuration when `https`, else its relay one) narrowed to
    /// `policy`, made on first use.
    pub fn get(
        &self,
        base: &rustls::ServerConfig,
        https: bool,
        policy: &'static SslPolicy,
    ) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut made = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((.., config)) = made
            .iter()
            .find(|(name, kind, _)| *name == policy.name && *kind == https)
        {
            return Ok(config.clone());
        }
        let config = with_policy(base, policy)?;
        made.push((policy.name, https, config.clone()));
        Ok(config)
    }
}

/// The rustls suite of an OpenSSL cipher name (the names AWS's policy tables use).
fn rustls_suite(openssl_name: &str) -> Option<rustls::SupportedCipherSuite> {
    use rustls::crypto::ring::cipher_suite as s;
    Some(match openssl_name {
        "TLS_AES_128_GCM_SHA256" => s::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_256_GCM_SHA384" => s::TLS13_AES_256_GCM_SHA384,
        "TLS_CHACHA20_POLY1305_SHA256" => s::TLS13_CHACHA20_POLY1305_SHA256,
        "ECDHE-ECDSA-AES128-GCM-SHA256" => s::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-RSA-AES128-GCM-SHA256" => s::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-ECDSA-AES256-GCM-SHA384" => s::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-RSA-AES256-GCM-SHA384" => s::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-ECDSA-CHACHA20-POLY1305" => s::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-RSA-CHACHA20-POLY1305" => s::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        _ => return None,
    })
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

/// Completes a client's TLS handshake on a listener within `timeout`, counting its result and,
/// when it succeeds, its time on `events` (`burr_tls_handshakes_total`,
/// `burr_tls_handshake_duration_seconds`). The one place https and ssl listeners accept TLS.
pub async fn accept_counted<IO>(
    config: Arc<rustls::ServerConfig>,
    io: IO,
    timeout: std::time::Duration,
    events: &crate::metrics::events::ListenerEvents,
) -> Option<tokio_rustls::server::TlsStream<IO>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use crate::metrics::events::HandshakeResult;
    let started = std::time::Instant::now();
    let accepting = tokio_rustls::TlsAcceptor::from(config).accept(io);
    let (result, stream) = match tokio::time::timeout(timeout, accepting).await {
        Ok(Ok(stream)) => (HandshakeResult::Ok, Some(stream)),
        Ok(Err(_)) => (HandshakeResult::Failed, None),
        Err(_) => (HandshakeResult::Timeout, None),
    };
    events.count_handshake(result, started.elapsed());
    stream
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every policy burr offers maps onto rustls exactly: each cipher and protocol it lists.
    #[test]
    fn every_offered_policy_maps_to_rustls() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let key = CertifiedKey::from_der(vec![cert.der().clone()], key, &provider()).unwrap();
        let slot = CertificateSlot::new(Arc::new(key)).unwrap();
        for policy in &burr_model::elbv2::SSL_POLICIES {
            let config = with_policy(&slot.https, policy).unwrap();
            assert_eq!(config.alpn_protocols, slot.https.alpn_protocols);
            assert_eq!(
                config.crypto_provider().cipher_suites.len(),
                policy.ciphers.len(),
                "{}",
                policy.name
            );
        }
    }
}
