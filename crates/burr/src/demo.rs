//! `burr demo`: runs burr on its embedded defaults — a data directory of its own, three small
//! demo targets on loopback and a round-robin balancer in front of them — sends a few requests
//! through it to show the balancing, and prints the commands to try.

use crate::ServeArgs;
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;

use std::process::ExitCode;
use tokio::net::TcpListener;

#[derive(Args)]
pub struct DemoArgs {
    /// Port of the demo balancer on 127.0.0.1 (another free port is used if it is taken).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Requests to send through the balancer to show it working.
    #[arg(long, default_value_t = 6)]
    requests: u32,
    /// Exit after showing the requests instead of serving until Ctrl-C.
    #[arg(long)]
    once: bool,
}

pub fn run(args: DemoArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("burr demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> ExitCode {
    let mut targets = Vec::new();
    for n in 1..=3 {
        match start_target(n).await {
            Ok(address) => targets.push(address),
            Err(e) => {
                eprintln!("burr demo: cannot start demo target {n}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let port = free_port(args.port).await;
    let dir = std::env::temp_dir().join(format!("burr-demo-{}", std::process::id()));
    let config = dir.join("burr.toml");
    let text = demo_config(port, &targets);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&config, &text)) {
        eprintln!("burr demo: cannot write {}: {e}", config.display());
        return ExitCode::FAILURE;
    }
    let serve_args = ServeArgs {
        config: Some(config.clone()),
        data_dir: dir.join("data"),
        api: "127.0.0.1:0".parse().expect("static address"),
        listen_host: None,
        address_pool: burr_model::classic::AddressPool::DEFAULT
            .parse()
            .expect("the default address pool parses"),
        workers: Some(1),
        access_log: None,
        manual_clock: false,
        max_connections: None,
        cloudfront_http_port: 80,
        cloudfront_https_port: 443,
        latency_histograms: crate::Switch::On,
    };
    let running = match crate::serve::start(&serve_args).await {
        Ok(r) => r,
        Err(messages) => {
            for m in messages {
                eprintln!("{m}");
            }
            return ExitCode::from(2);
        }
    };
    let url = format!("http://127.0.0.1:{port}/");
    println!(
        "\nburr is balancing {url} across three demo targets ({}).",
        targets
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Configuration: {} (data in {})\n",
        config.display(),
        dir.display()
    );
    for i in 1..=args.requests {
        match get(port).await {
            Ok(body) => println!("  request {i}: {}", body.trim()),
            Err(e) => {
                println!("  request {i}: failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("\nTry it yourself:");
    println!("  curl {url}");
    println!("  curl --http2-prior-knowledge {url}");
    println!("  curl http://{}/metrics", running.api);
    if args.once {
        let _ = std::fs::remove_dir_all(&dir);
        return ExitCode::SUCCESS;
    }
    println!("\nPress Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}

fn demo_config(port: u16, targets: &[SocketAddr]) -> String {
    let list: Vec<String> = targets
        .iter()
        .map(|t| format!("{{ address = \"{t}\" }}"))
        .collect();
    format!(
        "# Written by `burr demo`.\n\
         [[balancer]]\nname = \"demo\"\naddress = \"127.0.0.1\"\n\n\
         [[balancer.listener]]\nport = {port}\nprotocol = \"http\"\npool = \"demo-targets\"\n\n\
         [[pool]]\nname = \"demo-targets\"\nalgorithm = \"round_robin\"\ntargets = [ {} ]\n\n\
         [pool.health_check]\nprotocol = \"http\"\npath = \"/\"\ninterval_secs = 5\ntimeout_secs = 2\n",
        list.join(", ")
    )
}

/// `preferred` if it can be bound on 127.0.0.1, else any free port.
async fn free_port(preferred: u16) -> u16 {
    if TcpListener::bind(("127.0.0.1", preferred)).await.is_ok() {
        return preferred;
    }
    match TcpListener::bind(("127.0.0.1", 0))
        .await
        .and_then(|l| l.local_addr())
    {
        Ok(a) => a.port(),
        Err(_) => preferred,
    }
}

/// A tiny HTTP target answering with its own name.
async fn start_target(n: u32) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |_req: Request<hyper::body::Incoming>| async move {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                            "hello from demo target {n} ({address})\n"
                        )))))
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(address)
}

async fn get(port: u16) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = Request::get("/")
        .header("host", format!("127.0.0.1:{port}"))
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(format!("{status} {}", String::from_utf8_lossy(&body)))
}
