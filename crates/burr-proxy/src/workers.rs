//! Data-plane worker threads, each running a single-threaded tokio runtime.
//!
//! One runtime per thread (the HAProxy/nginx model) rather than one work-stealing runtime: a
//! connection, its requests and its upstream connections stay on one thread, which avoids
//! cross-thread wake-ups and lets per-worker pools go uncontended. Listeners are bound once per
//! worker with `SO_REUSEPORT` so the kernel spreads new connections across workers.

use std::cell::Cell;
use std::io;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

thread_local! {
    static WORKER_INDEX: Cell<usize> = const { Cell::new(0) };
}

/// Index of the worker thread running the caller (0 outside workers).
pub fn current_index() -> usize {
    WORKER_INDEX.with(|i| i.get())
}

/// The running worker threads. They run until the process exits or this value is dropped.
pub struct Workers {
    handles: Vec<Handle>,
    /// Dropping a sender ends its worker's runtime.
    _stops: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `count` worker threads (at least one).
    pub fn start(count: usize) -> io::Result<Self> {
        let mut handles = Vec::new();
        let mut stops = Vec::new();
        for index in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(runtime.handle().clone());
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            stops.push(stop_tx);
            std::thread::Builder::new()
                .name(format!("burr-worker-{index}"))
                .spawn(move || {
                    WORKER_INDEX.with(|i| i.set(index));
                    runtime.block_on(async {
                        let _ = stop_rx.await;
                    });
                })?;
        }
        Ok(Self {
            handles,
            _stops: stops,
        })
    }

    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    pub fn count(&self) -> usize {
        self.handles.len()
    }
}
