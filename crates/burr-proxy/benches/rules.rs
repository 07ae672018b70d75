//! Listener rule evaluation cost with 0, 10 and 100 rules (path and header conditions, the
//! issue's figure): one evaluation of a request that matches no rule, so every rule is tried
//! and the default action is taken (the worst case), and one that matches the last rule.
//! A realistic header map (8 fields) and a path with a prefix shared by every rule's pattern.

use burr_model::routing::{Action, Condition, HeaderCondition, Rule};
use burr_proxy::routing::{ListenerRules, RequestView};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use std::hint::black_box;
use std::net::IpAddr;

/// Rule i: path `/api/v1/service-i/*` and header `X-Tenant: tenant-i-*`.
fn rules(n: u32) -> Vec<Rule> {
    (1..=n)
        .map(|i| Rule {
            priority: i,
            conditions: vec![
                Condition::PathPattern(vec![format!("/api/v1/service-{i}/*")]),
                Condition::HttpHeader(HeaderCondition {
                    name: "X-Tenant".into(),
                    values: vec![format!("tenant-{i}-*")],
                }),
            ],
            action: Action::forward_to(format!("pool-{i}")),
            elbv2: None,
        })
        .collect()
}

fn headers(tenant: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in [
        ("host", "www.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
        ),
        ("accept", "text/html,application/xhtml+xml"),
        ("accept-language", "en-GB,en;q=0.5"),
        ("accept-encoding", "gzip, deflate, br"),
        ("cookie", "session=0123456789abcdef; theme=dark"),
        ("x-request-id", "7f3c2a10-5d1e-4b7e-9a61-3f0e6c2d8b44"),
    ] {
        h.insert(n, HeaderValue::from_static(v));
    }
    h.insert("x-tenant", HeaderValue::from_str(tenant).unwrap());
    h
}

fn evaluate(c: &mut Criterion) {
    let source: IpAddr = "192.0.2.10".parse().unwrap();
    let mut group = c.benchmark_group("rules");
    for n in [0u32, 10, 100] {
        let compiled = ListenerRules::compile(&rules(n), Action::forward_to("default"));
        let miss_headers = headers("tenant-none-1");
        let miss_path = format!("/api/v1/service-{}/orders/42", n + 1);
        group.bench_with_input(BenchmarkId::new("no match", n), &n, |b, _| {
            b.iter(|| {
                let view = RequestView {
                    method: b"GET",
                    host: Some(b"www.example.com"),
                    path: black_box(miss_path.as_bytes()),
                    query: None,
                    headers: black_box(&miss_headers),
                    source,
                };
                black_box(compiled.evaluate(&view).priority)
            })
        });
        if n > 0 {
            let hit_headers = headers(&format!("tenant-{n}-blue"));
            let hit_path = format!("/api/v1/service-{n}/orders/42");
            group.bench_with_input(BenchmarkId::new("last rule", n), &n, |b, _| {
                b.iter(|| {
                    let view = RequestView {
                        method: b"GET",
                        host: Some(b"www.example.com"),
                        path: black_box(hit_path.as_bytes()),
                        query: None,
                        headers: black_box(&hit_headers),
                        source,
                    };
                    let d = compiled.evaluate(&view);
                    assert_eq!(d.priority, Some(n));
                    black_box(d.priority)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
