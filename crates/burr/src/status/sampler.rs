//! The one sampler of the process: once a second it reads the counters rates are made of
//! (requests per listener, selections per target, and the latency histograms once they exist)
//! from the runtime in service and keeps the last [`KEPT`] readings. Every viewer of
//! `/api/v1/status` reads rates from these readings, so ten open consoles cost what one does,
//! and a rate is the same whoever asks.
//!
//! A rate is the difference between the newest reading and the one about [`RATE_WINDOW`] older,
//! over the time between them (shorter while burr has run less than that).
//!
//! The readings sit behind a `Mutex` on the control side; the data plane never takes it (the
//! sampler reads the runtime through its `ArcSwap` and the counters' atomics).
//!
//! One figure is not an atomic: the live sessions of a header or source-IP sticky pool are
//! counted in its session table, whose shards the request path locks. The sampler counts them
//! here, once a second for the whole process (one shard of 64 locked at a time, as a `/metrics`
//! scrape does), so that a viewer of the status document never takes a lock the data plane
//! takes, however many viewers there are.

use super::quantile::{self, Cumulative, Latency};
use burr_proxy::DataPlane;
use burr_proxy::runtime::{ListenerKey, ListenerRuntime, Runtime, TargetShared};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Readings kept: a little more than the rate window.
pub const KEPT: usize = 11;
/// The window rates and latency quantiles are computed over.
pub const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Time between readings.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// A target across snapshots: its pool and address (as the status document names it).
pub type TargetKey = (String, String);

/// The counters of one moment.
#[derive(Default)]
struct Reading {
    at: Option<Instant>,
    listener_requests: HashMap<ListenerKey, u64>,
    listener_latency: HashMap<ListenerKey, Cumulative>,
    target_selections: HashMap<TargetKey, u64>,
    target_latency: HashMap<TargetKey, Cumulative>,
    /// Live sessions per target of header and source-IP sticky pools, as counted at `at`.
    keyed_sessions: HashMap<TargetKey, u64>,
}

/// What the status document reads: rates and latency over the window.
#[derive(Default)]
pub struct Rates {
    /// Seconds between the two readings compared; `None` before there are two.
    pub window_seconds: Option<f64>,
    pub listener_rps: HashMap<ListenerKey, f64>,
    pub listener_latency: HashMap<ListenerKey, Latency>,
    pub target_rps: HashMap<TargetKey, f64>,
    pub target_latency: HashMap<TargetKey, Latency>,
    /// Live sessions per target of header and source-IP sticky pools, from the newest reading
    /// (absent before the first).
    pub keyed_sessions: HashMap<TargetKey, u64>,
}

#[derive(Default)]
pub struct Sampler {
    readings: Mutex<VecDeque<Arc<Reading>>>,
}

/// The request-duration histogram of a listener (`burr_request_duration_seconds`), when the
/// data plane keeps them (`--latency-histograms on`).
pub fn listener_latency_buckets(listener: &ListenerRuntime, kept: bool) -> Option<Cumulative> {
    kept.then(|| listener.stats.request_duration.cumulative())
}

/// The upstream-time histogram of a target (`burr_target_response_duration_seconds`), when the
/// data plane keeps them.
pub fn target_latency_buckets(target: &TargetShared, kept: bool) -> Option<Cumulative> {
    kept.then(|| target.stats.response_duration.cumulative())
}

pub fn target_key(pool: &str, target: &TargetShared) -> TargetKey {
    (pool.to_string(), target.address.to_string())
}

impl Sampler {
    /// Reads the counters every [`INTERVAL`], forever.
    pub async fn run(self: Arc<Self>, dataplane: Arc<DataPlane>) {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sample(
                &dataplane.runtime(),
                dataplane.latency_histograms(),
                Instant::now(),
            );
        }
    }

    fn sample(&self, runtime: &Runtime, histograms: bool, at: Instant) {
        let mut reading = Reading {
            at: Some(at),
            ..Reading::default()
        };
        for l in runtime.listeners.values() {
            reading
                .listener_requests
                .insert(l.key.clone(), l.stats.requests.load(Ordering::Relaxed));
            if let Some(buckets) = listener_latency_buckets(l, histograms) {
                reading.listener_latency.insert(l.key.clone(), buckets);
            }
        }
        for (pool, t) in runtime.targets() {
            let key = target_key(&pool.spec.name, &t.shared);
            reading.target_selections.insert(
                key.clone(),
                t.shared.stats.selections.load(Ordering::Relaxed),
            );
            if let Some(buckets) = target_latency_buckets(&t.shared, histograms) {
                reading.target_latency.insert(key, buckets);
            }
        }
        for pool in runtime.pools.values() {
            let Some(keyed) = &pool.keyed else { continue };
            let counts = keyed.sessions.live_sessions(pool.clock.unix_now());
            for t in &pool.targets {
                reading.keyed_sessions.insert(
                    target_key(&pool.spec.name, &t.shared),
                    counts.get(&t.shared.id).copied().unwrap_or(0),
                );
            }
        }
        let mut readings = self.readings.lock().unwrap_or_else(|e| e.into_inner());
        if readings.len() == KEPT {
            readings.pop_front();
        }
        readings.push_back(Arc::new(reading));
    }

    /// Rates between the newest reading and the oldest one at most [`RATE_WINDOW`] before it.
    pub fn rates(&self) -> Rates {
        let (earlier, later) = {
            let readings = self.readings.lock().unwrap_or_else(|e| e.into_inner());
            let Some(later) = readings.back().cloned() else {
                return Rates::default();
            };
            let later_at = later.at.unwrap_or_else(Instant::now);
            let earlier = readings
                .iter()
                .find(|r| {
                    r.at.is_some_and(|at| later_at - at <= RATE_WINDOW + INTERVAL / 2)
                })
                .cloned();
            (earlier, later)
        };
        let mut rates = match earlier {
            Some(earlier) => compare(&earlier, &later),
            None => Rates::default(),
        };
        rates.keyed_sessions = later.keyed_sessions.clone();
        rates
    }
}

fn compare(earlier: &Reading, later: &Reading) -> Rates {
    let seconds = match (earlier.at, later.at) {
        (Some(e), Some(l)) if l > e => (l - e).as_secs_f64(),
        _ => return Rates::default(),
    };
    // A listener or target missing from the earlier reading came into service since: its
    // counters started at zero then, so all it counted is inside the window.
    let rate = |now: u64, then: Option<&u64>| {
        now.saturating_sub(then.copied().unwrap_or(0)) as f64 / seconds
    };
    let latency = |now: &Cumulative, then: Option<&Cumulative>| {
        quantile::latency(&quantile::window(
            then.unwrap_or(&Cumulative::default()),
            now,
        ))
    };
    Rates {
        window_seconds: Some(seconds),
        listener_rps: later
            .listener_requests
            .iter()
            .map(|(k, &v)| (k.clone(), rate(v, earlier.listener_requests.get(k))))
            .collect(),
        listener_latency: later
            .listener_latency
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), latency(v, earlier.listener_latency.get(k))?)))
            .collect(),
        target_rps: later
            .target_selections
            .iter()
            .map(|(k, &v)| (k.clone(), rate(v, earlier.target_selections.get(k))))
            .collect(),
        target_latency: later
            .target_latency
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), latency(v, earlier.target_latency.get(k))?)))
            .collect(),
        keyed_sessions: HashMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(at: Instant, requests: u64) -> Reading {
        let key = ListenerKey {
            balancer: "web".into(),
            port: 80,
        };
        Reading {
            at: Some(at),
            listener_requests: HashMap::from([(key, requests)]),
            ..Reading::default()
        }
    }

    #[test]
    fn the_rate_is_the_difference_over_the_window_not_the_last_second() {
        let sampler = Sampler::default();
        let start = Instant::now();
        {
            let mut readings = sampler.readings.lock().unwrap();
            // 11 readings a second apart; 100 requests a second, a burst of 1000 in the last.
            for s in 0..11u64 {
                let total = s * 100 + if s == 10 { 1000 } else { 0 };
                readings.push_back(Arc::new(reading(start + Duration::from_secs(s), total)));
            }
        }
        let rates = sampler.rates();
        assert_eq!(rates.window_seconds, Some(5.0));
        let rps = rates.listener_rps.values().next().copied().unwrap();
        // (2000 - 500) / 5 s, not the whole ten seconds nor the last one.
        assert!((rps - 300.0).abs() < 1e-9, "{rps}");
    }

    #[test]
    fn no_rate_before_two_readings() {
        let sampler = Sampler::default();
        assert!(sampler.rates().window_seconds.is_none());
        sampler
            .readings
            .lock()
            .unwrap()
            .push_back(Arc::new(reading(Instant::now(), 5)));
        assert!(sampler.rates().window_seconds.is_none());
    }

    #[test]
    fn a_counter_that_went_back_reads_as_zero_not_negative() {
        let start = Instant::now();
        let rates = compare(
            &reading(start, 900),
            &reading(start + Duration::from_secs(2), 10),
        );
        assert_eq!(rates.listener_rps.values().next().copied(), Some(0.0));
    }

    #[test]
    fn a_listener_new_in_the_window_counts_all_it_served() {
        let start = Instant::now();
        let mut later = reading(start + Duration::from_secs(5), 20);
        let mut buckets = Cumulative::default();
        buckets.iter_mut().skip(3).for_each(|b| *b = 20); // 20 requests of about 1 ms
        later.listener_latency = later
            .listener_requests
            .keys()
            .map(|k| (k.clone(), buckets))
            .collect();
        let rates = compare(
            &Reading {
                at: Some(start),
                ..Reading::default()
            },
            &later,
        );
        assert_eq!(rates.listener_rps.values().next().copied(), Some(4.0));
        let latency = rates
            .listener_latency
            .values()
            .next()
            .expect("timed requests");
        assert_eq!(latency.count, 20);
    }
}
