//! The recent configuration changes the console shows: a bounded ring of what the [`Applier`]
//! did with each change (applied or refused, and why), whichever front door it came through.
//!
//! The ring lives on the control side only (a `Mutex<VecDeque>`): the data plane never touches
//! it, so holding its lock for a push or a copy cannot stall a request.
//!
//! Where a change came from is not a parameter of [`Applier::apply`] (the API reaches it through
//! the `ControlPlane` trait, which knows no action names): the caller names it for the current
//! thread with [`with_origin`] around the call, and the applier reads it from there.
//!
//! [`Applier`]: crate::apply::Applier
//! [`Applier::apply`]: crate::apply::Applier::apply

use serde::Serialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

/// How many changes the ring keeps; older ones fall off.
pub const KEPT: usize = 50;

/// Which front door a change came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The AWS-compatible API.
    Api,
    /// The configuration file, re-read on SIGHUP.
    File,
    /// Start-up: the configuration file or the stored state put in service.
    Start,
}

/// What happened to a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Refused,
}

/// One change, as the status document shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// When the applier finished with it (UTC, RFC 3339).
    pub at: String,
    pub source: Source,
    /// The API action (e.g. `RegisterInstancesWithLoadBalancer`) or what the file did.
    pub what: String,
    /// The configuration generation in service after it (unchanged when refused).
    pub generation: u64,
    pub result: Outcome,
    /// Why it was refused; absent when applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The ring of the last [`KEPT`] changes, oldest first.
#[derive(Default)]
pub struct ChangeLog {
    ring: Mutex<VecDeque<Change>>,
}

impl ChangeLog {
    pub fn record(&self, change: Change) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(change);
    }

    /// The changes kept, newest first (as a viewer reads them).
    pub fn newest_first(&self) -> Vec<Change> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter().rev().cloned().collect()
    }
}

thread_local! {
    static ORIGIN: RefCell<Option<(Source, String)>> = const { RefCell::new(None) };
}

/// Runs `f` with changes applied on this thread attributed to `source` and `what`.
pub fn with_origin<R>(source: Source, what: impl Into<String>, f: impl FnOnce() -> R) -> R {
    let previous = ORIGIN.with(|o| o.replace(Some((source, what.into()))));
    // Restored on unwind too, so a panicking change never mislabels the next one.
    struct Restore(Option<(Source, String)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ORIGIN.with(|o| *o.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// Who is applying a change on this thread; an unnamed caller is the API (every other caller
/// names itself).
pub fn current_origin() -> (Source, String) {
    ORIGIN
        .with(|o| o.borrow().clone())
        .unwrap_or((Source::Api, "unknown API action".into()))
}

/// `time` as RFC 3339 in UTC, to the millisecond.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: u64) -> Change {
        Change {
            at: rfc3339(SystemTime::UNIX_EPOCH),
            source: Source::Api,
            what: format!("change {n}"),
            generation: n,
            result: Outcome::Applied,
            reason: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_fifty_newest_first() {
        let log = ChangeLog::default();
        for n in 0..(KEPT as u64 + 7) {
            log.record(change(n));
        }
        let kept = log.newest_first();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0].generation, KEPT as u64 + 6);
        assert_eq!(kept[KEPT - 1].generation, 7);
    }

    #[test]
    fn an_origin_holds_only_inside_its_call() {
        assert_eq!(current_origin().0, Source::Api);
        let inner = with_origin(Source::File, "configuration file reloaded", || {
            current_origin()
        });
        assert_eq!(
            inner,
            (Source::File, "configuration file reloaded".to_string())
        );
        assert_eq!(current_origin().1, "unknown API action");
    }
}
