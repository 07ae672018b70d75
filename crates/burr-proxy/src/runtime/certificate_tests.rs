//! A certificate named by ARN keeps its slot (and server configuration) across snapshots;
//! a replaced certificate reaches handshakes only once its runtime is published.

use super::*;
use burr_model::certificates::{CertContext, import_certificate};
use burr_model::{Listener, Pool};

fn self_signed(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

fn import(state: &mut State, arn: Option<&str>, name: &str) -> String {
    let (cert, key) = self_signed(name);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let context = CertContext {
        account: "123456789012",
        region: "us-east-1",
        now,
        fresh: [1; 16],
    };
    import_certificate(
        state,
        context,
        arn,
        cert.as_bytes(),
        key.as_bytes(),
        None,
        &[],
    )
    .unwrap()
}

fn context() -> CompileContext {
    CompileContext {
        listen_host: None,
        workers: 1,
        keys: Arc::new(ArcSwap::from_pointee(KeyRing::generate(0, [7; 32], 60))),
        clock: Clock::manual(),
    }
}

/// The DER of the certificate a client is shown by `config`, from an in-memory handshake.
fn served(config: &Arc<rustls::ServerConfig>) -> Vec<u8> {
    served_for(config, "a.example.com")
}

/// As [`served`], for a client sending the server name `sni`.
fn served_for(config: &Arc<rustls::ServerConfig>, sni: &str) -> Vec<u8> {
    let client_config = crate::tls::insecure_client_config();
    let mut client = rustls::ClientConnection::new(
        client_config,
        rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap(),
    )
    .unwrap();
    let mut server = rustls::ServerConnection::new(config.clone()).unwrap();
    for _ in 0..10 {
        let mut buf = Vec::new();
        client.write_tls(&mut buf).unwrap();
        server.read_tls(&mut &buf[..]).unwrap();
        server.process_new_packets().unwrap();
        let mut buf = Vec::new();
        server.write_tls(&mut buf).unwrap();
        client.read_tls(&mut &buf[..]).unwrap();
        client.process_new_packets().unwrap();
        if !client.is_handshaking() {
            break;
        }
    }
    client.peer_certificates().unwrap()[0].to_vec()
}

fn leaf_der(state: &State, arn: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(state.certificates[arn].certificate_pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[test]
fn a_replaced_certificate_keeps_its_slot_and_serves_once_published() {
    let mut state = State::default();
    let arn = import(&mut state, None, "a.example.com");
    state.pools.insert("p".into(), Pool::new("p"));
    let mut balancer = Balancer::new("web");
    let mut listener = Listener::new(8443, Protocol::Https, "p");
    listener.certificate = Some(arn.clone());
    balancer.listeners.push(listener);
    state.balancers.insert("web".into(), balancer);
    let first = Runtime::compile(&state, 1, &Runtime::default(), &context()).unwrap();
    first.publish_certificates();
    let tls = |r: &Runtime| r.listeners.values().next().unwrap().tls.clone().unwrap();
    assert_eq!(served(&tls(&first)), leaf_der(&state, &arn));

    let before = leaf_der(&state, &arn);
    import(&mut state, Some(&arn), "b.example.com");
    let second = Runtime::compile(&state, 2, &first, &context()).unwrap();
    assert!(
        Arc::ptr_eq(&tls(&first), &tls(&second)),
        "the listener keeps one server configuration across snapshots"
    );
    assert_eq!(
        served(&tls(&second)),
        before,
        "a compiled but uncommitted runtime must not change what clients see"
    );
    second.publish_certificates();
    assert_eq!(served(&tls(&first)), leaf_der(&state, &arn));
    assert_ne!(before, leaf_der(&state, &arn));
    // An unchanged certificate is not compiled again.
    let third = Runtime::compile(&state, 3, &second, &context()).unwrap();
    assert!(Arc::ptr_eq(
        &second.certificates[&arn].key,
        &third.certificates[&arn].key
    ));
}

#[test]
fn an_sni_listener_keeps_its_slot_and_a_replaced_certificate_serves_once_published() {
    let mut state = State::default();
    let default = import(&mut state, None, "default.example.com");
    let b = import(&mut state, None, "b.example.com");
    state.pools.insert("p".into(), Pool::new("p"));
    let mut balancer = Balancer::new("web");
    let mut listener = Listener::new(8443, Protocol::Ssl, "p");
    listener.certificate = Some(default.clone());
    listener.sni_certificates = vec![b.clone()];
    balancer.listeners.push(listener);
    state.balancers.insert("web".into(), balancer);
    let first = Runtime::compile(&state, 1, &Runtime::default(), &context()).unwrap();
    first.publish_certificates();
    let tls = |r: &Runtime| r.listeners.values().next().unwrap().tls.clone().unwrap();
    assert_eq!(
        served_for(&tls(&first), "b.example.com"),
        leaf_der(&state, &b)
    );
    assert_eq!(
        served_for(&tls(&first), "c.example.com"),
        leaf_der(&state, &default)
    );

    let before = leaf_der(&state, &b);
    import(&mut state, Some(&b), "b.example.com");
    let second = Runtime::compile(&state, 2, &first, &context()).unwrap();
    assert!(
        Arc::ptr_eq(&tls(&first), &tls(&second)),
        "one server configuration"
    );
    assert_eq!(
        served_for(&tls(&second), "b.example.com"),
        before,
        "a compiled but uncommitted runtime must not change what clients see"
    );
    second.publish_certificates();
    assert_eq!(
        served_for(&tls(&first), "b.example.com"),
        leaf_der(&state, &b)
    );
    assert_ne!(before, leaf_der(&state, &b));
}

/// A listener with a security policy keeps its narrowed configuration across snapshots (and
/// with it the TLS session cache), and a replaced certificate still reaches its handshakes.
#[test]
fn a_policy_listener_keeps_its_configuration_and_sees_a_replaced_certificate() {
    let mut state = State::default();
    let arn = import(&mut state, None, "a.example.com");
    state.pools.insert("p".into(), Pool::new("p"));
    let mut balancer = Balancer::new("web");
    let mut listener = Listener::new(8443, Protocol::Https, "p");
    listener.certificate = Some(arn.clone());
    listener.elbv2 = Some(burr_model::elbv2::V2Listener {
        id: "0123456789abcdef".into(),
        default_rule_id: "fedcba9876543210".into(),
        ssl_policy: Some("ELBSecurityPolicy-TLS13-1-3-2021-06".into()),
        alpn_policy: Vec::new(),
        attributes: Default::default(),
        tags: Default::default(),
        default_rule_tags: Default::default(),
    });
    balancer.listeners.push(listener);
    state.balancers.insert("web".into(), balancer);
    let first = Runtime::compile(&state, 1, &Runtime::default(), &context()).unwrap();
    first.publish_certificates();
    let tls = |r: &Runtime| r.listeners.values().next().unwrap().tls.clone().unwrap();
    assert_eq!(served(&tls(&first)), leaf_der(&state, &arn));
    assert_eq!(tls(&first).crypto_provider().cipher_suites.len(), 3);

    import(&mut state, Some(&arn), "b.example.com");
    let second = Runtime::compile(&state, 2, &first, &context()).unwrap();
    assert!(Arc::ptr_eq(&tls(&first), &tls(&second)));
    second.publish_certificates();
    assert_eq!(
        served_for(&tls(&second), "b.example.com"),
        leaf_der(&state, &arn)
    );
}
