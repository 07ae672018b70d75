//! The `burr` binary: command-line interface, configuration loading and the wiring of store, data
//! plane and admin endpoint.
//!
//! Commands: `serve` runs the load balancer, `check` validates a configuration file, `demo` runs
//! burr on embedded defaults in front of three demo targets, `keys` manages the stickiness key
//! ring, `ca export` prints the local certificate authority's root, `credentials` shows the API key pair, `export` prints the live state as TOML. Exit status 2 means the input
//! (arguments, configuration, ports, certificates) was refused; nothing was applied.

mod admin;
mod apply;
mod changes;
mod console;
mod control;
mod credentials;
mod demo;
mod keys;
mod serve;
mod status;

use burr::config;
use clap::{Args, Parser, Subcommand};

// The global allocator is a build option (features `mimalloc`, `jemalloc`; the system allocator
// without either): which one is cheaper per request, and what each costs per idle connection,
// is measured in docs/performance.md rather than assumed.
#[cfg(all(feature = "mimalloc", feature = "jemalloc"))]
compile_error!("features `mimalloc` and `jemalloc` both set a global allocator: choose one");

#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static GLOBAL_ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "burr",
    version,
    about = "A load balancer whose core is session affinity"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the load balancer.
    Serve(ServeArgs),
    /// Validate a configuration file and print every error with its line.
    Check {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Check port clashes as if every listener bound this address.
        #[arg(long)]
        listen_host: Option<IpAddr>,
    },
    /// Run burr on embedded defaults in front of three demo targets and show it balancing.
    Demo(demo::DemoArgs),
    /// Show the key pair the AWS-compatible API accepts (generated on first `serve`).
    Credentials {
        /// Directory of the durable store.
        #[arg(long, default_value = "./burr-data")]
        data_dir: PathBuf,
    },
    /// Print the live state (from the configuration file and the API) as a TOML configuration.
    Export {
        /// Directory of the durable store.
        #[arg(long, default_value = "./burr-data")]
        data_dir: PathBuf,
    },
    /// burr's local certificate authority, which issues ACM RequestCertificate certificates.
    Ca {
        #[command(subcommand)]
        action: CaAction,
        /// Directory of the durable store.
        #[arg(long, default_value = "./burr-data", global = true)]
        data_dir: PathBuf,
    },
    /// Manage the key ring that seals stickiness cookies.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
        /// Directory of the durable store.
        #[arg(long, default_value = "./burr-data", global = true)]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum CaAction {
    /// Print the root certificate (PEM) for clients to trust. The authority is made by the
    /// first ACM RequestCertificate; before that there is nothing to export.
    Export,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Make a new key active; tokens sealed by the previous key still open during the grace
    /// window (7 days). Running nodes pick the new ring up within seconds.
    Rotate,
    /// List the keys: id, created, retired (UTC seconds).
    List,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// TOML configuration file; re-read on SIGHUP. Without it, burr serves what its data
    /// directory holds.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Directory of the durable store.
    #[arg(long, default_value = "./burr-data")]
    pub data_dir: PathBuf,
    /// Address of the AWS-compatible API and the admin endpoint (/healthz, /metrics).
    #[arg(long, default_value = "127.0.0.1:8780")]
    pub api: SocketAddr,
    /// Addresses given to balancers created through the API, one each (a CIDR, a range
    /// `A-B`, or addresses, comma-separated). Unused with --listen-host.
    #[arg(long, default_value = burr_model::classic::AddressPool::DEFAULT)]
    pub address_pool: burr_model::classic::AddressPool,
    /// Address every listener binds; without it each balancer binds its own `address`
    /// (0.0.0.0 if it names none).
    #[arg(long)]
    pub listen_host: Option<IpAddr>,
    /// Data-plane worker threads (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Write one line per request to this file (`-` for standard output). Off by default.
    /// SIGHUP reopens it (for logrotate's move-then-signal).
    #[arg(long)]
    pub access_log: Option<PathBuf>,
    #[command(flatten)]
    pub access_log_options: AccessLogOptions,
    /// FOR TESTS ONLY: the data plane's rules (passive-down marks, session lifetimes, drain
    /// deadlines) read a clock that stands still until `POST /test/clock?advance_ms=N` on the
    /// --api address moves it. Hidden from --help and off unless given: with it, sessions never
    /// expire and down targets never come back on their own.
    #[arg(long, hide = true)]
    pub manual_clock: bool,
    /// Most client connections served at once, all listeners together; at the cap listeners
    /// stop accepting and new clients wait in the backlog. Default: what the descriptor limit
    /// (raised to its hard limit) holds at two descriptors per connection, keeping a tenth of it
    /// (64 to 2048) for the admin endpoint, health checks and the store.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,
    /// Port the HTTP front end of each CloudFront distribution created through the API listens
    /// on, at the distribution's own address (CloudFront's is 80).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    pub cloudfront_http_port: u16,
    /// Port the HTTPS front end of each CloudFront distribution created through the API listens
    /// on (CloudFront's is 443): its viewer certificate, or burr's self-signed default one.
    #[arg(long, default_value_t = 443, value_parser = clap::value_parser!(u16).range(1..))]
    pub cloudfront_https_port: u16,
    /// Request latency histograms in /metrics (burr_request_duration_seconds per listener,
    /// burr_target_response_duration_seconds per target). `off` takes no time per request for
    /// them and leaves them out of /metrics; it exists to measure what they cost.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub latency_histograms: Switch,
    /// The HTTP/2 server for HTTP/2 clients (h2c and h2 by ALPN): `burr`, burr's own, or
    /// `h2`, the h2 crate's, which served HTTP/2 before it and stays as the fallback.
    #[arg(long, value_enum, default_value_t = Http2Codec::Burr)]
    pub http2_codec: Http2Codec,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// Who may open the console (/ui and /api/v1/status on the --api address).
#[derive(Args, Clone)]
pub struct ConsoleArgs {
    /// `off` answers 404 on every console path.
    #[arg(
        long = "console",
        value_enum,
        value_name = "on|off",
        default_value = "on"
    )]
    pub switch: Switch,
    /// Networks whose peers may open the console (comma-separated CIDRs); others get 403.
    #[arg(long = "console-allow", value_name = "CIDR,...", default_value = console::access::DEFAULT_ALLOW)]
    pub allow: console::access::AllowList,
    /// `basic`: the console asks for HTTP Basic credentials, the API's access key id and
    /// secret access key. Over plain HTTP they cross the network readable: put TLS or an SSH
    /// tunnel in front when the console is reachable from other machines.
    #[arg(
        long = "console-auth",
        value_enum,
        value_name = "none|basic",
        default_value = "none"
    )]
    pub auth: console::access::AuthMode,
}

impl Default for ConsoleArgs {
    /// The flags' defaults: on, loopback only, no credentials.
    fn default() -> Self {
        Self {
            switch: Switch::On,
            allow: console::access::DEFAULT_ALLOW
                .parse()
                .expect("the default allow list parses"),
            auth: console::access::AuthMode::None,
        }
    }
}

/// The format and rotation of `--access-log`.
#[derive(Args, Clone, Debug)]
pub struct AccessLogOptions {
    /// Line format of --access-log: `burr` (burr's own short line), `classic` (AWS Classic
    /// Load Balancer's entry) or `alb` (AWS Application Load Balancer's entry).
    #[arg(long = "access-log-format", value_enum, default_value_t = AccessLogFormat::Burr,
          requires = "access_log")]
    pub format: AccessLogFormat,
    /// Rotate the --access-log file before it would pass this many bytes (1024 to 2^40):
    /// PATH becomes PATH.1, PATH.1 becomes PATH.2, and so on. Off by default.
    #[arg(long = "access-log-max-bytes", requires = "access_log",
          value_parser = clap::value_parser!(u64).range(1024..=1u64 << 40))]
    pub max_bytes: Option<u64>,
    /// Rotated files --access-log-max-bytes keeps (PATH.1 to PATH.K), 1 to 1000.
    #[arg(long = "access-log-keep", default_value_t = 5, requires = "access_log",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub keep: u32,
}

impl Default for AccessLogOptions {
    fn default() -> Self {
        AccessLogOptions {
            format: AccessLogFormat::Burr,
            max_bytes: None,
            keep: 5,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLogFormat {
    Classic,
    Alb,
    Burr,
}

impl From<AccessLogFormat> for burr_proxy::access_log::Format {
    fn from(format: AccessLogFormat) -> Self {
        match format {
            AccessLogFormat::Classic => Self::Classic,
            AccessLogFormat::Alb => Self::Alb,
            AccessLogFormat::Burr => Self::Burr,
        }
    }
}

/// `--http2-codec`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Http2Codec {
    H2,
    Burr,
}

impl From<Http2Codec> for burr_proxy::Http2Codec {
    fn from(codec: Http2Codec) -> Self {
        match codec {
            Http2Codec::H2 => Self::H2Crate,
            Http2Codec::Burr => Self::Burr,
        }
    }
}

/// A feature turned on or off on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's story is on standard output; burr's own log would interleave with it, so it
    // shows warnings only unless BURR_LOG asks for more.
    let quiet = matches!(cli.command, Command::Demo(_));
    init_logging(if quiet { "warn" } else { "info" });
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check {
            config,
            listen_host,
        } => check(&config, listen_host),
        Command::Demo(args) => demo::run(args),
        Command::Keys { action, data_dir } => keys_command(action, &data_dir),
        Command::Credentials { data_dir } => credentials_command(&data_dir),
        Command::Export { data_dir } => export_command(&data_dir),
        Command::Ca {
            action: CaAction::Export,
            data_dir,
        } => ca_export_command(&data_dir),
    }
}

fn ca_export_command(data_dir: &std::path::Path) -> ExitCode {
    // Read-only, like `export`: the root certificate is public; its key never leaves the store.
    match burr_store::Store::read_snapshot(data_dir) {
        Ok(snapshot) => match snapshot.state.certificate_authority {
            Some(authority) => {
                print!("{}", authority.certificate_pem);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "burr: {} has no local certificate authority yet; the first ACM \
                     RequestCertificate makes it",
                    data_dir.display()
                );
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("burr: {e}");
            ExitCode::from(2)
        }
    }
}

fn credentials_command(data_dir: &std::path::Path) -> ExitCode {
    match credentials::read(data_dir) {
        Ok(Some(c)) => {
            print!("{}", credentials::render(&c));
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!(
                "burr: {} does not exist yet; `burr serve --data-dir {}` creates it (unless \
                 BURR_ACCESS_KEY_ID and BURR_SECRET_ACCESS_KEY are set)",
                credentials::path(data_dir).display(),
                data_dir.display()
            );
            ExitCode::from(2)
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn export_command(data_dir: &std::path::Path) -> ExitCode {
    // Read-only: never creates the directory or the database, never migrates a live store.
    let result = burr_store::Store::read_snapshot(data_dir)
        .map_err(|e| format!("burr: {e}"))
        .and_then(|snapshot| config::render(&snapshot.state));
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn keys_command(action: KeysAction, data_dir: &std::path::Path) -> ExitCode {
    let result = burr_store::Store::open(data_dir, None)
        .map_err(|e| format!("burr: {e}"))
        .and_then(|store| match action {
            KeysAction::Rotate => keys::rotate(&store),
            KeysAction::List => keys::load_or_create(&store),
        });
    match result {
        Ok(ring) => {
            println!("grace window: {} s", ring.grace_secs());
            for (id, created, retired) in ring.describe() {
                let state = match retired {
                    None => "active".to_string(),
                    Some(at) => format!("retired at {at}"),
                };
                println!("key {id}: created at {created}, {state}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(default: &str) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("BURR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // rustls warns once per handshake about what a client sent (e.g. an IP address as SNI,
    // which wrk and some libraries send): a log line per connection that any client controls.
    // Its errors still show; `BURR_LOG=rustls=warn,...` brings the rest back.
    if !std::env::var("BURR_LOG").is_ok_and(|v| v.contains("rustls")) {
        filter = filter.add_directive("rustls=error".parse().expect("a valid static directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn check(path: &std::path::Path, listen_host: Option<IpAddr>) -> ExitCode {
    let result = config::ConfigSource::read(path).and_then(|source| source.load(listen_host));
    match result {
        Ok(declared) => {
            let cloudfront = if declared.distributions.is_empty() && declared.policies.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} distributions, {} deployment policies",
                    declared.distributions.len(),
                    declared.policies.len()
                )
            };
            println!(
                "{}: ok ({} balancers, {} pools{cloudfront})",
                path.display(),
                declared.balancers.len(),
                declared.pools.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            ExitCode::from(2)
        }
    }
}
