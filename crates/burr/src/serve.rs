//! `burr serve`: opens the store, applies the configuration file (if any), puts the data plane
//! in service, serves the admin endpoint, and on SIGHUP reopens the access log and re-applies
//! the file.
//!
//! Applying a configuration is all-or-nothing: the file is parsed and validated, the new
//! listeners are bound, and only then is the change written to the store and put in service. Any
//! failure along the way leaves both the store and the running data plane as they were.

use crate::ServeArgs;
use crate::admin::{self, Admin};
use crate::apply::{Applier, Refusal};
use crate::config::{ConfigError, ConfigSource, Declared};
use crate::keys;
use arc_swap::ArcSwap;
use burr_model::State;
use burr_proxy::access_log::{self, AccessLog};
use burr_proxy::clock::Clock;
use burr_proxy::{DataPlane, DataPlaneOptions};
use burr_store::Store;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::signal::unix::{SignalKind, signal};

/// Exit status for refused input (bad arguments, configuration, ports or certificates).
const REFUSED: u8 = 2;

pub fn run(args: ServeArgs) -> ExitCode {
    // The control plane (admin endpoint, health checks, reloads) runs on its own small runtime;
    // the data plane has its worker threads.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("burr-control")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("burr: cannot start the control runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> ExitCode {
    match start(&args).await {
        Ok(running) => {
            running.wait_for_signals(&args).await;
            if let Some(log) = &running.access_log {
                // The lines of the last requests may still be queued (the writer gathers them).
                log.flush(std::time::Duration::from_secs(2));
            }
            ExitCode::SUCCESS
        }
        Err(messages) => {
            for m in messages {
                eprintln!("{m}");
            }
            ExitCode::from(REFUSED)
        }
    }
}

pub struct Running {
    applier: Arc<Applier>,
    /// Reopened on SIGHUP (logrotate moves the file, then signals).
    access_log: Option<AccessLog>,
    pub api: std::net::SocketAddr,
}

/// Everything up to "ready": store, configuration, listeners, admin endpoint.
pub async fn start(args: &ServeArgs) -> Result<Running, Vec<String>> {
    let declared = match &args.config {
        Some(path) => {
            let source = ConfigSource::read(path).map_err(render)?;
            let declared = source.load(args.listen_host).map_err(render)?;
            Some((source, declared))
        }
        None => None,
    };
    let store = Arc::new(
        Store::open(&args.data_dir, args.listen_host).map_err(|e| vec![format!("burr: {e}")])?,
    );
    let access_log = open_access_log(args, &store)?;
    let workers = args
        .workers
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let keys = Arc::new(ArcSwap::from_pointee(
        keys::load_or_create(&store).map_err(|e| vec![e])?,
    ));
    tokio::spawn(keys::watch(store.clone(), keys.clone()));
    let clock = if args.manual_clock {
        tracing::warn!(
            "--manual-clock: the data plane's clock stands still until POST /test/clock moves \
             it; this is for tests only"
        );
        Clock::manual()
    } else {
        Clock::system()
    };
    let dataplane = DataPlane::start(DataPlaneOptions {
        workers,
        listen_host: args.listen_host,
        access_log: access_log.clone(),
        keys,
        clock,
        max_connections: args.max_connections.map(|n| n as usize),
        latency_histograms: args.latency_histograms == crate::Switch::On,
        http2_codec: args.http2_codec.into(),
    })
    .map_err(|e| vec![format!("burr: cannot start worker threads: {e}")])?;
    let api = tokio::net::TcpListener::bind(args.api)
        .await
        .map_err(|e| vec![format!("burr: --api {}: cannot listen: {e}", args.api)])?;
    let api_address = api.local_addr().map_err(|e| vec![e.to_string()])?;

    let applier = Arc::new(Applier::new(
        store.clone(),
        dataplane.clone(),
        args.listen_host,
    ));
    match &declared {
        Some((source, declared)) => {
            crate::changes::with_origin(
                crate::changes::Source::Start,
                "configuration file applied",
                || apply_declared(&applier, source, declared),
            )?;
        }
        None => applier
            .serve_stored()
            .map_err(|e| e.iter().map(|e| format!("burr: {e}")).collect::<Vec<_>>())?,
    }

    let (credentials, source) =
        crate::credentials::load_or_create(&args.data_dir).map_err(|e| vec![e])?;
    if let crate::credentials::Source::Created = source {
        // Never the secret: standard error often ends up in a log collector.
        eprintln!(
            "burr: created API credentials in {} (access key id {}); \
             `burr credentials --data-dir {}` shows the pair",
            crate::credentials::path(&args.data_dir).display(),
            credentials.access_key_id,
            args.data_dir.display()
        );
    }
    let account_id = crate::control::account_id(&applier.store).map_err(|e| vec![e])?;
    let control = Arc::new(crate::control::Control {
        applier: applier.clone(),
        listen_host: args.listen_host,
        address_pool: args.address_pool.clone(),
        account_id,
        cloudfront_ports: burr_model::cloudfront::FrontEndPorts {
            http: args.cloudfront_http_port,
            https: args.cloudfront_https_port,
        },
    });
    let sampler = Arc::new(crate::status::sampler::Sampler::default());
    tokio::spawn(sampler.clone().run(dataplane.clone()));
    let console = crate::console::Console {
        access: crate::console::access::Access::new(
            args.console.switch == crate::Switch::On,
            args.console.allow.clone(),
            (args.console.auth == crate::console::access::AuthMode::Basic).then_some(&credentials),
        ),
        dataplane: dataplane.clone(),
        applier: applier.clone(),
        sampler,
        started: std::time::Instant::now(),
    };
    let admin = Arc::new(Admin {
        dataplane: dataplane.clone(),
        api: Arc::new(burr_api::Api::new(control, credentials)),
        console,
        ready: Default::default(),
    });
    tokio::spawn(admin::serve(api, admin.clone()));
    admin.ready.store(true, Ordering::Release);
    for (key, address) in dataplane.bound_addresses() {
        tracing::info!(listener = %key, %address, "serving");
    }
    tracing::info!(api = %api_address, generation = store.snapshot().generation, "burr is ready");
    Ok(Running {
        applier,
        access_log,
        api: api_address,
    })
}

/// Opens `--access-log` with its format and rotation flags (`None` without the flag).
fn open_access_log(args: &ServeArgs, store: &Store) -> Result<Option<AccessLog>, Vec<String>> {
    let Some(path) = &args.access_log else {
        return Ok(None);
    };
    let options = &args.access_log_options;
    if let (Some(max), true) = (options.max_bytes, path.as_os_str() == "-") {
        return Err(vec![format!(
            "burr: --access-log-max-bytes {max}: standard output (--access-log -) cannot be \
             rotated; give --access-log a file"
        )]);
    }
    let settings = access_log::Settings {
        path: path.clone(),
        format: options.format.into(),
        max_bytes: options.max_bytes,
        keep: options.keep,
        account_id: crate::control::account_id(store).map_err(|e| vec![e])?,
    };
    AccessLog::open(&settings).map(Some).map_err(|e| {
        vec![format!(
            "burr: cannot open access log {}: {e}",
            path.display()
        )]
    })
}

impl Running {
    /// Reloads on SIGHUP; returns on SIGTERM or SIGINT.
    async fn wait_for_signals(&self, args: &ServeArgs) {
        let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => self.reload(args),
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        tracing::info!("shutting down");
    }

    fn reload(&self, args: &ServeArgs) {
        if let Some(log) = &self.access_log {
            log.reopen();
        }
        let Some(path) = &args.config else {
            tracing::warn!(
                "SIGHUP: no configuration to re-read (burr was started without --config)"
            );
            return;
        };
        let result = crate::changes::with_origin(
            crate::changes::Source::File,
            "configuration file reloaded",
            || {
                let loaded = ConfigSource::read(path)
                    .and_then(|source| source.load(args.listen_host).map(|d| (source, d)))
                    .map_err(render);
                match loaded {
                    Ok((source, declared)) => apply_declared(&self.applier, &source, &declared),
                    Err(messages) => {
                        // Refused before it reached the applier: the console lists it too.
                        self.applier.record(Some(messages.join("; ")));
                        Err(messages)
                    }
                }
            },
        );
        match result {
            Ok(generation) => tracing::info!(generation, "configuration reloaded"),
            Err(messages) => {
                for m in messages {
                    tracing::error!("reload refused, nothing changed: {m}");
                }
            }
        }
    }
}

/// Applies the file's objects: validate, bind, persist, then serve. Returns the new generation.
fn apply_declared(
    applier: &Applier,
    source: &ConfigSource,
    declared: &Declared,
) -> Result<u64, Vec<String>> {
    let result = applier.apply(|state: &mut State| {
        *state = declared.apply_to(state);
        Ok::<(), std::convert::Infallible>(())
    });
    match result {
        Ok(snapshot) => Ok(snapshot.generation),
        Err(Refusal::Invalid(errors)) => Err(render(source.locate_all(&errors))),
        Err(Refusal::Bind(errors)) => Err(errors.iter().map(|e| format!("burr: {e}")).collect()),
        Err(Refusal::Storage(e)) => Err(vec![format!("burr: {e}")]),
        Err(Refusal::Rejected(never)) => match never {},
    }
}

fn render(errors: Vec<ConfigError>) -> Vec<String> {
    errors.into_iter().map(|e| e.to_string()).collect()
}
