use super::*;
use burr_model::routing::{FixedResponse, HeaderCondition, QueryPair};
use http::HeaderValue;
use proptest::prelude::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn fixed(status: u16) -> Action {
    Action::FixedResponse(FixedResponse {
        status,
        content_type: None,
        body: None,
    })
}

fn rule(priority: u32, conditions: Vec<Condition>) -> Rule {
    Rule {
        priority,
        conditions,
        action: fixed(200 + priority as u16),
        elbv2: None,
    }
}

struct Req {
    method: &'static str,
    host: Option<&'static str>,
    target: &'static str,
    headers: HeaderMap,
    source: IpAddr,
}

fn req(target: &'static str) -> Req {
    Req {
        method: "GET",
        host: Some("www.example.com"),
        target,
        headers: HeaderMap::new(),
        source: "192.0.2.10".parse().unwrap(),
    }
}

impl Req {
    fn host(mut self, h: Option<&'static str>) -> Self {
        self.host = h;
        self
    }
    fn method(mut self, m: &'static str) -> Self {
        self.method = m;
        self
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.append(name, HeaderValue::from_static(value));
        self
    }
    fn source(mut self, ip: &str) -> Self {
        self.source = ip.parse().unwrap();
        self
    }
}

/// The matching priority, or None for the default.
fn eval(rules: &[Rule], r: &Req) -> Option<u32> {
    let compiled = ListenerRules::compile(rules, Action::forward_to("default"));
    let (path, query) = split_target(r.target.as_bytes());
    let view = RequestView {
        method: r.method.as_bytes(),
        host: r.host.map(str::as_bytes),
        path,
        query,
        headers: &r.headers,
        source: r.source,
    };
    let d = compiled.evaluate(&view);
    // the HTTP/1.1 fast path's header slice gives the same answer
    let raw: Vec<(String, Vec<u8>)> = r
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    let slice: Vec<httparse::Header<'_>> = raw
        .iter()
        .map(|(n, v)| httparse::Header { name: n, value: v })
        .collect();
    let view2 = RequestView {
        method: view.method,
        host: view.host,
        path: view.path,
        query: view.query,
        headers: slice.as_slice(),
        source: view.source,
    };
    assert_eq!(compiled.evaluate(&view2), d);
    match d.priority {
        Some(p) => assert_eq!(*d.action, fixed(200 + p as u16)),
        None => assert_eq!(*d.action, Action::forward_to("default")),
    }
    d.priority
}

fn one(c: Condition) -> Vec<Rule> {
    vec![rule(1, vec![c])]
}

#[test]
fn host_header_is_case_insensitive_with_wildcards_and_ignores_the_port() {
    let rules = one(Condition::HostHeader(s(&["*.example.com"])));
    assert_eq!(eval(&rules, &req("/")), Some(1));
    assert_eq!(
        eval(&rules, &req("/").host(Some("WWW.Example.COM"))),
        Some(1)
    );
    assert_eq!(
        eval(&rules, &req("/").host(Some("www.example.com:8080"))),
        Some(1)
    );
    assert_eq!(eval(&rules, &req("/").host(Some("example.com"))), None);
    assert_eq!(eval(&rules, &req("/").host(Some("www.example.org"))), None);
    assert_eq!(eval(&rules, &req("/").host(None)), None);
    let rules = one(Condition::HostHeader(s(&["www.?xample.com"])));
    assert_eq!(eval(&rules, &req("/")), Some(1));
    assert_eq!(eval(&rules, &req("/").host(Some("www.xample.com"))), None);
    assert_eq!(eval(&rules, &req("/").host(Some("www.eexample.com"))), None);
}

#[test]
fn path_pattern_is_case_sensitive_and_sees_the_path_only() {
    let rules = one(Condition::PathPattern(s(&["/img/*"])));
    assert_eq!(eval(&rules, &req("/img/a.png")), Some(1));
    assert_eq!(eval(&rules, &req("/img/")), Some(1));
    assert_eq!(eval(&rules, &req("/IMG/a.png")), None);
    assert_eq!(eval(&rules, &req("/img")), None);
    assert_eq!(eval(&rules, &req("/x?/img/a")), None);
    let rules = one(Condition::PathPattern(s(&["/api/v?/users", "*.jpg"])));
    assert_eq!(eval(&rules, &req("/api/v2/users?x=1")), Some(1));
    assert_eq!(eval(&rules, &req("/api/v22/users")), None);
    assert_eq!(eval(&rules, &req("/a/b/c.jpg")), Some(1));
    assert_eq!(eval(&rules, &req("/a/b/c.JPG")), None);
    let exact = one(Condition::PathPattern(s(&["/health"])));
    assert_eq!(eval(&exact, &req("/health")), Some(1));
    assert_eq!(eval(&exact, &req("/healthz")), None);
}

#[test]
fn http_header_values_are_case_insensitive_and_every_field_is_tried() {
    let rules = one(Condition::HttpHeader(HeaderCondition {
        name: "User-Agent".into(),
        values: s(&["*Chrome*", "*Safari*"]),
    }));
    assert_eq!(
        eval(
            &rules,
            &req("/").header("user-agent", "Mozilla/5.0 chrome/120")
        ),
        Some(1)
    );
    assert_eq!(eval(&rules, &req("/").header("user-agent", "curl/8")), None);
    assert_eq!(eval(&rules, &req("/")), None);
    assert_eq!(
        eval(
            &rules,
            &req("/")
                .header("user-agent", "curl/8")
                .header("user-agent", "SAFARI")
        ),
        Some(1)
    );
}

#[test]
fn http_request_method_is_exact() {
    let rules = one(Condition::HttpRequestMethod(s(&["POST", "PUT"])));
    assert_eq!(eval(&rules, &req("/").method("POST")), Some(1));
    assert_eq!(eval(&rules, &req("/").method("PUT")), Some(1));
    assert_eq!(eval(&rules, &req("/").method("post")), None);
    assert_eq!(eval(&rules, &req("/").method("GET")), None);
    assert_eq!(eval(&rules, &req("/").method("POSTS")), None);
}

#[test]
fn query_string_decodes_and_compares_case_insensitively() {
    // the ALB guide's example: version=v1* or a value like *example*, any key
    let rules = one(Condition::QueryString(vec![
        QueryPair {
            key: Some("version".into()),
            value: "v1*".into(),
        },
        QueryPair {
            key: None,
            value: "*example*".into(),
        },
    ]));
    assert_eq!(eval(&rules, &req("/?version=v1.2")), Some(1));
    assert_eq!(eval(&rules, &req("/?a=b&VERSION=V1")), Some(1));
    assert_eq!(eval(&rules, &req("/?%76ersion=v%31")), Some(1));
    assert_eq!(eval(&rules, &req("/?version=v2")), None);
    assert_eq!(eval(&rules, &req("/?q=an%20Example%20here")), Some(1));
    assert_eq!(eval(&rules, &req("/?example")), Some(1));
    assert_eq!(eval(&rules, &req("/example")), None);
    assert_eq!(eval(&rules, &req("/")), None);
    assert_eq!(eval(&rules, &req("/?x=1#version=v1")), None);
    let literal = one(Condition::QueryString(vec![QueryPair {
        key: Some("a".into()),
        value: r"x\*".into(),
    }]));
    assert_eq!(eval(&literal, &req("/?a=x*")), Some(1));
    assert_eq!(eval(&literal, &req("/?a=x%2A")), Some(1));
    assert_eq!(eval(&literal, &req("/?a=xy")), None);
}

#[test]
fn source_ip_matches_cidrs_of_both_families() {
    let rules = one(Condition::SourceIp(vec![
        "192.0.2.0/24".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
    ]));
    assert_eq!(eval(&rules, &req("/")), Some(1));
    assert_eq!(
        eval(&rules, &req("/").source("::ffff:192.0.2.200")),
        Some(1)
    );
    assert_eq!(eval(&rules, &req("/").source("2001:db8:1::5")), Some(1));
    assert_eq!(eval(&rules, &req("/").source("198.51.100.1")), None);
    assert_eq!(eval(&rules, &req("/").source("2001:db9::1")), None);
}

#[test]
fn conditions_and_values_and_priorities() {
    let rules = vec![
        rule(
            20,
            vec![
                Condition::PathPattern(s(&["/api/*"])),
                Condition::HttpRequestMethod(s(&["POST"])),
            ],
        ),
        rule(10, vec![Condition::PathPattern(s(&["/api/admin*"]))]),
        rule(30, vec![Condition::PathPattern(s(&["/api/*", "/v2/*"]))]),
    ];
    // AND: both conditions of rule 20
    assert_eq!(eval(&rules, &req("/api/x").method("POST")), Some(20));
    assert_eq!(eval(&rules, &req("/api/x")), Some(30));
    // lowest priority first, whatever the declaration order
    assert_eq!(eval(&rules, &req("/api/admin").method("POST")), Some(10));
    // OR between values
    assert_eq!(eval(&rules, &req("/v2/x")), Some(30));
    assert_eq!(eval(&rules, &req("/other")), None);
}

#[test]
fn a_listener_without_rules_forwards_to_its_pool() {
    let listener = Listener::new(80, burr_model::Protocol::Http, "web");
    let rules = ListenerRules::of_listener(&listener);
    assert!(rules.is_empty());
    let headers = HeaderMap::new();
    let view = RequestView {
        method: b"GET",
        host: None,
        path: b"/",
        query: None,
        headers: &headers,
        source: "127.0.0.1".parse().unwrap(),
    };
    assert_eq!(*rules.evaluate(&view).action, Action::forward_to("web"));
}

#[test]
fn glob_edge_cases() {
    let g = |p: &str| Glob::new(p.as_bytes(), Case::Sensitive, false);
    assert!(g("*").matches(b""));
    assert!(g("**").matches(b"abc"));
    assert!(!g("?").matches(b""));
    assert!(
        g("?").matches("é".as_bytes()),
        "? is one character, not one byte"
    );
    assert!(!g("??").matches("é".as_bytes()));
    assert!(g("a*b*c").matches(b"axxbyyc"));
    assert!(!g("a*b*c").matches(b"axxbyy"));
    assert!(g("*a").matches(b"aaaa"));
    assert!(!g("").matches(b"a"));
    assert!(g("").matches(b""));
    assert_eq!(strip_port(b"[::1]:80"), b"[::1]");
    assert_eq!(strip_port(b"a.example.com:"), b"a.example.com");
    assert_eq!(strip_port(b"a:b"), b"a:b");
    assert_eq!(percent_decode(b"%41%zz%4"), b"A%zz%4");
}

// ---- differential test against a naive reference matcher ----

/// Reference wildcard matching: recursion on characters.
fn naive_glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|i| naive_glob(rest, &text[i..])),
        Some(('?', rest)) => !text.is_empty() && naive_glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && naive_glob(rest, &text[1..]),
    }
}

fn naive_match(pattern: &str, text: &str, insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if insensitive {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    naive_glob(&fold(pattern), &fold(text))
}

struct NaiveReq {
    method: String,
    host: Option<String>,
    path: String,
    /// decoded pairs
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    source: IpAddr,
}

/// Reference evaluation: sort by priority each time, test everything literally.
fn naive_eval(rules: &[Rule], r: &NaiveReq) -> Option<u32> {
    let mut sorted: Vec<&Rule> = rules.iter().collect();
    sorted.sort_by_key(|r| r.priority);
    for rule in sorted {
        let all = rule.conditions.iter().all(|c| match c {
            Condition::HostHeader(v) => r.host.as_ref().is_some_and(|h| {
                let h = h.split(':').next().unwrap();
                v.iter().any(|p| naive_match(p, h, true))
            }),
            Condition::PathPattern(v) => v.iter().any(|p| naive_match(p, &r.path, false)),
            Condition::HttpHeader(h) => r.headers.iter().any(|(n, val)| {
                n.eq_ignore_ascii_case(&h.name)
                    && h.values.iter().any(|p| naive_match(p, val, true))
            }),
            Condition::HttpRequestMethod(v) => v.contains(&r.method),
            Condition::QueryString(pairs) => pairs.iter().any(|qp| {
                r.query.iter().any(|(k, v)| {
                    qp.key.as_ref().is_none_or(|key| naive_match(key, k, true))
                        && naive_match(&qp.value, v, true)
                })
            }),
            Condition::SourceIp(cidrs) => cidrs.iter().any(|c| c.contains(r.source)),
        });
        if all {
            return Some(rule.priority);
        }
    }
    None
}

fn pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[aAb*?/]{0,6}").unwrap()
}

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[aAb/é]{0,8}").unwrap()
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        prop::collection::vec(pattern(), 1..3).prop_map(Condition::HostHeader),
        prop::collection::vec(pattern(), 1..3).prop_map(Condition::PathPattern),
        (
            prop::sample::select(vec!["X-A", "x-b"]),
            prop::collection::vec(pattern(), 1..3)
        )
            .prop_map(|(n, values)| Condition::HttpHeader(HeaderCondition {
                name: n.into(),
                values
            })),
        prop::collection::vec(prop::sample::select(vec!["GET", "POST", "get"]), 1..3)
            .prop_map(|v| Condition::HttpRequestMethod(v.into_iter().map(String::from).collect())),
        prop::collection::vec(
            (proptest::option::of(pattern()), pattern())
                .prop_map(|(key, value)| QueryPair { key, value }),
            1..3
        )
        .prop_map(Condition::QueryString),
        prop::collection::vec(
            prop::sample::select(vec!["10.0.0.0/8", "10.1.0.0/16", "::/0", "fd00::/8"]),
            1..3
        )
        .prop_map(|v| Condition::SourceIp(v.into_iter().map(|c| c.parse().unwrap()).collect())),
    ]
}

/// A query string with every character possibly percent-encoded.
fn encode(s: &str, encode_mask: u32) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if encode_mask & (1 << (i % 32)) != 0 {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matcher_agrees_with_the_naive_reference(
        rules in prop::collection::vec((1u32..20, prop::collection::vec(condition(), 1..4)), 0..6),
        method in prop::sample::select(vec!["GET", "POST", "get"]),
        host in proptest::option::of(text()),
        port in proptest::option::of(1u16..100),
        path in text(),
        query in prop::collection::vec((text(), text()), 0..3),
        mask in any::<u32>(),
        headers in prop::collection::vec((prop::sample::select(vec!["x-a", "X-B", "x-c"]), text()), 0..3),
        source in prop::sample::select(vec!["10.1.2.3", "10.2.0.1", "192.0.2.1", "fd00::1", "::ffff:10.1.0.1"]),
    ) {
        // unique priorities, as validation guarantees
        let mut seen = std::collections::HashSet::new();
        let rules: Vec<Rule> = rules
            .into_iter()
            .filter(|(p, _)| seen.insert(*p))
            .map(|(p, conditions)| rule(p, conditions))
            .collect();
        let source: IpAddr = source.parse().unwrap();
        let host = host.map(|h| match port {
            Some(p) => format!("{h}:{p}"),
            None => h,
        });
        let query_text = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k, mask), encode(v, mask.rotate_left(7))))
            .collect::<Vec<_>>()
            .join("&");
        let mut map = HeaderMap::new();
        for (n, v) in &headers {
            map.append(*n, HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")));
        }
        let naive = NaiveReq {
            method: method.to_string(),
            host: host.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: map
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), String::from_utf8(v.as_bytes().to_vec()).unwrap()))
                .collect(),
            source,
        };
        let compiled = ListenerRules::compile(&rules, Action::forward_to("d"));
        let view = RequestView {
            method: method.as_bytes(),
            host: host.as_deref().map(str::as_bytes),
            path: path.as_bytes(),
            query: if query.is_empty() { None } else { Some(query_text.as_bytes()) },
            headers: &map,
            source,
        };
        prop_assert_eq!(compiled.evaluate(&view).priority, naive_eval(&rules, &naive));
    }
}
