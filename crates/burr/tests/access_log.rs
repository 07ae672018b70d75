//! The access log of the real binary: Classic ELB and ALB lines split with the regular
//! expressions of AWS's Athena table definitions (the reference grammar of each format) and every
//! field checked against what the test sent; reopening on SIGHUP after a logrotate-style move;
//! rotation by size; the written/dropped/rotation counters; the flags' errors.

mod common;

use common::log_file::{file_lines, wait_lines};
use common::*;
use regex::Regex;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Athena's `elb_logs` (Classic Load Balancer) `input.regex`, anchored.
const CLASSIC: &str = concat!(
    r#"^([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) "#,
    r#"(|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) ([^ ]*) (- |[^ ]*)" ("[^"]*") "#,
    r#"([A-Z0-9-]+) ([A-Za-z0-9.-]*)$"#
);

/// Athena's `alb_access_logs` `input.regex`, anchored; group 35 holds any fields AWS might
/// append later (burr writes none).
const ALB: &str = concat!(
    r#"^([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) "#,
    r#"([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) (.*) (- |[^ ]*)" "#,
    r#""([^"]*)" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^"]*)" "#,
    r#"([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^ ]*)" "([^ ]+?)" "([^ ]+)" "([^ ]*)" "#,
    r#""([^ ]*)" ?([^ ]*)?( .*)?$"#
);

/// ISO 8601 UTC with microseconds, as ELB writes its times.
const ISO_MICROS: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$";

/// What one request sent and got, measured on the client's socket.
struct Exchange {
    client: SocketAddr,
    request: Vec<u8>,
    response: Vec<u8>,
}

/// Sends `request` on a fresh connection (it asks to close) and reads the whole response.
async fn exchange(port: u16, request: String) -> Exchange {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let client = stream.local_addr().unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("response within 10 s")
        .unwrap();
    Exchange {
        client,
        request: request.into_bytes(),
        response,
    }
}

fn request(path: &str, user_agent: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: shop.test:9999\r\nUser-Agent: {user_agent}\r\n\
         Connection: close\r\n\r\n"
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    backend: Backend,
    burr: Burr,
    port: u16,
    log: PathBuf,
}

async fn start(extra: &[&str]) -> Setup {
    let backend = Backend::start("b1", Behavior::default()).await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut args = vec!["--access-log", log.to_str().unwrap()];
    args.extend_from_slice(extra);
    let burr = Burr::try_start(
        &config(port, "round_robin", &[(backend.addr, 1)], "", ""),
        &args,
    )
    .unwrap_or_else(|e| panic!("burr did not start: {e}"));
    Setup {
        _dir: dir,
        backend,
        burr,
        port,
        log,
    }
}

fn status_of(response: &[u8]) -> u16 {
    String::from_utf8_lossy(&response[9..12]).parse().unwrap()
}

/// One request through a `classic` listener: what is true on every branch today.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_lines_split_by_aws_grammar_and_name_client_target_and_request() {
    let s = start(&["--access-log-format", "classic"]).await;
    let sent = exchange(s.port, request("/shop/item?id=7", "burr-test/1.0")).await;
    assert_eq!(status_of(&sent.response), 200);
    let line = wait_lines(&s.log, 1).await.remove(0);
    let f = Regex::new(CLASSIC)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    assert!(Regex::new(ISO_MICROS).unwrap().is_match(&f[1]), "{line}");
    assert_eq!(&f[2], "t");
    assert_eq!(f[3].parse::<std::net::IpAddr>().unwrap(), sent.client.ip());
    assert_eq!(f[4].parse::<u16>().unwrap(), sent.client.port());
    assert_eq!(
        f[5].parse::<std::net::IpAddr>().unwrap(),
        s.backend.addr.ip()
    );
    assert_eq!(f[6].parse::<u16>().unwrap(), s.backend.addr.port());
    assert_eq!(&f[10], "200");
    assert_eq!(&f[14], "GET");
    assert!(
        f[15].ends_with(&format!(":{}/shop/item?id=7", s.port)),
        "{line}"
    );
    assert_eq!(&f[16], "HTTP/1.1");
    assert_eq!((&f[18], &f[19]), ("-", "-"), "plain HTTP has no TLS");
    drop(s.burr);
}

/// Every Classic field against what the client sent and got. Needs the request paths to fill
/// the record in full (the `reqpath` branch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_fields_match_what_the_client_sent_and_got() {
    let s = start(&["--access-log-format", "classic"]).await;
    let sent = exchange(s.port, request("/shop/item?id=7", "burr-test/1.0 (x)")).await;
    let line = wait_lines(&s.log, 1).await.remove(0);
    let f = Regex::new(CLASSIC)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    for (group, step) in [(7, "request"), (8, "backend"), (9, "response")] {
        let seconds: f64 = f[group].parse().unwrap();
        assert!(
            (0.0..10.0).contains(&seconds),
            "{step} time {seconds}: {line}"
        );
    }
    assert_eq!(&f[11], "200", "backend status: {line}");
    assert_eq!(
        f[12].parse::<usize>().unwrap(),
        sent.request.len(),
        "{line}"
    );
    assert_eq!(
        f[13].parse::<usize>().unwrap(),
        sent.response.len(),
        "{line}"
    );
    assert_eq!(
        &f[15],
        format!("http://shop.test:{}/shop/item?id=7", s.port),
        "{line}"
    );
    assert_eq!(&f[17], "\"burr-test/1.0 (x)\"");
}

/// One request through an `alb` listener: every field AWS lists, in order, by Athena's regex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_lines_split_by_aws_grammar_with_every_field() {
    let s = start(&["--access-log-format", "alb"]).await;
    let sent = exchange(s.port, request("/a?b=c", "burr-test/1.0")).await;
    assert_eq!(status_of(&sent.response), 200);
    let line = wait_lines(&s.log, 1).await.remove(0);
    let f = Regex::new(ALB)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    let iso = Regex::new(ISO_MICROS).unwrap();
    assert_eq!(&f[1], "http");
    assert!(iso.is_match(&f[2]), "time: {line}");
    assert_eq!(
        &f[3], "t",
        "a balancer made outside the ELBv2 API has no id"
    );
    assert_eq!(f[4].parse::<std::net::IpAddr>().unwrap(), sent.client.ip());
    assert_eq!(f[5].parse::<u16>().unwrap(), sent.client.port());
    assert_eq!(
        f[6].parse::<std::net::IpAddr>().unwrap(),
        s.backend.addr.ip()
    );
    assert_eq!(f[7].parse::<u16>().unwrap(), s.backend.addr.port());
    assert_eq!(&f[11], "200");
    assert_eq!(&f[15], "GET");
    assert!(f[16].ends_with(&format!(":{}/a?b=c", s.port)), "{line}");
    assert_eq!(&f[17], "HTTP/1.1");
    assert_eq!((&f[19], &f[20]), ("-", "-"), "plain HTTP has no TLS");
    assert_eq!(&f[21], "-", "the pool is no ELBv2 target group");
    assert_eq!(&f[22], "-", "trace id");
    assert_eq!(&f[23], "-", "no SNI on plain HTTP");
    assert_eq!(&f[24], "-", "no certificate on plain HTTP");
    assert_eq!(&f[25], "0", "the default action is logged as priority 0");
    assert!(iso.is_match(&f[26]), "request_creation_time: {line}");
    assert!(
        f[26] <= f[2],
        "the request arrived before the response left: {line}"
    );
    assert_eq!(&f[27], "forward");
    assert_eq!(&f[28], "-", "redirect url");
    assert_eq!(&f[29], "-", "error reason");
    assert_eq!(&f[30], s.backend.addr.to_string(), "target:port_list");
    assert_eq!((&f[32], &f[33], &f[34]), ("-", "-", "-"));
    assert!(f.get(35).is_none(), "no fields beyond AWS's: {line}");
}

/// Every ALB field that depends on the request paths filling the record (the `reqpath`
/// branch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_fields_match_what_the_client_sent_and_got() {
    let s = start(&["--access-log-format", "alb"]).await;
    let sent = exchange(s.port, request("/a?b=c", "burr-test/1.0 (x)")).await;
    let line = wait_lines(&s.log, 1).await.remove(0);
    let f = Regex::new(ALB)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    for (group, step) in [(8, "request"), (9, "target"), (10, "response")] {
        let seconds: f64 = f[group].parse().unwrap();
        assert!(
            (0.0..10.0).contains(&seconds),
            "{step} time {seconds}: {line}"
        );
    }
    assert_eq!(&f[12], "200", "target status: {line}");
    assert_eq!(
        f[13].parse::<usize>().unwrap(),
        sent.request.len(),
        "{line}"
    );
    assert_eq!(
        f[14].parse::<usize>().unwrap(),
        sent.response.len(),
        "{line}"
    );
    assert_eq!(&f[16], format!("http://shop.test:{}/a?b=c", s.port));
    assert_eq!(&f[18], "burr-test/1.0 (x)");
    assert_eq!(&f[31], "200", "target_status_code_list");
}

/// logrotate's move-then-HUP: lines written before the signal stay in the moved file, lines
/// after it go to a new file at the path, none lost or written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reopens_the_file_after_a_move_losing_and_repeating_nothing() {
    let s = start(&["--access-log-format", "alb"]).await;
    let mut sent = Vec::new();
    for n in 0..5 {
        let path = format!("/before-{n}");
        assert_eq!(
            status_of(&exchange(s.port, request(&path, "t")).await.response),
            200
        );
        sent.push(path);
    }
    wait_lines(&s.log, 5).await;
    let moved = s.log.with_extension("log.1");
    std::fs::rename(&s.log, &moved).unwrap();
    unsafe {
        libc::kill(s.burr.pid(), libc::SIGHUP);
    }
    // The signal is handled a moment later: requests until one lands in the new file.
    let mut reopened = false;
    for n in 0..200 {
        let path = format!("/during-{n}");
        exchange(s.port, request(&path, "t")).await;
        sent.push(path);
        if eventually(Duration::from_millis(100), || {
            s.log.exists() && !file_lines(&s.log).is_empty()
        })
        .await
        {
            reopened = true;
            break;
        }
    }
    assert!(
        reopened,
        "no new file after SIGHUP: {}",
        s.burr.stderr_text()
    );
    for n in 0..3 {
        let path = format!("/after-{n}");
        exchange(s.port, request(&path, "t")).await;
        sent.push(path);
    }
    let path_of = |line: &String| {
        let url = line.split('"').nth(1).unwrap().split(' ').nth(1).unwrap();
        url.rsplit_once(&format!(":{}", s.port))
            .unwrap()
            .1
            .to_string()
    };
    let arrived = eventually(Duration::from_secs(10), || {
        file_lines(&moved).len() + file_lines(&s.log).len() == sent.len()
    })
    .await;
    let old: Vec<String> = file_lines(&moved).iter().map(path_of).collect();
    let new: Vec<String> = file_lines(&s.log).iter().map(path_of).collect();
    assert!(arrived, "old {old:?} new {new:?} sent {sent:?}");
    let mut all = old.clone();
    all.extend(new.iter().cloned());
    all.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(all, expected, "every request logged exactly once");
    assert!(old.iter().take(5).all(|p| p.starts_with("/before-")));
    assert!(new.iter().rev().take(3).all(|p| p.starts_with("/after-")));
}

/// `--access-log-max-bytes`: no file passes the size, `--access-log-keep` files are kept, the
/// newest lines are in them in order, and `/metrics` counts lines and rotations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_by_size_keeps_files_under_the_limit_and_counts() {
    const REQUESTS: usize = 40;
    let s = start(&["--access-log-max-bytes", "1024", "--access-log-keep", "2"]).await;
    for n in 0..REQUESTS {
        exchange(s.port, request(&format!("/r{n:02}"), "t")).await;
    }
    let written = "burr_access_log_records_total{result=\"written\"}";
    let done = eventually(Duration::from_secs(10), || {
        metric(&s.burr.metrics(), written) == Some(REQUESTS as f64)
    })
    .await;
    assert!(done, "{}", s.burr.metrics());
    let numbered = |n: u32| PathBuf::from(format!("{}.{n}", s.log.display()));
    let mut kept = Vec::new();
    for path in [numbered(2), numbered(1), s.log.clone()] {
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 1024, "{} has {size} bytes", path.display());
        kept.extend(file_lines(&path));
    }
    assert!(!numbered(3).exists(), "only 2 rotated files are kept");
    // burr's own lines: the path is the 5th space-separated field.
    let paths: Vec<String> = kept
        .iter()
        .map(|l| l.split(' ').nth(4).unwrap().to_string())
        .collect();
    let newest: Vec<String> = (REQUESTS - paths.len()..REQUESTS)
        .map(|n| format!("/r{n:02}"))
        .collect();
    assert_eq!(
        paths, newest,
        "the newest lines, in order, none lost in between"
    );
    let rotations = metric(&s.burr.metrics(), "burr_access_log_rotations_total").unwrap();
    assert!(rotations >= 2.0, "{rotations}");
    assert_eq!(
        metric(
            &s.burr.metrics(),
            "burr_access_log_records_total{result=\"dropped\"}"
        ),
        Some(0.0)
    );
}

/// Flag errors name the flag, the value and what is allowed.
#[test]
fn bad_access_log_flags_are_refused_with_the_flag_value_and_range() {
    let target = "127.0.0.1:9".parse().unwrap();
    let config = config(free_port(), "round_robin", &[(target, 1)], "", "");
    let refused = |args: &[&str]| match Burr::try_start(&config, args) {
        Ok(_) => panic!("{args:?} was accepted"),
        Err(message) => message,
    };
    let m = refused(&["--access-log", "/dev/null", "--access-log-keep", "0"]);
    assert!(
        m.contains("--access-log-keep") && m.contains("0") && m.contains("1..=1000"),
        "{m}"
    );
    let m = refused(&["--access-log", "/dev/null", "--access-log-max-bytes", "10"]);
    assert!(
        m.contains("--access-log-max-bytes") && m.contains("1024"),
        "{m}"
    );
    let m = refused(&["--access-log", "/dev/null", "--access-log-format", "elb"]);
    assert!(m.contains("elb") && m.contains("classic, alb, burr"), "{m}");
    let m = refused(&["--access-log", "-", "--access-log-max-bytes", "4096"]);
    assert!(
        m.contains("--access-log-max-bytes 4096") && m.contains("standard output"),
        "{m}"
    );
    let m = refused(&["--access-log-format", "alb"]);
    assert!(m.contains("--access-log"), "{m}");
}

/// Calls an ELBv2 (2015-12-01) action; panics unless it answers 200. The answer's body.
fn v2(burr: &Burr, action: &str, params: &[(&str, &str)]) -> String {
    use std::io::{Read, Write};
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", action)
        .append_pair("Version", "2015-12-01")
        .extend_pairs(params.iter().copied())
        .finish();
    let raw = common::api::signed_post(burr.api, &common::api::api_credentials(burr), "", &body);
    let mut stream = std::net::TcpStream::connect(burr.api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = raw;
    // Ask to close so the answer ends with the connection.
    if let Some(at) = find(&raw, b"\r\n") {
        raw.splice(at + 2..at + 2, b"Connection: close\r\n".iter().copied());
    }
    stream.write_all(&raw).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{action}: {answer}");
    answer
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The text of the first `<tag>` element.
fn element<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

/// An ALB made through the ELBv2 API, forwarding to one target group; one request through it.
/// The `alb` line (split by Athena's regex) and the ARNs the API gave.
async fn alb_line_through_the_elbv2_api() -> (String, String, String) {
    let backend = Backend::start("b1", Behavior::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let burr = Burr::try_start(
        "",
        &[
            "--access-log",
            log.to_str().unwrap(),
            "--access-log-format",
            "alb",
        ],
    )
    .unwrap();
    let created = v2(
        &burr,
        "CreateLoadBalancer",
        &[("Name", "web"), ("Subnets.member.1", "subnet-1")],
    );
    let balancer_arn = element(&created, "LoadBalancerArn").to_string();
    let address: std::net::IpAddr = element(&created, "DNSName").parse().unwrap();
    let backend_port = backend.addr.port().to_string();
    let group = v2(
        &burr,
        "CreateTargetGroup",
        &[
            ("Name", "shop"),
            ("Protocol", "HTTP"),
            ("Port", &backend_port),
            ("TargetType", "ip"),
            ("VpcId", "vpc-1"),
        ],
    );
    let group_arn = element(&group, "TargetGroupArn").to_string();
    v2(
        &burr,
        "RegisterTargets",
        &[
            ("TargetGroupArn", &group_arn),
            ("Targets.member.1.Id", "127.0.0.1"),
            ("Targets.member.1.Port", &backend_port),
        ],
    );
    let port = free_port().to_string();
    v2(
        &burr,
        "CreateListener",
        &[
            ("LoadBalancerArn", &balancer_arn),
            ("Protocol", "HTTP"),
            ("Port", &port),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", &group_arn),
        ],
    );
    let mut stream = tokio::net::TcpStream::connect((address, port.parse::<u16>().unwrap()))
        .await
        .unwrap();
    stream
        .write_all(request("/", "t").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status_of(&response),
        200,
        "{}",
        String::from_utf8_lossy(&response)
    );
    let line = wait_lines(&log, 1).await.remove(0);
    drop(burr);
    (line, balancer_arn, group_arn)
}

/// ALB's `elb` field is the balancer's `app/<name>/<id>`, the id ending its ARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_lines_name_an_elbv2_balancer_as_its_arn_does() {
    let (line, balancer_arn, _) = alb_line_through_the_elbv2_api().await;
    let f = Regex::new(ALB)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    let (_, resource) = balancer_arn.split_once(":loadbalancer/").unwrap();
    assert_eq!(&f[3], resource, "{line}");
    assert!(f[3].starts_with("app/web/"), "{line}");
}

/// `target_group_arn` is the ARN the API gave the target group (needs the request paths to
/// record the pool: the `reqpath` branch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_lines_carry_the_target_group_arn() {
    let (line, _, group_arn) = alb_line_through_the_elbv2_api().await;
    let f = Regex::new(ALB)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(&f[21], group_arn, "{line}");
}

/// On an HTTPS listener: `type` https, the cipher in OpenSSL's name and the protocol version of
/// the handshake the client made (TLS 1.2), the client's SNI as `domain_name`, and the request
/// URL with `https://` (needs the request paths to record TLS: the `reqpath` branch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_lines_on_https_name_the_tls_as_openssl_does() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(dir.path());
    let log = dir.path().join("access.log");
    let port = free_port();
    let listener = format!("tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}");
    let config = config(port, "round_robin", &[(backend.addr, 1)], &listener, "")
        .replace("protocol = \"http\"", "protocol = \"https\"");
    let _burr = Burr::try_start(
        &config,
        &[
            "--access-log",
            log.to_str().unwrap(),
            "--access-log-format",
            "alb",
        ],
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let suite = tls.get_ref().1.negotiated_cipher_suite().unwrap();
    tls.write_all(request("/secure", "t").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut response)).await;
    assert_eq!(status_of(&response), 200);
    let line = wait_lines(&log, 1).await.remove(0);
    let f = Regex::new(ALB)
        .unwrap()
        .captures(&line)
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(&f[1], "https");
    assert!(f[16].starts_with("https://"), "{line}");
    // rustls names TLS 1.2 suites TLS_ECDHE_…_WITH_…; OpenSSL ECDHE-…
    let iana = suite.suite().as_str().unwrap();
    assert!(iana.starts_with("TLS_ECDHE_"), "{iana}");
    assert!(
        f[19].starts_with("ECDHE-") && !f[19].contains('_'),
        "{iana} → {line}"
    );
    assert_eq!(&f[20], "TLSv1.2");
    assert_eq!(&f[23], "localhost", "SNI: {line}");
}
