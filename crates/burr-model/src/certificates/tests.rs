//! The certificate rules: what import, upload and request accept and refuse, ARN forms, regions,
//! and that a certificate in use cannot go.

use super::*;
use crate::classic::{ErrorCode, translate};
use crate::{Balancer, Listener, Pool, Protocol};
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519};

const NOW: u64 = 1_800_000_000;
const ACCOUNT: &str = "123456789012";

fn context(region: &'static str, seed: u8) -> CertContext<'static> {
    CertContext {
        account: ACCOUNT,
        region,
        now: NOW,
        fresh: [seed; 16],
    }
}

/// A self-signed certificate for `name` and its key, valid until `not_after` (UTC seconds).
fn self_signed(
    name: &str,
    alg: &'static rcgen::SignatureAlgorithm,
    not_after: i64,
) -> (String, String) {
    let key = KeyPair::generate_for(alg).unwrap();
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.not_before = time::OffsetDateTime::from_unix_timestamp(NOW as i64 - 86_400).unwrap();
    params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn p256(name: &str) -> (String, String) {
    self_signed(name, &PKCS_ECDSA_P256_SHA256, NOW as i64 + 365 * 86_400)
}

fn import(
    state: &mut State,
    region: &'static str,
    seed: u8,
    cert: &str,
    key: &str,
) -> Result<String, CertError> {
    import_certificate(
        state,
        context(region, seed),
        None,
        cert.as_bytes(),
        key.as_bytes(),
        None,
        &[],
    )
}

#[test]
fn an_ecdsa_certificate_imports_with_its_facts_and_an_acm_arn() {
    let mut state = State::default();
    let (cert, key) = p256("www.example.com");
    let arn = import(&mut state, "eu-west-1", 7, &cert, &key).unwrap();
    assert!(
        arn.starts_with("arn:aws:acm:eu-west-1:123456789012:certificate/"),
        "{arn}"
    );
    let id = arn.rsplit('/').next().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.as_bytes()[14], b'4', "a version 4 UUID: {id}");
    let stored = &state.certificates[&arn];
    assert_eq!(stored.details.domain_name, "www.example.com");
    assert_eq!(stored.details.key_algorithm, "EC_prime256v1");
    assert_eq!(stored.details.signature_algorithm, "SHA256WITHECDSA");
    assert_eq!(stored.region(), Some("eu-west-1"));
    assert!(stored.private_key.0.contains("PRIVATE KEY"));
}

#[test]
fn an_rsa_2048_certificate_imports_with_its_names() {
    let mut state = State::default();
    let arn = import(
        &mut state,
        "us-east-1",
        1,
        include_str!("testdata/rsa2048.crt"),
        include_str!("testdata/rsa2048.key"),
    )
    .unwrap();
    let d = &state.certificates[&arn].details;
    assert_eq!(d.key_algorithm, "RSA_2048");
    assert_eq!(d.domain_name, "rsa.example.com");
    assert_eq!(
        d.subject_alternative_names,
        ["rsa.example.com", "www.rsa.example.com"]
    );
}

fn refused(result: Result<String, CertError>, kind: CertErrorKind, names: &str) -> String {
    let error = result.unwrap_err();
    assert_eq!(error.kind, kind, "{error}");
    assert!(error.message.contains(names), "{error}");
    error.message
}

#[test]
fn malformed_pem_is_refused_naming_the_field_and_nothing_is_stored() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    refused(
        import(&mut state, "us-east-1", 1, "not a certificate", &key),
        CertErrorKind::Malformed,
        "Certificate: holds no PEM CERTIFICATE block",
    );
    let garbled = cert.replace("MII", "XXX").replacen('A', "!", 3);
    let message = refused(
        import(&mut state, "us-east-1", 1, &garbled, &key),
        CertErrorKind::Malformed,
        "Certificate",
    );
    assert!(!message.contains("PRIVATE"), "{message}");
    refused(
        import(&mut state, "us-east-1", 1, &cert, "-----BEGIN NOTHING-----"),
        CertErrorKind::Malformed,
        "PrivateKey: holds no readable PEM private key",
    );
    let two = format!("{cert}{cert}");
    refused(
        import(&mut state, "us-east-1", 1, &two, &key),
        CertErrorKind::Malformed,
        "holds 2 certificates",
    );
    assert!(state.certificates.is_empty());
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let mut state = State::default();
    let (cert, _) = p256("a.example.com");
    let (_, other_key) = p256("b.example.com");
    refused(
        import(&mut state, "us-east-1", 1, &cert, &other_key),
        CertErrorKind::KeyMismatch,
        "PrivateKey: the private key does not match the public key of the certificate",
    );
    // An RSA key for an ECDSA certificate.
    refused(
        import(
            &mut state,
            "us-east-1",
            1,
            &cert,
            include_str!("testdata/rsa2048.key"),
        ),
        CertErrorKind::KeyMismatch,
        "does not match",
    );
    assert!(state.certificates.is_empty());
}

#[test]
fn an_expired_certificate_is_refused() {
    let mut state = State::default();
    let (cert, key) = self_signed("old.example.com", &PKCS_ECDSA_P256_SHA256, NOW as i64 - 1);
    refused(
        import(&mut state, "us-east-1", 1, &cert, &key),
        CertErrorKind::Expired,
        "Certificate: the certificate expired at",
    );
    // One second later than now is still valid.
    let (cert, key) = self_signed("new.example.com", &PKCS_ECDSA_P256_SHA256, NOW as i64 + 1);
    import(&mut state, "us-east-1", 1, &cert, &key).unwrap();
}

#[test]
fn unsupported_key_types_are_refused_by_name() {
    let mut state = State::default();
    let (cert, key) = self_signed("ed.example.com", &PKCS_ED25519, NOW as i64 + 86_400);
    refused(
        import(&mut state, "us-east-1", 1, &cert, &key),
        CertErrorKind::UnsupportedKey,
        "is Ed25519",
    );
    refused(
        import(
            &mut state,
            "us-east-1",
            1,
            include_str!("testdata/rsa1024.crt"),
            include_str!("testdata/rsa1024.key"),
        ),
        CertErrorKind::UnsupportedKey,
        "RSA of 1024 bits",
    );
    refused(
        import(
            &mut state,
            "us-east-1",
            1,
            include_str!("testdata/p521.crt"),
            include_str!("testdata/p521.key"),
        ),
        CertErrorKind::UnsupportedKey,
        "ECDSA on P-521",
    );
    assert!(state.certificates.is_empty());
}

#[test]
fn reimport_replaces_in_place_keeps_tags_and_refuses_new_tags() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let tag = Tag {
        key: "team".into(),
        value: Some("web".into()),
    };
    let arn = import_certificate(
        &mut state,
        context("us-east-1", 1),
        None,
        cert.as_bytes(),
        key.as_bytes(),
        None,
        std::slice::from_ref(&tag),
    )
    .unwrap();
    let (cert2, key2) = p256("b.example.com");
    let refusal = import_certificate(
        &mut state,
        context("us-east-1", 2),
        Some(&arn),
        cert2.as_bytes(),
        key2.as_bytes(),
        None,
        std::slice::from_ref(&tag),
    )
    .unwrap_err();
    assert_eq!(refusal.kind, CertErrorKind::InvalidParameter);
    assert!(refusal.message.starts_with("Tags:"), "{refusal}");
    let again = import_certificate(
        &mut state,
        context("us-east-1", 2),
        Some(&arn),
        cert2.as_bytes(),
        key2.as_bytes(),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(again, arn);
    assert_eq!(state.certificates.len(), 1);
    assert_eq!(
        state.certificates[&arn].details.domain_name,
        "b.example.com"
    );
    assert_eq!(state.certificates[&arn].tags, [tag]);
    // Re-import into an ARN of another region is not found.
    let other = arn.replace("us-east-1", "eu-west-1");
    let e = import_certificate(
        &mut state,
        context("eu-west-1", 3),
        Some(&other),
        cert2.as_bytes(),
        key2.as_bytes(),
        None,
        &[],
    )
    .unwrap_err();
    assert_eq!(e.kind, CertErrorKind::NotFound);
}

#[test]
fn acm_certificates_belong_to_their_region() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let arn = import(&mut state, "eu-west-1", 1, &cert, &key).unwrap();
    assert_eq!(list_acm(&state, "eu-west-1").len(), 1);
    assert!(list_acm(&state, "us-east-1").is_empty());
    assert_eq!(
        acm_certificate(&state, "us-east-1", &arn).unwrap_err().kind,
        CertErrorKind::NotFound
    );
    assert_eq!(
        acm_certificate(&state, "us-east-1", "arn:aws:s3:::bucket")
            .unwrap_err()
            .kind,
        CertErrorKind::InvalidArn
    );
}

fn https_balancer(state: &mut State, key: &str, arn: &str) {
    let mut pool = Pool::new("p");
    pool.origin = crate::Origin::Api;
    state.pools.insert("p".into(), pool);
    let mut balancer = Balancer::new(key.rsplit('/').next().unwrap());
    let mut listener = Listener::new(443, Protocol::Https, "p");
    name_listener_certificate(&mut listener, arn);
    balancer.listeners.push(listener);
    state.balancers.insert(key.to_string(), balancer);
}

#[test]
fn a_certificate_in_use_cannot_be_deleted_and_an_unknown_arn_is_certificate_not_found() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let arn = import(&mut state, "us-east-1", 1, &cert, &key).unwrap();
    https_balancer(&mut state, "web", &arn);
    assert_eq!(state.validate(None), Ok(()));
    let e = delete_certificate(&mut state, "us-east-1", &arn).unwrap_err();
    assert_eq!(e.kind, CertErrorKind::InUse);
    assert!(e.message.contains("'web'"), "{e}");
    assert!(state.certificates.contains_key(&arn));

    state.balancers.clear();
    delete_certificate(&mut state, "us-east-1", &arn).unwrap();
    https_balancer(&mut state, "web", &arn);
    let errors = state.validate(None).unwrap_err();
    assert_eq!(errors[0].path.leaf_field(), Some("certificate"));
    let classic = translate(&errors[0]);
    assert_eq!(classic.code, ErrorCode::CertificateNotFound);
    assert!(
        classic.message.starts_with("SSLCertificateId:"),
        "{classic}"
    );
}

#[test]
fn a_balancer_uses_acm_certificates_of_its_region_and_any_iam_one() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let eu = import(&mut state, "eu-west-1", 1, &cert, &key).unwrap();
    https_balancer(&mut state, "web", &eu);
    let errors = state.validate(None).unwrap_err();
    assert!(errors[0].rule.contains("region eu-west-1"), "{}", errors[0]);
    state.balancers.clear();
    https_balancer(&mut state, "eu-west-1/web", &eu);
    assert_eq!(state.validate(None), Ok(()));
    let iam = upload_server_certificate(
        &mut state,
        context("us-east-1", 2),
        "site",
        None,
        &cert,
        &key,
        None,
        &[],
    )
    .unwrap();
    state.balancers.clear();
    https_balancer(&mut state, "eu-west-1/web", &iam);
    assert_eq!(state.validate(None), Ok(()));
}

#[test]
fn iam_certificates_have_global_arns_with_their_path_and_unique_names() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let arn = upload_server_certificate(
        &mut state,
        context("eu-west-1", 1),
        "site",
        Some("/cloudfront/test/"),
        &cert,
        &key,
        None,
        &[],
    )
    .unwrap();
    assert_eq!(
        arn,
        "arn:aws:iam::123456789012:server-certificate/cloudfront/test/site"
    );
    let Source::Iam { id, .. } = &state.certificates[&arn].source else {
        panic!("not IAM");
    };
    assert!(id.starts_with("ASCA") && id.len() == 21, "{id}");
    let dup = upload_server_certificate(
        &mut state,
        context("eu-west-1", 2),
        "site",
        None,
        &cert,
        &key,
        None,
        &[],
    );
    assert_eq!(dup.unwrap_err().kind, CertErrorKind::AlreadyExists);
    for (name, path) in [("bad name", "/"), ("ok", "nopath"), ("ok", "/a")] {
        let e = upload_server_certificate(
            &mut state,
            context("eu-west-1", 3),
            name,
            Some(path),
            &cert,
            &key,
            None,
            &[],
        )
        .unwrap_err();
        assert_eq!(e.kind, CertErrorKind::Validation, "{e}");
    }
    // Rename: listeners follow the new ARN; deletion is refused while in use.
    https_balancer(&mut state, "web", &arn);
    update_server_certificate(&mut state, ACCOUNT, "site", Some("site2"), Some("/")).unwrap();
    let new_arn = "arn:aws:iam::123456789012:server-certificate/site2";
    assert!(state.certificates.contains_key(new_arn));
    assert_eq!(
        state.balancers["web"].listeners[0].certificate.as_deref(),
        Some(new_arn)
    );
    assert_eq!(state.validate(None), Ok(()));
    let e = delete_server_certificate(&mut state, ACCOUNT, "site2").unwrap_err();
    assert_eq!(e.kind, CertErrorKind::InUse);
    // IAM's wording, which Terraform waits on before it retries.
    assert!(
        e.message.contains(
            "is currently in use by arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/web"
        ),
        "{}",
        e.message
    );
    state.balancers.clear();
    delete_server_certificate(&mut state, ACCOUNT, "site2").unwrap();
    assert_eq!(
        delete_server_certificate(&mut state, ACCOUNT, "site2")
            .unwrap_err()
            .kind,
        CertErrorKind::NotFound
    );
}

#[test]
fn a_requested_certificate_is_issued_by_the_local_authority_and_verifies_against_its_root() {
    let mut state = State::default();
    let arn = request_certificate(
        &mut state,
        context("us-east-1", 9),
        "app.example.com",
        &[
            "www.app.example.com".to_string(),
            "*.api.example.com".to_string(),
        ],
        Some("DNS"),
        &[],
    )
    .unwrap();
    let authority = state
        .certificate_authority
        .clone()
        .expect("made on first use");
    let issued = &state.certificates[&arn];
    assert_eq!(issued.details.key_algorithm, "EC_prime256v1");
    assert_eq!(
        issued.details.subject_alternative_names,
        [
            "app.example.com",
            "www.app.example.com",
            "*.api.example.com"
        ]
    );
    assert!(
        issued
            .details
            .issuer
            .contains("burr local certificate authority")
    );
    // A client trusting only the root accepts the certificate for each of its names.
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(authority.certificate_pem.as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        std::sync::Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap();
    let leaf = CertificateDer::from_pem_slice(issued.certificate_pem.as_bytes()).unwrap();
    let when = UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW + 60));
    for name in [
        "app.example.com",
        "www.app.example.com",
        "x.api.example.com",
    ] {
        verifier
            .verify_server_cert(&leaf, &[], &ServerName::try_from(name).unwrap(), &[], when)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(
        verifier
            .verify_server_cert(
                &leaf,
                &[],
                &ServerName::try_from("evil.example.com").unwrap(),
                &[],
                when
            )
            .is_err()
    );
    // A second request reuses the same authority.
    request_certificate(
        &mut state,
        context("us-east-1", 10),
        "b.example.com",
        &[],
        None,
        &[],
    )
    .unwrap();
    assert_eq!(state.certificate_authority, Some(authority));
    // Bad domain names are refused naming the field.
    let e = request_certificate(
        &mut state,
        context("us-east-1", 11),
        "localhost",
        &[],
        None,
        &[],
    )
    .unwrap_err();
    assert_eq!(e.kind, CertErrorKind::Validation);
    assert!(e.message.starts_with("DomainName:"), "{e}");
}

#[test]
fn private_keys_are_neither_printed_nor_serialised() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let arn = import(&mut state, "us-east-1", 1, &cert, &key).unwrap();
    let stored = &state.certificates[&arn];
    let secret_line = stored.private_key.0.lines().nth(1).unwrap().to_string();
    let debug = format!("{state:?}");
    assert!(!debug.contains(&secret_line), "Debug shows the key");
    assert!(debug.contains("<redacted>"));
    let json = serde_json::to_string(stored).unwrap();
    assert!(!json.contains(&secret_line), "serialised with the key");
}

fn listener(state: &mut State) -> &mut Listener {
    &mut state.balancers.get_mut("web").unwrap().listeners[0]
}

#[test]
fn sni_certificates_must_be_held_of_the_region_unique_and_on_tls_listeners_only() {
    let mut state = State::default();
    let (cert, key) = p256("a.example.com");
    let default = import(&mut state, "us-east-1", 1, &cert, &key).unwrap();
    let (cert, key) = p256("b.example.com");
    let b = import(&mut state, "us-east-1", 2, &cert, &key).unwrap();
    let (cert, key) = p256("c.example.com");
    let eu = import(&mut state, "eu-west-1", 3, &cert, &key).unwrap();
    https_balancer(&mut state, "web", &default);
    listener(&mut state).sni_certificates = vec![b.clone()];
    assert_eq!(state.validate(None), Ok(()));
    // In use through SNI: not deletable.
    let e = delete_certificate(&mut state, "us-east-1", &b).unwrap_err();
    assert_eq!(e.kind, CertErrorKind::InUse);

    let missing = b.replace(&b[b.len() - 4..], "0000");
    listener(&mut state).sni_certificates =
        vec![b.clone(), eu.clone(), b.clone(), default.clone(), missing];
    let errors = state.validate(None).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let at = |i: usize| format!("sni_certificates[{i}]");
    assert!(
        text.iter()
            .any(|t| t.contains(&at(1)) && t.contains("region eu-west-1")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains(&at(2)) && t.contains("listed twice")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains(&at(3)) && t.contains("listed twice")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains(&at(4)) && t.contains("names no certificate")),
        "{text:?}"
    );
    assert_eq!(errors.len(), 4, "{text:?}");

    listener(&mut state).sni_certificates = vec![b.clone(); 26];
    let errors = state.validate(None).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.value == "26 certificates" && e.rule.contains("between 0 and 25")),
        "{errors:?}"
    );

    let l = listener(&mut state);
    l.sni_certificates = vec![b.clone()];
    l.protocol = Protocol::Http;
    l.certificate = None;
    let errors = state.validate(None).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.path.leaf_field() == Some("sni_certificates")
                && e.rule.contains("only https and ssl")),
        "{errors:?}"
    );
}
