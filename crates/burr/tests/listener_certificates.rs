//! Several certificates on one HTTPS listener (ALB `AddListenerCertificates`): certificates
//! imported through burr's ACM API, a listener naming one as its default and others in
//! `sni_certificates`, and real rustls clients that each send a different server name (or
//! none) and check which leaf certificate they were shown; then a re-import reaches new
//! handshakes without a restart.

mod common;

use common::api::acm_import;
use common::*;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;

/// A self-signed certificate for `names` and its key, PEM.
fn certificate(names: &[&str]) -> (String, String, CertificateDer<'static>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone())
}

/// The leaf certificate burr's `port` shows a client that sends `sni` (none when `None`).
async fn leaf_for(port: u16, sni: Option<&str>) -> CertificateDer<'static> {
    let mut config = accept_any_client_config();
    // Without SNI rustls sends no server_name extension only when told so; an IP address as
    // the server name is never sent as SNI.
    config.enable_sni = sni.is_some();
    let name = ServerName::try_from(sni.unwrap_or("127.0.0.1").to_string()).unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .expect("a handshake within 5 s")
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].clone()
}

fn https_config(port: u16, target: std::net::SocketAddr, default: &str, sni: &[&str]) -> String {
    let sni: Vec<String> = sni.iter().map(|a| format!("\"{a}\"")).collect();
    config(
        port,
        "round_robin",
        &[(target, 1)],
        &format!(
            "certificate = \"{default}\"\nsni_certificates = [{}]",
            sni.join(", ")
        ),
        "",
    )
    .replace("protocol = \"http\"", "protocol = \"https\"")
}

#[tokio::test]
async fn the_certificate_is_chosen_by_server_name_and_a_reimport_is_served_without_restart() {
    let backend = Backend::start("b", Behavior::default()).await;
    let port = free_port();
    let mut burr = Burr::start(&config(
        free_port(),
        "round_robin",
        &[(backend.addr, 1)],
        "",
        "",
    ));
    let (default_pem, default_key, default_der) = certificate(&["default.example"]);
    let (a_pem, a_key, a_der) = certificate(&["a.example"]);
    let (b_pem, b_key, b_der) = certificate(&["*.b.example", "b.example"]);
    let (exact_pem, exact_key, exact_der) = certificate(&["x.b.example"]);
    let default = acm_import(&burr, None, &default_pem, &default_key);
    let a = acm_import(&burr, None, &a_pem, &a_key);
    let b = acm_import(&burr, None, &b_pem, &b_key);
    let exact = acm_import(&burr, None, &exact_pem, &exact_key);
    burr.reload(&https_config(
        port,
        backend.addr,
        &default,
        &[&a, &b, &exact],
    ));

    for (sni, want) in [
        (Some("a.example"), &a_der),
        (Some("A.Example"), &a_der),
        (Some("b.example"), &b_der),
        (Some("www.b.example"), &b_der),
        // An exact name beats a wildcard listed before it.
        (Some("x.b.example"), &exact_der),
        // A wildcard covers one label only.
        (Some("y.x.b.example"), &default_der),
        (Some("unknown.example"), &default_der),
        (Some("default.example"), &default_der),
        (None, &default_der),
    ] {
        assert_eq!(&leaf_for(port, sni).await, want, "server name {sni:?}");
    }
    // The listener still serves requests over the chosen certificate.
    let answer = {
        let tls = tls_connect_with_sni(port, "a.example").await;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::get("/over-sni")
            .header("host", "a.example")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        collect(sender.send_request(req).await.unwrap()).await
    };
    assert_eq!(answer.status, 200);

    // Re-import a.example's ARN with a new certificate (a renewal): the next handshake
    // naming it sees the new one; the others are untouched; burr was not restarted.
    let pid = burr.pid();
    let (renewed_pem, renewed_key, renewed_der) = certificate(&["a.example", "a2.example"]);
    acm_import(&burr, Some(&a), &renewed_pem, &renewed_key);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while leaf_for(port, Some("a.example")).await != renewed_der {
        assert!(
            std::time::Instant::now() < deadline,
            "the renewal was never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(leaf_for(port, Some("a2.example")).await, renewed_der);
    assert_eq!(leaf_for(port, Some("b.example")).await, b_der);
    assert_eq!(leaf_for(port, None).await, default_der);
    assert_eq!(burr.pid(), pid);
    assert!(burr.is_running());
}

/// A TLS connection to burr's `port` naming `sni`, trusting anything.
async fn tls_connect_with_sni(
    port: u16,
    sni: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut config = accept_any_client_config();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    connector
        .connect(ServerName::try_from(sni.to_string()).unwrap(), tcp)
        .await
        .unwrap()
}
