//! `burr serve`: opens the store, applies the configuration file (if any), puts the data plane
//! in service, serves the admin endpoint, and re-applies the file on SIGHUP.
//!
//! Applying a configuration is all-or-nothing: the file is parsed and validated, the new
//! listeners are bound, and only then is the change written to the store and put in service. Any
//! failure along the way leaves both the store and the running data plane as they were.

use crate::ServeArgs;
use crate::admin::{self, Admin};
use crate::config::{ConfigError, ConfigSource, Declared};
use crate::keys;
use arc_swap::ArcSwap;
use burr_model::State;
use burr_proxy::access_log::AccessLog;
use burr_proxy::{BindError, DataPlane, DataPlaneOptions};
use burr_store::{ApplyError, Store};
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
    pub store: Arc<Store>,
    pub dataplane: Arc<DataPlane>,
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
    let access_log = match &args.access_log {
        Some(path) => Some(AccessLog::open(path).map_err(|e| {
            vec![format!(
                "burr: cannot open access log {}: {e}",
                path.display()
            )]
        })?),
        None => None,
    };
    let workers = args
        .workers
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let keys = Arc::new(ArcSwap::from_pointee(
        keys::load_or_create(&store).map_err(|e| vec![e])?,
    ));
    tokio::spawn(keys::watch(store.clone(), keys.clone()));
    let dataplane = DataPlane::start(DataPlaneOptions {
        workers,
        listen_host: args.listen_host,
        access_log,
        keys,
    })
    .map_err(|e| vec![format!("burr: cannot start worker threads: {e}")])?;
    let api = tokio::net::TcpListener::bind(args.api)
        .await
        .map_err(|e| vec![format!("burr: --api {}: cannot listen: {e}", args.api)])?;
    let api_address = api.local_addr().map_err(|e| vec![e.to_string()])?;

    match &declared {
        Some((source, declared)) => {
            apply_declared(&store, &dataplane, source, declared, args)?;
        }
        None => {
            let snapshot = store.snapshot();
            let prepared = dataplane
                .prepare(&snapshot.state, snapshot.generation)
                .map_err(|e| e.iter().map(|e| format!("burr: {e}")).collect::<Vec<_>>())?;
            dataplane.commit(prepared);
        }
    }

    let (credentials, source) =
        crate::credentials::load_or_create(&args.data_dir).map_err(|e| vec![e])?;
    if let crate::credentials::Source::Created = source {
        // Shown once; `burr credentials` shows them again.
        eprintln!(
            "burr: created API credentials in {} (shown once; `burr credentials` repeats them):\n{}",
            crate::credentials::path(&args.data_dir).display(),
            crate::credentials::render(&credentials)
        );
    }
    let control = Arc::new(crate::control::Control {
        store: store.clone(),
        dataplane: dataplane.clone(),
        listen_host: args.listen_host,
        address_pool: args.address_pool.clone(),
    });
    let admin = Arc::new(Admin {
        dataplane: dataplane.clone(),
        api: Arc::new(burr_api::Api::new(control, credentials)),
        ready: Default::default(),
    });
    tokio::spawn(admin::serve(api, admin.clone()));
    admin.ready.store(true, Ordering::Release);
    for (key, address) in dataplane.bound_addresses() {
        tracing::info!(listener = %key, %address, "serving");
    }
    tracing::info!(api = %api_address, generation = store.snapshot().generation, "burr is ready");
    Ok(Running {
        store,
        dataplane,
        api: api_address,
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
        let Some(path) = &args.config else {
            tracing::warn!("SIGHUP ignored: burr was started without --config");
            return;
        };
        let result = ConfigSource::read(path)
            .and_then(|source| source.load(args.listen_host).map(|d| (source, d)))
            .map_err(render)
            .and_then(|(source, declared)| {
                apply_declared(&self.store, &self.dataplane, &source, &declared, args)
            });
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

/// Why a declared configuration was not applied.
enum Refusal {
    Invalid(Vec<burr_model::ValidationError>),
    Bind(Vec<BindError>),
}

/// Applies the file's objects: validate, bind, persist, then serve. Returns the new generation.
fn apply_declared(
    store: &Store,
    dataplane: &DataPlane,
    source: &ConfigSource,
    declared: &Declared,
    args: &ServeArgs,
) -> Result<u64, Vec<String>> {
    let mut prepared = None;
    let result = store.apply(|state: &mut State| {
        *state = state.with_file_objects(
            declared.balancers.clone(),
            declared.pools.clone(),
            declared.aliases.clone(),
        );
        state.validate(args.listen_host).map_err(Refusal::Invalid)?;
        prepared = Some(dataplane.prepare(state, 0).map_err(Refusal::Bind)?);
        Ok(())
    });
    match result {
        Ok(snapshot) => {
            if let Some(mut prepared) = prepared {
                prepared.set_generation(snapshot.generation);
                dataplane.commit(prepared);
            }
            Ok(snapshot.generation)
        }
        Err(ApplyError::Rejected(Refusal::Invalid(errors)) | ApplyError::Invalid(errors)) => {
            Err(render(source.locate_all(&errors)))
        }
        Err(ApplyError::Rejected(Refusal::Bind(errors))) => {
            Err(errors.iter().map(|e| format!("burr: {e}")).collect())
        }
        Err(ApplyError::Storage(e)) => Err(vec![format!("burr: {e}")]),
    }
}

fn render(errors: Vec<ConfigError>) -> Vec<String> {
    errors.into_iter().map(|e| e.to_string()).collect()
}
