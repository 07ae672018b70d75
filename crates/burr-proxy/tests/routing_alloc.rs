//! The rule matcher evaluates host, path, method, header and source-ip conditions without
//! allocating (its module doc's promise): a counting allocator, per thread, around evaluations.

use burr_model::routing::{Action, Condition, HeaderCondition, QueryPair, Rule};
use burr_proxy::routing::{ListenerRules, RequestView, split_target};
use http::{HeaderMap, HeaderValue};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn rules() -> Vec<Rule> {
    let mut rules: Vec<Rule> = (1..=50)
        .map(|i| Rule {
            priority: i,
            conditions: vec![
                Condition::HostHeader(vec![format!("*.svc{i}.example.com")]),
                Condition::PathPattern(vec![format!("/api/v?/s{i}/*"), "*.jpg".into()]),
                Condition::HttpHeader(HeaderCondition {
                    name: "X-Tenant".into(),
                    values: vec![format!("t{i}-*")],
                }),
                Condition::HttpRequestMethod(vec!["GET".into()]),
                Condition::SourceIp(vec!["192.0.2.0/24".parse().unwrap()]),
            ],
            action: Action::forward_to(format!("p{i}")),
            elbv2: None,
        })
        .collect();
    rules.push(Rule {
        priority: 100,
        conditions: vec![Condition::QueryString(vec![QueryPair {
            key: Some("v".into()),
            value: "2".into(),
        }])],
        action: Action::forward_to("q"),
        elbv2: None,
    });
    rules
}

#[test]
fn evaluation_without_query_conditions_does_not_allocate() {
    let compiled = ListenerRules::compile(&rules(), Action::forward_to("default"));
    let mut headers = HeaderMap::new();
    headers.insert("x-tenant", HeaderValue::from_static("t50-blue"));
    headers.insert("user-agent", HeaderValue::from_static("curl/8"));
    let (path, query) = split_target(b"/api/v1/s50/x?a=1");
    let view = RequestView {
        method: b"GET",
        host: Some(b"www.svc50.example.com:8080"),
        path,
        query,
        headers: &headers,
        source: "192.0.2.7".parse().unwrap(),
    };
    // warm up (thread-locals, lazy statics)
    assert_eq!(compiled.evaluate(&view).priority, Some(50));
    let n = allocations_during(|| {
        for _ in 0..100 {
            assert_eq!(compiled.evaluate(&view).priority, Some(50));
        }
    });
    assert_eq!(n, 0, "rules 1-50 matched with {n} allocations");
    // a query-string condition is reached when nothing before matches: it may allocate
    let miss = RequestView {
        source: "198.51.100.1".parse().unwrap(),
        ..view
    };
    let n = allocations_during(|| assert_eq!(compiled.evaluate(&miss).priority, None));
    assert!(n > 0, "the counter counts");
}

/// The request path's decision (`actions::route`, rules compiled against a runtime's pools)
/// allocates nothing for a forward to one pool, a weighted forward, a weighted forward with
/// group stickiness (cookie read in place, token sealed inline) or a fixed response.
#[test]
fn the_request_path_decision_does_not_allocate() {
    use burr_model::routing::{FixedResponse, Forward, WeightedPool};
    use burr_model::{Balancer, Listener, Pool, Protocol, State, Target, TargetAddress};
    use burr_proxy::actions::{self, Outcome, RequestContext};
    use burr_proxy::runtime::{CompileContext, Runtime};

    let pool = |name: &str| {
        let mut p = Pool::new(name);
        p.targets.push(Target {
            address: TargetAddress::parse("127.0.0.1:9001", None).unwrap(),
            weight: 1,
        });
        p
    };
    let weighted = |stickiness_secs| {
        Action::Forward(Forward {
            pool: None,
            pools: vec![
                WeightedPool {
                    pool: "a".into(),
                    weight: 3,
                },
                WeightedPool {
                    pool: "b".into(),
                    weight: 1,
                },
            ],
            stickiness_secs,
        })
    };
    let rule = |priority, path: &str, action| Rule {
        priority,
        conditions: vec![Condition::PathPattern(vec![path.into()])],
        action,
        elbv2: None,
    };
    let mut listener = Listener::new(80, Protocol::Http, "");
    listener.rules = vec![
        rule(1, "/one", Action::forward_to("a")),
        rule(2, "/weighted", weighted(None)),
        rule(3, "/sticky", weighted(Some(60))),
    ];
    listener.default_action = Some(Action::FixedResponse(FixedResponse {
        status: 404,
        content_type: Some("text/plain".into()),
        body: Some("none".into()),
    }));
    let mut balancer = Balancer::new("web");
    balancer.listeners.push(listener);
    let state =
        State::default().with_file_objects(vec![balancer], vec![pool("a"), pool("b")], vec![]);
    state.validate(None).unwrap();
    let context = CompileContext {
        listen_host: None,
        workers: 1,
        keys: std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(
            burr_affinity::token::KeyRing::generate(0, [7; 32], 60),
        )),
        clock: burr_proxy::clock::Clock::manual(),
    };
    let runtime = Runtime::compile(&state, 1, &Runtime::default(), &context).unwrap();
    let listener = runtime.listeners.values().next().unwrap();
    let request = RequestContext {
        https: false,
        port: 80,
    };
    // A returning client of the sticky group: its cookie, read in place, keeps it on "b".
    let token = burr_affinity::groups::seal(
        &context.keys.load(),
        burr_model::PoolId::of("b"),
        context.clock.unix_now(),
        60,
        [1; burr_affinity::token::NONCE_BYTES],
    );
    let mut headers = HeaderMap::new();
    let cookie = format!("x=1; AWSALBTG={token}");
    headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    let view = |path: &'static [u8]| RequestView {
        method: b"GET",
        host: Some(b"example.com"),
        path,
        query: None,
        headers: &headers,
        source: "192.0.2.7".parse().unwrap(),
    };
    for (path, forwards) in [
        (&b"/one"[..], true),
        (b"/weighted", true),
        (b"/sticky", true),
        (b"/other", false),
    ] {
        let decide = || {
            let routed = actions::route(&listener.rules, &view(path), &request);
            match routed.outcome {
                Outcome::Forward { pool, group } => {
                    assert!(forwards);
                    if group.is_some() {
                        assert_eq!(pool.spec.name, "b", "kept by the group cookie");
                    }
                }
                Outcome::Answer(_) => assert!(!forwards),
            }
        };
        decide(); // warm up (thread-locals, the token memo)
        let n = allocations_during(|| {
            for _ in 0..100 {
                decide();
            }
        });
        assert_eq!(
            n,
            0,
            "{} decided with {n} allocations",
            String::from_utf8_lossy(path)
        );
    }
}
