//! Several certificates on one HTTPS or SSL listener (ALB `AddListenerCertificates`), chosen by
//! the server name the client sends in its ClientHello (SNI).
//!
//! Each snapshot compiles, per listener certificate set, an immutable [`SniTable`]: the names of
//! every certificate (subject alternative DNS names, else the common name), lower-cased, split
//! into exact names and wildcard suffixes, pointing at the certificate's key. A handshake then
//! costs one `ArcSwap` load, a lower-casing copy of the name onto the stack and at most two
//! hash look-ups. The rules are ALB's: an exact name beats a wildcard (`*.example.com` matches
//! exactly one label), a certificate listed earlier (the default first) beats a later one with
//! the same name, and a client sending no name or a name no certificate has gets the default.
//!
//! As with [`crate::tls::CertificateSlot`], the server configuration lives in an [`SniSlot`]
//! kept across snapshots for the same certificate set, and a snapshot's table reaches handshakes
//! only when its runtime is committed ([`crate::runtime::Runtime::publish_certificates`]), so a
//! re-imported certificate is served by new handshakes without rebinding anything.

use crate::runtime::CompiledCertificate;
use arc_swap::ArcSwap;
use burr_model::certificates::Certificate;
use burr_model::{Listener, State};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::Arc;

/// Longest DNS name (RFC 1035), so a server name can be lower-cased on the stack.
const MAX_NAME: usize = 253;

/// One snapshot's certificates of a listener, indexed by name.
pub struct SniTable {
    default: Arc<CertifiedKey>,
    keys: Vec<Arc<CertifiedKey>>,
    /// Lower-cased exact names -> index into `keys`.
    exact: HashMap<Box<str>, usize>,
    /// For `*.example.com`, `example.com` -> index into `keys`.
    wildcard: HashMap<Box<str>, usize>,
}

impl SniTable {
    /// A table serving `default` to clients that match nothing, and each of `certificates`
    /// (the default's own names first, if it has any) to clients naming one of its names.
    pub fn new<'a>(
        default: Arc<CertifiedKey>,
        certificates: impl IntoIterator<Item = (Arc<CertifiedKey>, Vec<&'a str>)>,
    ) -> Self {
        let mut table = SniTable {
            default,
            keys: Vec::new(),
            exact: HashMap::new(),
            wildcard: HashMap::new(),
        };
        for (key, names) in certificates {
            let index = table.keys.len();
            table.keys.push(key);
            for name in names {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name.parse::<std::net::IpAddr>().is_ok() || name.len() > MAX_NAME {
                    continue; // never a server name
                }
                // The first certificate naming a name keeps it.
                match name.strip_prefix("*.") {
                    Some(suffix) if !suffix.is_empty() => {
                        table.wildcard.entry(suffix.into()).or_insert(index);
                    }
                    Some(_) => {}
                    None => {
                        table.exact.entry(name.into()).or_insert(index);
                    }
                }
            }
        }
        table
    }

    /// The key to serve a client that sent `server_name`.
    pub fn choose(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(name) = server_name.filter(|n| !n.is_empty() && n.len() <= MAX_NAME) else {
            return &self.default;
        };
        let mut buffer = [0u8; MAX_NAME];
        let lower = &mut buffer[..name.len()];
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        // Lower-casing ASCII letters keeps UTF-8 valid; the fallback is never taken.
        let lower = std::str::from_utf8(lower).unwrap_or(name);
        let lower = lower.strip_suffix('.').unwrap_or(lower);
        if let Some(&i) = self.exact.get(lower) {
            return &self.keys[i];
        }
        // A wildcard covers exactly one non-empty leftmost label.
        if let Some((label, parent)) = lower.split_once('.')
            && !label.is_empty()
            && let Some(&i) = self.wildcard.get(parent)
        {
            return &self.keys[i];
        }
        &self.default
    }
}

/// The names a stored certificate is served for: its subject alternative names, or its
/// common name when it has none.
pub fn names_of(certificate: &Certificate) -> Vec<&str> {
    let details = &certificate.details;
    if details.subject_alternative_names.is_empty() {
        vec![details.domain_name.as_str()]
    } else {
        details
            .subject_alternative_names
            .iter()
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug)]
struct SniResolver(Arc<ArcSwap<SniTable>>);

impl std::fmt::Debug for SniTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniTable")
            .field("exact", &self.exact)
            .field("wildcard", &self.wildcard)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load().choose(hello.server_name()).clone())
    }
}

/// The server configurations of one listener certificate set, kept across snapshots;
/// [`SniSlot::install`] replaces the table new handshakes read.
pub struct SniSlot {
    table: Arc<ArcSwap<SniTable>>,
    /// For HTTPS listeners (ALPN `h2`, `http/1.1`).
    pub https: Arc<rustls::ServerConfig>,
    /// For SSL listeners (no ALPN).
    pub relay: Arc<rustls::ServerConfig>,
    /// Those two narrowed to the security policies of the listeners that use them.
    pub policies: crate::tls::PolicyConfigs,
}

impl SniSlot {
    pub fn new(table: Arc<SniTable>) -> Result<Self, String> {
        let table = Arc::new(ArcSwap::new(table));
        let (https, relay) = crate::tls::configs_resolving(Arc::new(SniResolver(table.clone())))?;
        Ok(Self {
            table,
            https,
            relay,
            policies: crate::tls::PolicyConfigs::default(),
        })
    }

    /// Makes `table` the one new handshakes use.
    pub fn install(&self, table: Arc<SniTable>) {
        if !Arc::ptr_eq(&self.table.load(), &table) {
            self.table.store(table);
        }
    }
}

/// A listener's certificate set as one snapshot compiled it.
pub struct CompiledSni {
    pub slot: Arc<SniSlot>,
    pub table: Arc<SniTable>,
}

/// Identity of a listener's certificate set, under which its [`SniSlot`] is kept across
/// snapshots: the default (its ARN, or its `tls` files), then the SNI certificates' ARNs.
pub fn set_key(listener: &Listener) -> Vec<String> {
    let default = match (&listener.certificate, &listener.tls) {
        (Some(arn), _) => arn.clone(),
        (None, Some(files)) => format!(
            "file:{}\0{}",
            files.certificate.display(),
            files.private_key.display()
        ),
        (None, None) => String::new(),
    };
    std::iter::once(default)
        .chain(listener.sni_certificates.iter().cloned())
        .collect()
}

/// Compiles `listener`'s certificate set from the snapshot's compiled stored certificates,
/// reusing the slot of `previous` (the same set in the previous runtime).
pub fn compile(
    listener: &Listener,
    state: &State,
    certificates: &HashMap<String, CompiledCertificate>,
    previous: Option<&CompiledSni>,
) -> Result<CompiledSni, String> {
    let stored = |arn: &String| {
        let compiled = certificates
            .get(arn)
            .ok_or_else(|| format!("certificate {arn} does not exist"))?;
        let certificate = state
            .certificates
            .get(arn)
            .ok_or_else(|| format!("certificate {arn} does not exist"))?;
        Ok::<_, String>((compiled.key.clone(), names_of(certificate)))
    };
    let mut set = Vec::with_capacity(listener.sni_certificates.len() + 1);
    let default = match (&listener.certificate, &listener.tls) {
        (Some(arn), _) => {
            let (key, names) = stored(arn)?;
            set.push((key.clone(), names));
            key
        }
        // Files carry no names burr has read: the default is still served to every client
        // that no SNI certificate matches.
        (None, Some(files)) => crate::tls::certified_key_from_files(files)?,
        (None, None) => return Err("the listener has no default certificate".into()),
    };
    for arn in &listener.sni_certificates {
        set.push(stored(arn)?);
    }
    let table = Arc::new(SniTable::new(default, set));
    let slot = match previous {
        Some(p) => p.slot.clone(),
        None => Arc::new(SniSlot::new(table.clone())?),
    };
    Ok(CompiledSni { slot, table })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Arc<CertifiedKey> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let provider = rustls::crypto::ring::default_provider();
        Arc::new(CertifiedKey::from_der(vec![cert.der().clone()], der, &provider).unwrap())
    }

    #[test]
    fn exact_beats_wildcard_which_covers_one_label_and_anything_else_gets_the_default() {
        let (default, wild, exact, twin) = (
            key("d.example"),
            key("*.example.com"),
            key("a.example.com"),
            key("a.example.com"),
        );
        let table = SniTable::new(
            default.clone(),
            [
                (default.clone(), vec!["d.example"]),
                (wild.clone(), vec!["*.Example.com", "10.0.0.1"]),
                (exact.clone(), vec!["A.example.com"]),
                (twin, vec!["a.example.com"]),
            ],
        );
        let chose = |name: Option<&str>| table.choose(name).clone();
        for (name, want) in [
            (Some("a.example.com"), &exact),
            (Some("A.EXAMPLE.COM."), &exact),
            (Some("b.example.com"), &wild),
            (Some("x.y.example.com"), &default),
            (Some("example.com"), &default),
            (Some(".example.com"), &default),
            (Some("d.example"), &default),
            (Some("unknown.test"), &default),
            (Some("10.0.0.1"), &default),
            (None, &default),
        ] {
            assert!(Arc::ptr_eq(&chose(name), want), "{name:?}");
        }
    }
}
