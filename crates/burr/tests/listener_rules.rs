//! Listener rules and actions through the real binary: each condition type choosing a pool,
//! priority order, the default action, a listener without a pool, fixed responses and
//! redirects over HTTP/1.1 (fast path and hyper's) and HTTP/2, and how soon a rule change
//! reaches the data plane. Weighted forwards and group stickiness are in `group_stickiness.rs`.

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::Empty;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One backend per pool, each on its own loopback address (127.0.0.`10 + i`).
async fn pool_backends(names: &[&str]) -> Vec<Backend> {
    let mut all = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let addr: SocketAddr = format!("127.0.0.{}:0", 10 + i).parse().unwrap();
        all.push(Backend::start_at(name, Behavior::default(), addr).await);
    }
    all
}

/// `[[pool]]` tables, one per backend, named after it.
fn pools_toml(backends: &[Backend]) -> String {
    backends
        .iter()
        .map(|b| {
            format!(
                "[[pool]]\nname = \"{}\"\ntargets = [ {{ address = \"{}\" }} ]\n\
                 [pool.health_check]\nenabled = false\n\n",
                b.name, b.addr
            )
        })
        .collect()
}

const CONDITIONS: &str = r#"
[[balancer]]
name = "t"

[[balancer.listener]]
port = PORT
protocol = "http"
pool = "def"

# Listed out of priority order on purpose: priority decides, not the file.
[[balancer.listener.rule]]
priority = 60
conditions = [ { source_ip = ["127.0.0.77/32"] } ]
action = { forward = { pool = "sourced" } }

[[balancer.listener.rule]]
priority = 20
conditions = [ { http_header = { name = "X-Env", values = ["canary"] } } ]
action = { forward = { pool = "canary" } }

[[balancer.listener.rule]]
priority = 10
conditions = [ { path_pattern = ["/api/*"] } ]
action = { forward = { pool = "api" } }

[[balancer.listener.rule]]
priority = 30
conditions = [ { host_header = ["*.example.com"] } ]
action = { forward = { pool = "hosted" } }

[[balancer.listener.rule]]
priority = 40
conditions = [ { http_request_method = ["DELETE"] } ]
action = { forward = { pool = "deleter" } }

[[balancer.listener.rule]]
priority = 50
conditions = [ { query_string = [ { key = "v", value = "2" } ] } ]
action = { forward = { pool = "queried" } }
"#;

/// A request as both clients send it: method, path and query, Host, more headers.
struct Ask<'a> {
    method: &'a str,
    target: &'a str,
    host: &'a str,
    headers: &'a [(&'a str, &'a str)],
}

fn ask<'a>(target: &'a str) -> Ask<'a> {
    Ask {
        method: "GET",
        target,
        host: "burr.test",
        headers: &[],
    }
}

/// What each request of [`CONDITIONS`] must reach: (request, pool).
fn condition_cases() -> Vec<(Ask<'static>, &'static str)> {
    vec![
        (ask("/"), "def"),
        (ask("/api/x"), "api"),
        (ask("/API/x"), "def"), // paths are case-sensitive
        (
            Ask {
                headers: &[("x-env", "CANARY")],
                ..ask("/other")
            },
            "canary",
        ),
        // Two rules match; the lower priority wins.
        (
            Ask {
                headers: &[("x-env", "canary")],
                ..ask("/api/x")
            },
            "api",
        ),
        (
            Ask {
                host: "Shop.Example.com:8080",
                ..ask("/")
            },
            "hosted",
        ),
        (
            Ask {
                host: "example.com",
                ..ask("/")
            },
            "def",
        ),
        (
            Ask {
                method: "DELETE",
                ..ask("/")
            },
            "deleter",
        ),
        (ask("/?a=1&v=2"), "queried"),
        (ask("/?V=%32"), "queried"), // decoded, case-insensitive
        (ask("/?v=22"), "def"),
    ]
}

async fn send_h1(client: &mut Client, a: &Ask<'_>) -> Answer {
    let mut req = http::Request::builder()
        .method(a.method)
        .uri(a.target)
        .header("host", a.host);
    for (k, v) in a.headers {
        req = req.header(*k, *v);
    }
    client.send(req.body(Empty::new()).unwrap()).await
}

type H2 = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

async fn send_h2(sender: &mut H2, a: &Ask<'_>) -> Answer {
    let mut req = http::Request::builder()
        .method(a.method)
        .uri(format!("http://{}{}", a.host, a.target));
    for (k, v) in a.headers {
        req = req.header(*k, *v);
    }
    sender.ready().await.unwrap();
    collect(
        sender
            .send_request(req.body(Empty::new()).unwrap())
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn each_condition_type_chooses_its_pool_in_priority_order_on_both_paths() {
    let names = [
        "def", "api", "canary", "hosted", "deleter", "queried", "sourced",
    ];
    let backends = pool_backends(&names).await;
    let port = free_port();
    let burr = Burr::start(&format!(
        "{}\n{}",
        CONDITIONS.replace("PORT", &port.to_string()),
        pools_toml(&backends)
    ));

    let mut h1 = Client::connect(port).await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut h2 = h2_over(stream).await;
    for (request, pool) in condition_cases() {
        let a = send_h1(&mut h1, &request).await;
        assert_eq!(
            (a.status, a.backend().as_str()),
            (200, pool),
            "HTTP/1.1 {} {} host {}",
            request.method,
            request.target,
            request.host
        );
        let a = send_h2(&mut h2, &request).await;
        assert_eq!(
            (a.status, a.backend().as_str()),
            (200, pool),
            "HTTP/2 {} {} host {}",
            request.method,
            request.target,
            request.host
        );
    }

    // source-ip: the peer's address, whatever X-Forwarded-For says; still below priority 10.
    let source = Ipv4Addr::new(127, 0, 0, 77);
    let mut from = Client::connect_from(port, source).await;
    let forged = [("x-forwarded-for", "10.9.9.9")];
    let a = send_h1(
        &mut from,
        &Ask {
            headers: &forged,
            ..ask("/")
        },
    )
    .await;
    assert_eq!(a.backend(), "sourced");
    assert_eq!(send_h1(&mut from, &ask("/api/y")).await.backend(), "api");
    let mut h2_from = h2_over(tcp_connect_from(port, source).await).await;
    assert_eq!(send_h2(&mut h2_from, &ask("/")).await.backend(), "sourced");
    let forged_other = [("x-forwarded-for", "127.0.0.77")];
    let a = send_h1(
        &mut h1,
        &Ask {
            headers: &forged_other,
            ..ask("/")
        },
    )
    .await;
    assert_eq!(a.backend(), "def", "X-Forwarded-For is not the source");

    let metrics = burr.metrics();
    let cases = condition_cases().len() as f64;
    assert_eq!(
        metric(
            &metrics,
            "burr_rule_actions_total{balancer=\"t\",port=\"PORT\",action=\"forward\",rule=\"default\"}"
                .replace("PORT", &port.to_string())
                .as_str()
        ),
        // Per client: "/", "/API/x", "example.com", "?v=22"; and the forged XFF one.
        Some(2.0 * 4.0 + 1.0)
    );
    assert_eq!(
        metric(
            &metrics,
            &format!(
                "burr_rule_actions_total{{balancer=\"t\",port=\"{port}\",action=\"forward\",rule=\"matched\"}}"
            )
        ),
        Some(2.0 * (cases - 4.0) + 3.0)
    );
}

const ANSWERS: &str = r##"
[[balancer]]
name = "t"

[[balancer.listener]]
port = PORT
protocol = "http"
default_action = { fixed_response = { status = 404, content_type = "text/plain", body = "no route" } }

[[balancer.listener.rule]]
priority = 1
conditions = [ { path_pattern = ["/json"] } ]
action = { fixed_response = { status = 200, content_type = "application/json", body = '{"ok":true}' } }

[[balancer.listener.rule]]
priority = 2
conditions = [ { path_pattern = ["/moved/*"] } ]
action = { redirect = { host = "new.example.com", path = "/new/#{path}", query = "#{query}&from=#{host}", status = "HTTP_301" } }

[[balancer.listener.rule]]
priority = 3
conditions = [ { path_pattern = ["/secure"] } ]
action = { redirect = { protocol = "HTTPS", port = "443", status = "HTTP_302" } }

[[balancer.listener.rule]]
priority = 4
conditions = [ { path_pattern = ["/empty"] } ]
action = { fixed_response = { status = 503 } }
"##;

#[tokio::test]
async fn fixed_responses_and_redirects_have_their_shape_over_http1_and_http2() {
    let port = free_port();
    let burr = Burr::start(&ANSWERS.replace("PORT", &port.to_string()));

    // The fast path: three requests on one connection, one with a body that is read and
    // dropped; the connection stays open after them.
    let got = raw(
        port,
        format!(
            "GET /nothing HTTP/1.1\r\nHost: a.test\r\n\r\n\
             POST /json HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\n{{\"a\"}}\
             GET /moved/a/b?q=1 HTTP/1.1\r\nHost: a.test:{port}\r\n\r\n\
             HEAD /secure?x HTTP/1.1\r\nHost: a.test\r\n\r\n\
             GET /empty HTTP/1.1\r\nHost: a.test\r\n\r\n"
        )
        .as_bytes(),
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nno route\
             HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{{\"ok\":true}}\
             HTTP/1.1 301 Moved Permanently\r\nLocation: http://new.example.com:{port}/new/moved/a/b?q=1&from=a.test\r\nContent-Length: 0\r\n\r\n\
             HTTP/1.1 302 Found\r\nLocation: https://a.test/secure?x\r\nContent-Length: 0\r\n\r\n\
             HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
        ),
        "no <EOF>: keep-alive stays usable"
    );

    // A body that arrives after its head (a read of its own): read and dropped before the
    // answer, and the next request on the connection is served.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(b"POST /json HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\n")
        .await
        .unwrap();
    // Only so that the body is a separate segment; the outcome must not depend on it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Not a method's characters: left unread, it would spoil the next request line.
    s.write_all(b"{\"ab\": 12}GET /empty HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}\
         HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );

    // A body too long to read for nothing: answered, then the connection closes.
    let got = raw(
        port,
        b"POST /json HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000000\r\n\r\nx",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 200 OK\r\n") && got.contains("Connection: close\r\n"),
        "{got}"
    );
    assert!(got.ends_with("{\"ok\":true}<EOF>"), "{got}");

    // hyper's HTTP/1.1 (a chunked body is not the fast path's): the same answer.
    let got = raw(
        port,
        b"POST /json HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
          GET /moved/c HTTP/1.1\r\nHost: a.test\r\n\r\n",
        Duration::from_millis(500),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 200 OK\r\n")
            && got.contains("content-type: application/json\r\n")
            && got.contains("content-length: 11\r\n")
            && got.contains("{\"ok\":true}"),
        "{got}"
    );
    assert!(
        got.contains("HTTP/1.1 301 Moved Permanently\r\n")
            && got.contains(&format!(
                "location: http://new.example.com:{port}/new/moved/c?&from=a.test\r\n"
            )),
        "{got}"
    );

    // HTTP/2 with prior knowledge.
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut h2 = h2_over(stream).await;
    let a = send_h2(&mut h2, &ask("/nothing")).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.headers["content-type"], "text/plain");
    assert_eq!(a.headers["content-length"], "8");
    assert_eq!(a.body, "no route");
    let a = send_h2(&mut h2, &ask("/json")).await;
    assert_eq!((a.status, a.body.as_str()), (200, "{\"ok\":true}"));
    let a = send_h2(
        &mut h2,
        &Ask {
            host: "b.test:8080",
            ..ask("/moved/z?k=v")
        },
    )
    .await;
    assert_eq!(a.status, 301);
    assert_eq!(
        a.headers["location"],
        format!("http://new.example.com:{port}/new/moved/z?k=v&from=b.test").as_str()
    );
    assert_eq!(a.body, "");
    let a = send_h2(&mut h2, &ask("/secure")).await;
    assert_eq!(
        (a.status, a.headers["location"].to_str().unwrap()),
        (302, "https://burr.test/secure")
    );

    let metrics = burr.metrics();
    let count = |action: &str, rule: &str| {
        metric(
            &metrics,
            &format!(
                "burr_rule_actions_total{{balancer=\"t\",port=\"{port}\",action=\"{action}\",rule=\"{rule}\"}}"
            ),
        )
    };
    assert_eq!(count("fixed-response", "default"), Some(2.0));
    assert_eq!(count("fixed-response", "matched"), Some(7.0));
    assert_eq!(count("redirect", "matched"), Some(5.0));
    assert_eq!(count("forward", "default"), Some(0.0));
}

/// A rule change reaches the data plane with the next snapshot, on connections already open:
/// the time from the config reload signal to the first request answered by the new rule, over
/// 50 changes, on a client polling one keep-alive connection. Prints the figure.
///
/// The time includes the store's durable commit (SQLite WAL, `synchronous=FULL`), which comes
/// before the snapshot is put in service: on this shared machine an fsync now and then takes
/// 100–200 ms, so the tail is the disk's, not the data plane's (measured p50 1–3 ms, p99
/// 25–220 ms over runs). The bounds: the median within the 50 ms goal, every change within 1 s.
#[tokio::test]
async fn a_rule_change_reaches_open_connections_with_the_next_snapshot() {
    let port = free_port();
    let config = |version: usize| {
        format!(
            "[[balancer]]\nname = \"t\"\n\n[[balancer.listener]]\nport = {port}\n\
             protocol = \"http\"\n\
             default_action = {{ fixed_response = {{ status = 200, body = \"v{version}\" }} }}\n"
        )
    };
    let burr = Burr::start(&config(0));
    let mut client = Client::connect(port).await;
    assert_eq!(client.get("/", &[]).await.body, "v0");
    let mut waits = Vec::new();
    for version in 1..=50 {
        std::fs::write(&burr.config, config(version)).unwrap();
        let expected = format!("v{version}");
        let start = Instant::now();
        unsafe {
            libc::kill(burr.pid(), libc::SIGHUP);
        }
        loop {
            let a = client.get("/", &[]).await;
            if a.body == expected {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{expected} not seen within 10 s: {}",
                a.body
            );
        }
        waits.push(start.elapsed());
    }
    waits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // p99 of 50 samples: the 50th (ceil(0.99 × 50)).
    let (p50, p99) = (waits[24], waits[49]);
    eprintln!(
        "rule change to data plane over {} changes: p50 {:.1} ms, p99 {:.1} ms, min {:.1} ms",
        waits.len(),
        ms(p50),
        ms(p99),
        ms(waits[0])
    );
    assert!(p50 <= Duration::from_millis(50), "p50 {:.1} ms", ms(p50));
    assert!(p99 <= Duration::from_secs(1), "p99 {:.1} ms", ms(p99));
}
