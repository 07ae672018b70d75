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
