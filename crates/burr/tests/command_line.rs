//! The command line as a user meets it: `burr check` errors with lines, `burr serve` refusing
//! bad input with exit status 2 and changing nothing, state kept across restarts, the admin
//! endpoint, and `burr demo`.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

fn check(text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BURR)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = "[[balancer]]\nname = \"web\"\n\n[[balancer.listener]]\nport = 8080\nprotocol = \"http\"\npool = \"app\"\n\n[[pool]]\nname = \"app\"\ntargets = [ { address = \"127.0.0.1:9001\" } ]\n";

#[test]
fn check_accepts_a_good_file() {
    let (code, out, _) = check(GOOD);
    assert_eq!(code, 0);
    assert!(out.contains("ok (1 balancers, 1 pools)"), "{out}");
}

#[test]
fn check_reports_every_error_with_its_line_and_exits_2() {
    let bad = GOOD
        .replace("port = 8080", "port = 8080\nidle_timeout_secs = 0")
        .replace(
            "9001\" } ]\n",
            "9001\" } ]\n[pool.health_check]\ninterval_secs = 1\n",
        )
        .replace("pool = \"app\"", "pool = \"nowhere\"");
    let (code, _, err) = check(&bad);
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.iter().any(|l| l.ends_with(":6: balancer \"web\".listener 8080.idle_timeout_secs: 0 is not allowed: must be between 1 and 3600 seconds")), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l
                .contains(":8: balancer \"web\".listener 8080.pool: \"nowhere\" is not allowed")),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.contains(":14: pool \"app\".health_check.interval_secs: 1 is not allowed: must be between 5 and 300 seconds")), "{err}");
}

#[test]
fn check_names_unknown_fields_and_syntax_errors() {
    let (code, _, err) = check(&GOOD.replace(
        "protocol = \"http\"",
        "protocol = \"http\"\ncolour = \"blue\"",
    ));
    assert_eq!(code, 2);
    assert!(err.contains(":7:") && err.contains("colour"), "{err}");
    let (code, _, err) = check("[[balancer]\nname = \"x\"");
    assert_eq!(code, 2);
    assert!(err.contains(":1:"), "{err}");
    let (code, _, err) = check(&GOOD.replace("protocol = \"http\"", "protocol = \"gopher\""));
    assert_eq!(code, 2);
    assert!(err.contains("gopher") && err.contains("http"), "{err}");
}

#[test]
fn serve_refuses_bad_input_with_exit_2() {
    // Invalid value.
    let err = Burr::try_start(&GOOD.replace("9001\"", "9001\", weight = 9999"), &[])
        .err()
        .unwrap();
    assert!(
        err.contains("exit status: 2") && err.contains("weight: 9999"),
        "{err}"
    );
    // Port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = Burr::try_start(&GOOD.replace("8080", &port.to_string()), &[])
        .err()
        .unwrap();
    assert!(
        err.contains("exit status: 2")
            && err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    // Unreadable certificate.
    let tls = GOOD.replace("protocol = \"http\"", "protocol = \"https\"\ntls = { certificate = \"/nonexistent/cert.pem\", private_key = \"/nonexistent/key.pem\" }");
    let err = Burr::try_start(&tls, &[]).err().unwrap();
    assert!(
        err.contains("exit status: 2")
            && err.contains("cannot read certificate /nonexistent/cert.pem"),
        "{err}"
    );
}

#[tokio::test]
async fn state_survives_a_restart_without_the_file() {
    let (_b, mut burr, port) = setup(1, "round_robin").await;
    let data = burr.dir.path().join("data");
    let api = format!("127.0.0.1:{}", free_port());
    burr.kill();
    let mut child = Command::new(BURR)
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args([
            "--api",
            &api,
            "--listen-host",
            "127.0.0.1",
            "--workers",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while http_get_status(api.parse().unwrap(), "/healthz") != Some(200)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let a = get(port, "/").await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(a.status, 200);
    assert_eq!(a.backend(), "b1");
}

#[tokio::test]
async fn admin_endpoint_serves_health_and_metrics_unsigned() {
    let (_b, burr, _port) = setup(1, "round_robin").await;
    assert_eq!(http_get_status(burr.api, "/healthz"), Some(200));
    // Everything else is the AWS API, which wants a signature.
    assert_eq!(http_get_status(burr.api, "/nope"), Some(403));
    let m = burr.metrics();
    for name in [
        "burr_requests_total",
        "burr_responses_total",
        "burr_target_active_connections",
        "burr_target_healthy",
        "burr_selections_total",
        "burr_config_generation 1",
    ] {
        assert!(m.contains(name), "{name} missing:\n{m}");
    }
}

/// The targets a line of the demo's story shows (`→ target N` …).
fn targets_on(line: &str) -> Vec<u32> {
    line.split("→ target ")
        .skip(1)
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The line after the one that starts with `marker` (trimmed).
fn line_after<'a>(stdout: &'a str, marker: &str) -> &'a str {
    let mut lines = stdout.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with(marker))
        .unwrap_or_else(|| panic!("no line starting with {marker:?}:\n{stdout}"));
    lines.next().unwrap_or("").trim()
}

#[test]
fn demo_tells_the_sticky_story_in_under_fifteen_seconds() {
    let port = free_port();
    let started = std::time::Instant::now();
    let out = Command::new(BURR)
        .args(["demo", "--once", "--port", &port.to_string()])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(15), "took {took:?}:\n{stdout}");
    // (a) Six requests without a cookie: each target twice (round robin).
    let spread = targets_on(line_after(&stdout, "(a)"));
    for n in 1..=3 {
        assert_eq!(spread.iter().filter(|t| **t == n).count(), 2, "{stdout}");
    }
    // (b) With the cookie: one target, every time.
    let pinned = targets_on(line_after(&stdout, "      cookie AWSALB="));
    assert_eq!(pinned.len(), 5, "{stdout}");
    let home = pinned[0];
    assert!(pinned.iter().all(|t| *t == home), "{stdout}");
    // (c) That target stopped: the session moves to one other target and stays there.
    let moved = targets_on(line_after(&stdout, "(c)"));
    assert_eq!(moved.len(), 4, "{stdout}");
    let new_home = moved[0];
    assert_ne!(new_home, home, "{stdout}");
    assert!(moved.iter().all(|t| *t == new_home), "{stdout}");
    assert!(stdout.contains("cookie rewritten: AWSALB="), "{stdout}");
    assert!(stdout.contains("{reason=\"target_down\"} +1"), "{stdout}");
    // (d) The target back: new clients reach it, the moved session stays where it moved.
    let newcomers = stdout
        .lines()
        .find(|l| l.contains("new clients reach it again"))
        .map(targets_on)
        .unwrap_or_default();
    assert!(newcomers.contains(&home), "{stdout}");
    let stays = stdout
        .lines()
        .find(|l| l.contains("our client stays where its session moved"))
        .map(targets_on)
        .unwrap_or_default();
    assert_eq!(stays, vec![new_home; 4], "{stdout}");
    for hint in [
        format!("curl -i http://127.0.0.1:{port}/"),
        "/ui".to_string(),
        "elb describe-instance-health --load-balancer-name demo".to_string(),
        "import boto3".to_string(),
    ] {
        assert!(stdout.contains(&hint), "{hint} missing:\n{stdout}");
    }
}

/// Listener rules and a default action (the shape docs/configuration.md documents).
const RULES: &str = r#"
[[balancer]]
name = "web"

[[balancer.listener]]
port = PORT
protocol = "http"
pool = "app"
default_action = { fixed_response = { status = 404, content_type = "text/plain", body = "no route" } }

[[balancer.listener.rule]]
priority = 10
conditions = [ { path_pattern = ["/api/*"] }, { http_header = { name = "X-Env", values = ["beta*"] } } ]
action = { forward = { pools = [ { pool = "app", weight = 90 }, { pool = "canary", weight = 10 } ], stickiness_secs = 3600 } }

[[balancer.listener.rule]]
priority = 20
conditions = [ { host_header = ["*.example.com"] }, { query_string = [ { key = "v", value = "2" } ] }, { source_ip = ["10.0.0.0/8", "2001:db8::/32"] } ]
action = { redirect = { protocol = "HTTPS", port = "443", status = "HTTP_301" } }

[[pool]]
name = "app"
targets = [ { address = "127.0.0.1:9001" } ]

[[pool]]
name = "canary"
targets = [ { address = "127.0.0.1:9002" } ]
"#;

#[test]
fn listener_rules_round_trip_through_check_serve_and_export() {
    let config = RULES.replace("PORT", &free_port().to_string());
    let (code, out, err) = check(&config);
    assert_eq!(code, 0, "{out}{err}");
    let burr = Burr::start(&config);
    let out = Command::new(BURR)
        .args(["export", "--data-dir"])
        .arg(burr.dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = String::from_utf8(out.stdout).unwrap();
    let (code, _, err) = check(&exported);
    assert_eq!(code, 0, "the export is a valid file: {err}\n{exported}");
    let listener = |text: &str| -> toml::Table {
        let value: toml::Table = toml::from_str(text).unwrap();
        value["balancer"][0]["listener"][0]
            .as_table()
            .unwrap()
            .clone()
    };
    let (before, after) = (listener(&config), listener(&exported));
    assert_eq!(after["rule"], before["rule"], "{exported}");
    assert_eq!(
        after["default_action"], before["default_action"],
        "{exported}"
    );
    // a broken rule is refused with its line
    let (code, _, err) = check(&config.replace("weight = 10 }", "weight = 1000 }"));
    assert_eq!(code, 2);
    assert!(
        err.contains(":14: balancer \"web\".listener")
            && err.contains("weight: 1000 is not allowed: must be between 0 and 999"),
        "{err}"
    );
}
