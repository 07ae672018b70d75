//! CloudFront continuous deployment through the real binary: a primary distribution and its
//! staging copy (two loopback origins that answer their name), a policy splitting by weight
//! (with and without session stickiness) or by header, the session cookie
//! `x-amz-continuous-deployment-state` on burr's manual clock, the arm header, and a policy
//! disabled live on a kept-alive connection.

mod common;

use common::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

const PRIMARY: &str = "EPRIMARY00000A";
const STAGING: &str = "ESTAGING00000A";
const POLICY: &str = "9c1e2c4e-0000-4000-8000-00000000cafe";
const COOKIE: &str = "x-amz-continuous-deployment-state";

/// One distribution's TOML.
fn distribution(id: &str, address: &str, port: u16, origin: SocketAddr, extra: &str) -> String {
    format!(
        r#"
[[distribution]]
id = "{id}"
address = "{address}"
ports = {{ http = {port}, https = {https} }}
[distribution.config]
CallerReference = "{id}"
Enabled = true
Comment = ""
{extra}
[distribution.config.Origins]
Quantity = 1
Items = [ {{ Id = "web", DomainName = "127.0.0.1", CustomOriginConfig = {{ HTTPPort = {origin_port}, HTTPSPort = 443, OriginProtocolPolicy = "http-only" }} }} ]
[distribution.config.DefaultCacheBehavior]
TargetOriginId = "web"
ViewerProtocolPolicy = "allow-all"
"#,
        https = port + 1,
        origin_port = origin.port(),
    )
}

/// A primary on `port` reaching `primary`, a staging copy reaching `staging`, and the policy
/// (`policy`: its TOML keys besides id and staging names).
fn config(port: u16, primary: SocketAddr, staging: SocketAddr, policy: &str) -> String {
    let mut text = distribution(
        PRIMARY,
        "127.0.0.21",
        port,
        primary,
        &format!("ContinuousDeploymentPolicyId = \"{POLICY}\""),
    );
    text += &distribution(STAGING, "127.0.0.22", port, staging, "Staging = true");
    text += &format!(
        "\n[[deployment_policy]]\nid = \"{POLICY}\"\nstaging_dns_names = [\"127.0.0.22\"]\n{policy}\n"
    );
    text
}

fn weighted(weight: f64, idle: u32, max: u32) -> String {
    format!(
        "enabled = true\ntraffic = {{ single_weight = {{ weight = {weight}, session_stickiness = \
         {{ idle_ttl_secs = {idle}, maximum_ttl_secs = {max} }} }} }}"
    )
}

const HEADER_POLICY: &str = "enabled = true\ntraffic = { single_header = { header = \"aws-cf-cd-canary\", value = \"yes\" } }";

async fn origins() -> (Backend, Backend) {
    (
        Backend::start("primary", Behavior::default()).await,
        Backend::start("staging", Behavior::default()).await,
    )
}

fn backend_of(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
        .headers
        .get("x-backend")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The session cookie's value in `answer`'s `Set-Cookie`, if set.
fn session_cookie(answer: &Answer) -> Option<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{COOKIE}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// How many of `n` new viewers (no cookie) land on staging, over 8 keep-alive connections.
async fn staging_share(port: u16, n: usize) -> usize {
    let per = n / 8;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(port).await;
            let mut staging = 0;
            for _ in 0..per {
                let a = client.get("/", &[]).await;
                assert!(session_cookie(&a).is_some(), "a new viewer gets a session");
                staging += usize::from(backend_of(&a) == "staging");
            }
            staging
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

/// |k − np| ≤ 5·sqrt(np(1−p)): a correct split fails this with probability about 5.7e-7 (the
/// normal tail beyond 5σ; n = 10^4 makes the approximation good at p ≥ 0.05).
fn within_binomial_bound(k: usize, n: usize, p: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (k as f64 - mean).abs() <= 5.0 * sd
}

#[tokio::test]
async fn weighted_split_is_within_binomial_bounds_and_weight_zero_sends_none() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let n = 10_000;
    let burr = Burr::start(&config(
        port,
        primary.addr,
        staging.addr,
        &weighted(0.05, 300, 600),
    ));
    let k = staging_share(port, n).await;
    assert!(within_binomial_bound(k, n, 0.05), "{k} of {n} at 0.05");
    burr.reload(&config(
        port,
        primary.addr,
        staging.addr,
        &weighted(0.15, 300, 600),
    ));
    let k = staging_share(port, n).await;
    assert!(within_binomial_bound(k, n, 0.15), "{k} of {n} at 0.15");
    burr.reload(&config(
        port,
        primary.addr,
        staging.addr,
        &weighted(0.0, 300, 600),
    ));
    let before = staging.hits();
    assert_eq!(staging_share(port, 2_000).await, 0);
    assert_eq!(staging.hits(), before);
    let metrics = burr.metrics();
    let key = format!(
        "burr_canary_requests_total{{balancer=\"cloudfront-{PRIMARY}\",port=\"{port}\",arm=\"primary\"}}"
    );
    assert!(metric(&metrics, &key).unwrap() > 0.0, "{metrics}");
}

/// A viewer that keeps the cookie it is given.
struct Viewer {
    client: Client,
    cookie: Option<String>,
    arms: Vec<String>,
}

impl Viewer {
    async fn visit(&mut self) -> Answer {
        let cookie = self.cookie.clone().map(|c| format!("app=1; {COOKIE}={c}"));
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        let a = self.client.get("/", &headers).await;
        if let Some(c) = session_cookie(&a) {
            self.cookie = Some(c);
        }
        // The origin never sees burr's cookie, only the application's.
        assert_eq!(
            a.json()["headers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h[0] == "cookie")
                .map(|h| h[1].as_str().unwrap())
                .collect::<Vec<_>>(),
            if self.cookie.is_some() && cookie.is_some() {
                vec!["app=1"]
            } else {
                vec![]
            }
        );
        self.arms.push(backend_of(&a));
        a
    }
}

fn sessions(burr: &Burr, port: u16) -> HashMap<&'static str, u64> {
    let text = burr.metrics();
    ["kept", "new", "expired"]
        .into_iter()
        .map(|d| {
            let key = format!(
                "burr_canary_sessions_total{{balancer=\"cloudfront-{PRIMARY}\",port=\"{port}\",decision=\"{d}\"}}"
            );
            (d, metric(&text, &key).unwrap_or(0.0) as u64)
        })
        .collect()
}

#[tokio::test]
async fn sticky_viewers_keep_their_arm_until_idle_or_maximum_ttl() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let (idle, max) = (300u64, 3600u64);
    let burr = Burr::start_with_manual_clock(&config(
        port,
        primary.addr,
        staging.addr,
        &weighted(0.15, idle as u32, max as u32),
    ));
    let mut viewers = Vec::new();
    for _ in 0..100 {
        viewers.push(Viewer {
            client: Client::connect(port).await,
            cookie: None,
            arms: Vec::new(),
        });
    }
    for v in &mut viewers {
        let a = v.visit().await;
        let set = a.headers.get("set-cookie").unwrap().to_str().unwrap();
        assert!(
            set.ends_with("; Path=/; HttpOnly"),
            "a session cookie, not Secure on HTTP: {set}"
        );
        assert!(
            a.headers.get("x-burr-arm").is_none(),
            "no arm header by default"
        );
    }
    // Active viewers, IdleTTL − 1 s between requests, for as long as MaximumTTL allows.
    let mut elapsed = 0;
    while elapsed + idle - 1 < max {
        burr.advance_clock(Duration::from_secs(idle - 1));
        elapsed += idle - 1;
        for v in &mut viewers {
            v.visit().await;
        }
    }
    let on_staging = viewers.iter().filter(|v| v.arms[0] == "staging").count();
    assert!(
        on_staging > 0,
        "100 viewers at 0.15: some on staging (P(none) ≈ 1e-7)"
    );
    for v in &viewers {
        assert!(
            v.arms.iter().all(|a| *a == v.arms[0]),
            "no arm flip: {:?}",
            v.arms
        );
        assert!(v.arms.len() >= 12);
    }
    let before = sessions(&burr, port);
    assert_eq!(before["new"], 100);
    assert_eq!(before["expired"], 0);
    // Still active (IdleTTL − 1 s since the last request), but past MaximumTTL: a new draw.
    burr.advance_clock(Duration::from_secs(idle - 1));
    for v in &mut viewers {
        v.visit().await;
    }
    let after = sessions(&burr, port);
    assert_eq!(after["expired"], 100, "every session ended at MaximumTTL");
    // Within the new sessions: same second, no new cookie; then idle IdleTTL + 1 s: new draws.
    for v in &mut viewers {
        let a = v.visit().await;
        assert!(
            session_cookie(&a).is_none(),
            "no re-seal within the same second"
        );
    }
    burr.advance_clock(Duration::from_secs(idle + 1));
    for v in &mut viewers {
        assert!(session_cookie(&v.visit().await).is_some());
    }
    let last = sessions(&burr, port);
    assert_eq!(
        last["expired"], 200,
        "idle past IdleTTL: every session drawn again"
    );
}

#[tokio::test]
async fn a_forged_or_tampered_cookie_is_a_new_draw() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let burr = Burr::start(&config(
        port,
        primary.addr,
        staging.addr,
        &weighted(0.15, 300, 600),
    ));
    let mut client = Client::connect(port).await;
    let genuine = session_cookie(&client.get("/", &[]).await).unwrap();
    let mut tampered = genuine.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for forged in [tampered.as_str(), "forged", "", &"A".repeat(104)] {
        let a = client
            .get("/", &[("cookie", &format!("{COOKIE}={forged}"))])
            .await;
        assert_eq!(a.status, 200);
        let fresh = session_cookie(&a).expect("a new session");
        assert_ne!(fresh, genuine);
    }
    assert_eq!(sessions(&burr, port)["expired"], 4);
}

#[tokio::test]
async fn header_routing_is_exact_and_the_header_is_not_forwarded() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let _burr = Burr::start(&config(port, primary.addr, staging.addr, HEADER_POLICY));
    let mut client = Client::connect(port).await;
    let a = client.get("/", &[("aws-cf-cd-canary", "yes")]).await;
    assert_eq!(backend_of(&a), "staging");
    assert!(a.seen("aws-cf-cd-canary").is_empty(), "not forwarded");
    assert!(
        session_cookie(&a).is_none(),
        "header routing sets no cookie"
    );
    assert!(a.headers.get("x-burr-arm").is_none());
    let a = client.get("/", &[("AWS-CF-CD-CANARY", "yes")]).await;
    assert_eq!(backend_of(&a), "staging", "the name in any case");
    for headers in [
        &[("aws-cf-cd-canary", "Yes")][..],
        &[("aws-cf-cd-canary", "yes2")],
        &[("aws-cf-cd-other", "yes")],
        &[],
    ] {
        let a = client.get("/", headers).await;
        assert_eq!(backend_of(&a), "primary", "{headers:?}");
    }
    // hyper's path (HTTP/1.0 leaves the fast path) takes the same step.
    let text = raw(
        port,
        b"GET / HTTP/1.0\r\nHost: x\r\naws-cf-cd-canary: yes\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(text.contains("x-backend: staging"), "{text}");
    assert!(!text.contains("aws-cf-cd-canary"), "{text}");
}

#[tokio::test]
async fn the_arm_header_only_when_configured() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let policy =
        format!("{HEADER_POLICY}\narm_header = \"x-burr-arm\"\nforward_routing_header = true");
    let _burr = Burr::start(&config(port, primary.addr, staging.addr, &policy));
    let mut client = Client::connect(port).await;
    let a = client.get("/", &[("aws-cf-cd-canary", "yes")]).await;
    assert_eq!(a.headers.get("x-burr-arm").unwrap(), "staging");
    assert_eq!(
        a.seen("aws-cf-cd-canary"),
        ["yes"],
        "forwarded when configured"
    );
    let a = client.get("/", &[]).await;
    assert_eq!(a.headers.get("x-burr-arm").unwrap(), "primary");
}

#[tokio::test]
async fn burr_answers_on_the_staging_arm_set_the_cookie() {
    let (primary, staging) = origins().await;
    let port = free_port();
    // The staging copy accepts HTTPS only: its http listener answers 403 itself.
    let policy = format!("{}\narm_header = \"x-burr-arm\"", weighted(0.15, 300, 600));
    let text = config(port, primary.addr, staging.addr, &policy);
    let text = {
        // The second DefaultCacheBehavior is the staging distribution's.
        let allow = "ViewerProtocolPolicy = \"allow-all\"";
        let at = text.rfind(allow).unwrap();
        format!(
            "{}ViewerProtocolPolicy = \"https-only\"{}",
            &text[..at],
            &text[at + allow.len()..]
        )
    };
    let _burr = Burr::start(&text);
    let mut client = Client::connect(port).await;
    let mut answered = 0;
    for _ in 0..200 {
        let a = client.get("/", &[]).await;
        assert!(session_cookie(&a).is_some(), "status {}", a.status);
        match a.headers.get("x-burr-arm").unwrap().to_str().unwrap() {
            "staging" => {
                assert_eq!(a.status, 403);
                answered += 1;
            }
            _ => assert_eq!(a.status, 200),
        }
    }
    assert!(answered > 0, "200 viewers at 0.15 reach staging");
}

#[tokio::test]
async fn disabling_the_policy_sends_the_next_request_to_the_primary_on_the_same_connection() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let burr = Burr::start(&config(port, primary.addr, staging.addr, HEADER_POLICY));
    let mut client = Client::connect(port).await;
    let canary = [("aws-cf-cd-canary", "yes")];
    assert_eq!(backend_of(&client.get("/", &canary).await), "staging");
    let disabled = HEADER_POLICY.replace("enabled = true", "enabled = false");
    burr.reload(&config(port, primary.addr, staging.addr, &disabled));
    let a = client.get("/", &canary).await;
    assert_eq!(backend_of(&a), "primary");
    assert_eq!(
        a.seen("aws-cf-cd-canary"),
        ["yes"],
        "no policy: nothing stripped"
    );
    assert!(!client.is_closed());
    // Enabled again: the same connection reaches staging again.
    burr.reload(&config(port, primary.addr, staging.addr, HEADER_POLICY));
    assert_eq!(backend_of(&client.get("/", &canary).await), "staging");
}

#[tokio::test]
async fn a_generation_bump_ends_every_session() {
    let (primary, staging) = origins().await;
    let port = free_port();
    let policy = weighted(0.15, 300, 600);
    let burr = Burr::start(&config(port, primary.addr, staging.addr, &policy));
    let mut viewers = Vec::new();
    for _ in 0..20 {
        let mut v = Viewer {
            client: Client::connect(port).await,
            cookie: None,
            arms: Vec::new(),
        };
        v.visit().await;
        v.visit().await;
        viewers.push(v);
    }
    assert_eq!(sessions(&burr, port)["kept"], 20);
    burr.reload(&config(
        port,
        primary.addr,
        staging.addr,
        &format!("{policy}\ngeneration = 7"),
    ));
    for v in &mut viewers {
        assert!(session_cookie(&v.visit().await).is_some(), "a new session");
    }
    let counts = sessions(&burr, port);
    assert_eq!((counts["kept"], counts["expired"]), (20, 20));
}
