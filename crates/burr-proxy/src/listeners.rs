//! The data plane's front: binds listeners on every worker, swaps compiled runtimes in, and keeps
//! established connections alive across configuration changes.
//!
//! A change is applied in two steps so that nothing is half-applied: [`DataPlane::prepare`]
//! compiles the new state and binds every new listening socket (failing as a whole, leaving the
//! running configuration untouched), and [`DataPlane::commit`] swaps it in. Existing listeners get
//! the new configuration through their [`ListenerSlot`]; removed ones stop accepting, while their
//! open connections run to completion. A `udp` listener binds one UDP socket per worker and no
//! TCP socket; a `tcp_udp` listener binds both (see [`crate::udp`]).

use crate::access_log::AccessLog;
use crate::clock::Clock;
use crate::health::HealthSupervisor;
use crate::limits::{Backoff, ConnectionLimits, DescriptorBudget};
use crate::runtime::{CompileContext, CompileError, ListenerKey, ListenerRuntime, Runtime};
use crate::workers::Workers;
use arc_swap::ArcSwap;
use burr_affinity::token::KeyRing;
use burr_model::State;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Accept backlog of each listening socket.
const BACKLOG: i32 = 4096;

/// Start-up settings of the data plane.
#[derive(Clone)]
pub struct DataPlaneOptions {
    /// Worker threads (at least one).
    pub workers: usize,
    /// When set, every listener binds this address instead of its balancer's.
    pub listen_host: Option<IpAddr>,
    pub access_log: Option<AccessLog>,
    /// The key ring sealing stickiness cookies; store a new ring to rotate.
    pub keys: Arc<ArcSwap<KeyRing>>,
    /// The clock the data plane's rules read (`Clock::system()` outside tests).
    pub clock: Arc<Clock>,
    /// Process-wide cap on client connections; `None` takes what the descriptor limit holds
    /// with a reserve kept (see [`DescriptorBudget`]).
    pub max_connections: Option<usize>,
    /// Request latency histograms (`--latency-histograms`): when off, no request takes a time
    /// for them and they are not rendered.
    pub latency_histograms: bool,
    /// Which HTTP/2 server serves HTTP/2 clients (`--http2-codec`).
    pub http2_codec: crate::http::Http2Codec,
}

/// The current configuration of one listener, replaced in place on every change so open
/// connections serve their next request with the new settings.
pub struct ListenerSlot {
    current: ArcSwap<ListenerRuntime>,
}

impl ListenerSlot {
    pub fn current(&self) -> Arc<ListenerRuntime> {
        self.current.load_full()
    }
}

/// Why a configuration could not be put in service.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("balancer \"{balancer}\" listener {port}: cannot listen on {address}: {cause}")]
    Bind {
        balancer: String,
        port: u16,
        address: SocketAddr,
        cause: io::Error,
    },
    #[error(transparent)]
    Compile(#[from] CompileError),
}

/// A listener that is accepting: its slot and the stop signals of its accept and receive loops.
struct Bound {
    slot: Arc<ListenerSlot>,
    address: SocketAddr,
    kinds: SocketKinds,
    _stops: Vec<oneshot::Sender<()>>,
}

/// Which sockets a listener needs: TCP (every protocol but `udp`), UDP (`udp`, `tcp_udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SocketKinds {
    stream: bool,
    datagram: bool,
}

impl SocketKinds {
    fn of(listener: &ListenerRuntime) -> Self {
        Self {
            stream: listener.spec.protocol.carries_connections(),
            datagram: listener.spec.protocol.carries_datagrams(),
        }
    }
}

/// One listener's newly bound sockets, one per worker of each kind it needs.
#[derive(Default)]
struct ListenerSockets {
    stream: Vec<std::net::TcpListener>,
    datagram: Vec<std::net::UdpSocket>,
}

/// A compiled configuration with its new sockets bound, ready to commit.
pub struct Prepared {
    runtime: Runtime,
    sockets: HashMap<ListenerKey, ListenerSockets>,
    /// The AWS names the access log prints, published with the runtime.
    log_names: Option<crate::access_log::Names>,
}

impl Prepared {
    /// Records the store generation this configuration was persisted as.
    pub fn set_generation(&mut self, generation: u64) {
        self.runtime.generation = generation;
    }
}

pub struct DataPlane {
    options: DataPlaneOptions,
    workers: Workers,
    runtime: ArcSwap<Runtime>,
    bound: Mutex<HashMap<ListenerKey, Bound>>,
    /// Addresses of listeners a commit removed, and when: their sockets close on the workers a
    /// moment later, so a change that binds one again right away waits for that (see
    /// [`bind_released`]).
    released: Mutex<HashMap<SocketAddr, std::time::Instant>>,
    health: HealthSupervisor,
    limits: Arc<ConnectionLimits>,
}

impl DataPlane {
    /// Starts the worker threads. Must be called within a tokio runtime, which runs health checks.
    pub fn start(options: DataPlaneOptions) -> io::Result<Arc<Self>> {
        // Idle tracking reads the real coarse clock, whichever clock the rules read.
        Clock::system();
        let budget = DescriptorBudget::of_process();
        let max_connections = options.max_connections.unwrap_or(budget.max_connections);
        if max_connections > budget.max_connections {
            // As HAProxy does for a maxconn above its ulimit-n: serve, but say what may happen.
            tracing::warn!(
                max_connections,
                descriptor_limit = budget.limit,
                reserve = budget.reserve,
                fits = budget.max_connections,
                "--max-connections is above what the descriptor limit holds at 2 per connection \
                 with the reserve kept; clients may exhaust descriptors (and the admin endpoint \
                 with them) before the cap stops them"
            );
        }
        tracing::info!(
            max_connections,
            descriptor_limit = budget.limit,
            reserve = budget.reserve,
            "connection cap"
        );
        let workers = Workers::start(options.workers)?;
        Ok(Arc::new(Self {
            limits: Arc::new(ConnectionLimits::new(budget, max_connections)),
            options,
            workers,
            runtime: ArcSwap::from_pointee(Runtime::default()),
            bound: Mutex::new(HashMap::new()),
            released: Mutex::new(HashMap::new()),
            health: HealthSupervisor::new(tokio::runtime::Handle::current()),
        }))
    }

    /// The clock the data plane's rules read.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.options.clock
    }

    /// Whether requests are timed into the latency histograms (`--latency-histograms`).
    pub fn latency_histograms(&self) -> bool {
        self.options.latency_histograms
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Compiles `state` and binds the sockets of listeners that are not yet listening.
    pub fn prepare(&self, state: &State, generation: u64) -> Result<Prepared, Vec<BindError>> {
        let previous = self.runtime.load();
        let context = CompileContext {
            listen_host: self.options.listen_host,
            workers: self.workers.count(),
            keys: self.options.keys.clone(),
            clock: self.options.clock.clone(),
        };
        let runtime = Runtime::compile(state, generation, &previous, &context)
            .map_err(|errors| errors.into_iter().map(BindError::from).collect::<Vec<_>>())?;
        let bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        let mut sockets = HashMap::new();
        let mut errors = Vec::new();
        for (key, listener) in &runtime.listeners {
            let kinds = SocketKinds::of(listener);
            if bound
                .get(key)
                .is_some_and(|b| b.address == listener.bind && b.kinds == kinds)
            {
                continue;
            }
            match self.bind_released(listener.bind, kinds) {
                Ok(s) => {
                    sockets.insert(key.clone(), s);
                }
                Err(cause) => errors.push(BindError::Bind {
                    balancer: key.balancer.clone(),
                    port: key.port,
                    address: listener.bind,
                    cause,
                }),
            }
        }
        if errors.is_empty() {
            let log_names = self.options.access_log.as_ref().map(|l| l.names_of(state));
            Ok(Prepared {
                runtime,
                sockets,
                log_names,
            })
        } else {
            Err(errors)
        }
    }

    /// Puts a prepared configuration in service.
    pub fn commit(&self, prepared: Prepared) {
        let Prepared {
            runtime,
            mut sockets,
            log_names,
        } = prepared;
        if let (Some(log), Some(names)) = (&self.options.access_log, log_names) {
            log.publish(names);
        }
        let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        let mut released = self.released.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        released.retain(|_, at| now.duration_since(*at) < RELEASE_WAIT);
        bound.retain(|key, b| {
            let keep = runtime.listeners.get(key).is_some_and(|l| {
                l.bind == b.address && SocketKinds::of(l) == b.kinds && !sockets.contains_key(key)
            });
            if !keep {
                released.insert(b.address, now);
            }
            keep
        });
        drop(released);
        for (key, listener) in &runtime.listeners {
            if let Some(existing) = bound.get(key) {
                existing.slot.current.store(listener.clone());
                continue;
            }
            let Some(per_worker) = sockets.remove(key) else {
                continue;
            };
            let slot = Arc::new(ListenerSlot {
                current: ArcSwap::new(listener.clone()),
            });
            let mut stops = Vec::new();
            for (socket, handle) in per_worker.datagram.into_iter().zip(self.workers.handles()) {
                let (stop, stopped) = oneshot::channel();
                stops.push(stop);
                handle.spawn(crate::udp::serve(socket, slot.clone(), stopped));
            }
            for (socket, handle) in per_worker.stream.into_iter().zip(self.workers.handles()) {
                let (stop, stopped) = oneshot::channel();
                stops.push(stop);
                handle.spawn(accept_loop(
                    socket,
                    slot.clone(),
                    stopped,
                    self.options.access_log.clone(),
                    self.options.latency_histograms,
                    self.options.http2_codec,
                    self.limits.clone(),
                ));
            }
            tracing::info!(listener = %key, address = %listener.bind, protocol = %listener.spec.protocol, "listening");
            bound.insert(
                key.clone(),
                Bound {
                    slot,
                    address: listener.bind,
                    kinds: SocketKinds::of(listener),
                    _stops: stops,
                },
            );
        }
        drop(bound);
        // A listener's cap may have been raised: accept loops waiting at it look again.
        self.limits.wake_all();
        let runtime = Arc::new(runtime);
        runtime.publish_certificates();
        self.health.reconcile(&runtime);
        let previous = self.runtime.swap(runtime.clone());
        runtime.publish_retirements(&previous, self.options.clock.unix_now());
        runtime.publish_slow_start(&previous);
    }

    /// Addresses currently accepting connections, by listener.
    pub fn bound_addresses(&self) -> Vec<(ListenerKey, SocketAddr)> {
        let bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = bound.iter().map(|(k, b)| (k.clone(), b.address)).collect();
        out.sort();
        out
    }

    /// Prometheus text for everything the data plane counts.
    pub fn render_metrics(&self) -> String {
        let mut out = String::with_capacity(4096);
        crate::metrics::render(
            &self.runtime.load(),
            self.options.latency_histograms,
            &mut out,
        );
        crate::metrics::render_limits(&self.limits, &mut out);
        if let Some(log) = &self.options.access_log {
            log.render_metrics(&mut out);
        }
        out
    }
}

/// Binds the sockets of each kind a listener needs; any failure fails the whole (the sockets
/// already bound close as they drop).
fn bind_kinds(
    address: SocketAddr,
    kinds: SocketKinds,
    workers: usize,
) -> io::Result<ListenerSockets> {
    let mut sockets = ListenerSockets::default();
    if kinds.stream {
        sockets.stream = bind_all(address, workers)?;
    }
    if kinds.datagram {
        sockets.datagram = crate::udp::bind_all(address, workers)?;
    }
    Ok(sockets)
}

/// The address a connection accepted on a listener bound to `bind` was made to: `bind` itself,
/// unless the listener is bound to a wildcard address, where only the socket knows (one
/// `getsockname` call a connection saved in the usual case).
pub fn accepted_on(stream: &tokio::net::TcpStream, bind: SocketAddr) -> SocketAddr {
    if bind.ip().is_unspecified() {
        stream.local_addr().unwrap_or(bind)
    } else {
        bind
    }
}

/// How long after a commit removed a listener a bind of its address that finds it still in
/// use is tried again.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl DataPlane {
    /// Binds `address` for `kinds`. A listener a commit removed closes its sockets on its
    /// workers a moment after the commit (its accept and receive loops see the stop signal on
    /// their next turn), so a change that re-adds the address at once (delete a listener, then
    /// create it again) may find it in use: within [`RELEASE_WAIT`] of that removal, the bind is
    /// tried again every 10 ms until the old sockets are gone or the wait is over.
    fn bind_released(
        &self,
        address: SocketAddr,
        kinds: SocketKinds,
    ) -> io::Result<ListenerSockets> {
        loop {
            match bind_kinds(address, kinds, self.workers.count()) {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    let released = self.released.lock().unwrap_or_else(|e| e.into_inner());
                    let recent = released
                        .get(&address)
                        .is_some_and(|at| at.elapsed() < RELEASE_WAIT);
                    drop(released);
                    if !recent {
                        return Err(e);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => return other,
            }
        }
    }
}

/// Binds one listening TCP socket per worker (see [`worker_socket`]).
fn bind_all(address: SocketAddr, workers: usize) -> io::Result<Vec<std::net::TcpListener>> {
    (0..workers.max(1))
        .map(|_| {
            let socket = worker_socket(address, socket2::Type::STREAM, workers)?;
            socket.listen(BACKLOG)?;
            Ok(socket.into())
        })
        .collect()
}

/// A nonblocking socket of `kind` (stream or datagram) bound to `address` for one of `workers`
/// workers: with `SO_REUSEPORT` when there are several (the kernel spreads connections, and a
/// client's datagrams, over them), `IP_FREEBIND` (a balancer's virtual IP may be assigned to this
/// host after burr binds it) and, for TCP only, `SO_REUSEADDR` (on UDP it would let another
/// socket share the port).
pub(crate) fn worker_socket(
    address: SocketAddr,
    kind: socket2::Type,
    workers: usize,
) -> io::Result<socket2::Socket> {
    let stream = kind == socket2::Type::STREAM;
    let protocol = if stream {
        socket2::Protocol::TCP
    } else {
        socket2::Protocol::UDP
    };
    let socket = socket2::Socket::new(socket2::Domain::for_address(address), kind, Some(protocol))?;
    if stream {
        socket.set_reuse_address(true)?;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if address.is_ipv4() {
        socket.set_freebind_v4(true)?;
    } else {
        socket.set_freebind_v6(true)?;
    }
    if workers > 1 {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    Ok(socket)
}

/// Accepts the listener's connections on one worker while the caps have room, and hands each
/// to its protocol's server.
async fn accept_loop(
    socket: std::net::TcpListener,
    slot: Arc<ListenerSlot>,
    mut stop: oneshot::Receiver<()>,
    access_log: Option<AccessLog>,
    latency_histograms: bool,
    http2_codec: crate::http::Http2Codec,
    limits: Arc<ConnectionLimits>,
) {
    let listener = match TcpListener::from_std(socket) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register listening socket");
            return;
        }
    };
    // The cap is read at each look, so a reload that changes it applies at once.
    let cap = || {
        // A guard, not a clone: this runs a few times per accepted connection.
        let current = slot.current.load();
        current.spec.max_connections.map(|n| n as usize)
    };
    // Counted in the listener's stats, which outlive configuration changes.
    let counts = slot.current().stats.open.clone();
    let mut backoff = Backoff::default();
    loop {
        // At a cap, stop accepting: clients wait in the backlog, burr spends nothing on them.
        tokio::select! {
            biased;
            _ = &mut stop => return,
            () = limits.room(&counts, cap) => {}
        }
        let accepted = tokio::select! {
            biased;
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, client)) => {
                backoff.reset();
                let permit = tokio::select! {
                    biased;
                    _ = &mut stop => return,
                    permit = limits.admit(&counts, cap) => permit,
                };
                // The protocol is read per connection: a reload may change it in place.
                let current = slot.current();
                current
                    .stats
                    .connections
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if current.spec.protocol.is_http() {
                    tokio::spawn(permit.scope(crate::http::serve(
                        stream,
                        client,
                        slot.clone(),
                        access_log.clone(),
                        latency_histograms,
                        http2_codec,
                    )));
                } else {
                    tokio::spawn(permit.scope(crate::tcp::serve(stream, client, slot.clone())));
                }
            }
            Err(e) => {
                // Out of descriptors or socket memory: pause (until a connection closes, or
                // for a pause doubling up to 1 s) instead of retrying a failure that repeats.
                let failure = limits.accept_failed(&e, &slot.current().key);
                if failure.backs_off() {
                    let pause = backoff.next_pause();
                    tokio::select! {
                        biased;
                        _ = &mut stop => return,
                        () = limits.back_off(pause) => {}
                    }
                }
            }
        }
    }
}
