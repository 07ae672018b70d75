//! `burr demo`: runs burr on its embedded defaults — a data directory of its own, three small
//! demo targets on loopback and a balancer with LB-cookie stickiness and health checks in front
//! of them — and tells the story of a sticky session on the real data plane: requests without a
//! cookie spread, a client with the cookie stays on its target, that target stops and the
//! session moves (the cookie is rewritten), the target comes back and the session stays where
//! it moved. Then it prints the console's address and the commands to try.

mod client;
mod targets;

use crate::ServeArgs;
use clap::Args;
use client::{Answer, get, metric, short};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use targets::DemoTarget;
use tokio::net::TcpListener;

#[derive(Args)]
pub struct DemoArgs {
    /// Port of the demo balancer on 127.0.0.1 (another free port is used if it is taken).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Requests without a cookie to send to show them spreading.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100))]
    requests: u32,
    /// Exit after the story instead of serving until Ctrl-C.
    #[arg(long)]
    once: bool,
}

/// The pool's name in the demo's configuration, as its metrics label it.
const POOL: &str = "demo-targets";

/// How long the demo waits for the stopped target to be back in service: burr skips a target
/// that refused a connection for 10 s (`PASSIVE_DOWN_MS`); a little more covers a health check
/// in flight.
const BACK_IN_SERVICE: Duration = Duration::from_secs(14);

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
        match DemoTarget::start(n).await {
            Ok(t) => targets.push(t),
            Err(e) => {
                eprintln!("burr demo: cannot start demo target {n}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let port = free_port(args.port).await;
    let api_port = free_port(8780).await;
    let dir = std::env::temp_dir().join(format!("burr-demo-{}", std::process::id()));
    let config = dir.join("burr.toml");
    let addresses: Vec<SocketAddr> = targets.iter().map(|t| t.address).collect();
    let text = demo_config(port, &addresses);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&config, &text)) {
        eprintln!("burr demo: cannot write {}: {e}", config.display());
        return ExitCode::FAILURE;
    }
    let serve_args = ServeArgs {
        config: Some(config.clone()),
        data_dir: dir.join("data"),
        api: SocketAddr::from(([127, 0, 0, 1], api_port)),
        listen_host: None,
        address_pool: burr_model::classic::AddressPool::DEFAULT
            .parse()
            .expect("the default address pool parses"),
        workers: Some(1),
        access_log: None,
        access_log_options: Default::default(),
        manual_clock: false,
        max_connections: None,
        cloudfront_http_port: 80,
        cloudfront_https_port: 443,
        console: Default::default(),
        latency_histograms: crate::Switch::On,
        http2_codec: crate::Http2Codec::Burr,
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
    let balancer = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://{balancer}/");
    println!("\nburr demo: sticky sessions and failover, on burr's real data plane\n");
    println!("  balancer  {url}  (LB cookie AWSALB, health checks every 5 s)");
    let names: Vec<String> = targets
        .iter()
        .map(|t| format!("{} = {}", t.number, t.address))
        .collect();
    println!("  targets   {}", names.join("   "));
    println!("  console   http://{}/ui", running.api);
    println!("  config    {}\n", config.display());
    let story = Story {
        balancer,
        api: running.api,
    };
    let told = story.tell(&mut targets, args.requests).await;
    if let Err(e) = told {
        println!("\nburr demo: {e}");
        let _ = std::fs::remove_dir_all(&dir);
        return ExitCode::FAILURE;
    }
    let credentials = crate::credentials::path(&dir.join("data"));
    println!("\nTry it yourself:");
    println!("  curl -i {url}                   # Set-Cookie: AWSALB=… (sealed: no address in it)");
    println!("  curl -b jar -c jar {url}        # twice: the same target");
    println!(
        "  console: http://{}/ui (open it in a browser)",
        running.api
    );
    println!(
        "  curl -s http://{}/metrics | grep burr_sticky",
        running.api
    );
    println!(
        "  export AWS_SHARED_CREDENTIALS_FILE={}",
        credentials.display()
    );
    println!(
        "  aws --profile burr --region us-east-1 --endpoint-url http://{} \\\n      \
         elb describe-instance-health --load-balancer-name demo",
        running.api
    );
    println!(
        "  python3 -c \"import boto3; elb = boto3.Session(profile_name='burr').client('elb', \
         region_name='us-east-1', endpoint_url='http://{}'); \\\n      \
         print(elb.describe_instance_health(LoadBalancerName='demo')['InstanceStates'])\"",
        running.api
    );
    if args.once {
        let _ = std::fs::remove_dir_all(&dir);
        return ExitCode::SUCCESS;
    }
    println!("\nPress Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}

/// The balancer and API addresses the story talks to.
struct Story {
    balancer: SocketAddr,
    api: SocketAddr,
}

impl Story {
    async fn tell(&self, targets: &mut [DemoTarget], spread: u32) -> Result<(), client::Error> {
        println!("(a) {spread} requests without a cookie spread over the targets (round robin):");
        let mut reached = Vec::new();
        for _ in 0..spread {
            reached.push(self.request(None).await?.target);
        }
        println!("      {}", arrows(&reached));

        println!(
            "(b) A client keeps the AWSALB cookie it is given: each request reaches one target."
        );
        let first = self.request(None).await?;
        let mut cookie = first
            .set_cookie
            .ok_or("the balancer set no AWSALB cookie")?;
        let home = first.target;
        let mut pinned = vec![home];
        for _ in 0..4 {
            pinned.push(self.request(Some(&cookie)).await?.target);
        }
        println!("      cookie {}", short(&cookie));
        println!("      {}", arrows(&pinned));
        if pinned.iter().any(|t| *t != home) {
            return Err(
                format!("the cookie did not hold the client on target {home}: {pinned:?}").into(),
            );
        }

        let index = targets
            .iter()
            .position(|t| t.number == home)
            .ok_or("the pinned target is not a demo target")?;
        println!("(c) Target {home} stops. The client's next requests:");
        let down_before = self.decisions("target_down").await?;
        targets[index].stop();
        let moved = self.request(Some(&cookie)).await?;
        let new_cookie = moved
            .set_cookie
            .ok_or("the balancer did not rewrite the cookie after the failover")?;
        let new_home = moved.target;
        cookie = new_cookie;
        let mut after = vec![new_home];
        for _ in 0..3 {
            after.push(self.request(Some(&cookie)).await?.target);
        }
        println!("      {}", arrows(&after));
        if new_home == home || after.iter().any(|t| *t != new_home) {
            return Err(
                format!("the session did not move off target {home} and stay: {after:?}").into(),
            );
        }
        println!(
            "      the session moved to target {new_home}; cookie rewritten: {}",
            short(&cookie)
        );
        let down_now = self.decisions("target_down").await?;
        println!(
            "      burr_sticky_decisions_total{{reason=\"target_down\"}} +{}",
            down_now.saturating_sub(down_before)
        );

        println!(
            "(d) Target {home} starts again. burr skips a target that refused a connection for \
             10 s, then takes it back:"
        );
        targets[index].restart().await?;
        let waited = self.until_in_service(home).await?;
        println!("      back in service after {:.1} s", waited.as_secs_f64());
        let mut newcomers = Vec::new();
        for _ in 0..spread {
            newcomers.push(self.request(None).await?.target);
        }
        println!("      new clients reach it again: {}", arrows(&newcomers));
        let mut stays = Vec::new();
        for _ in 0..4 {
            stays.push(self.request(Some(&cookie)).await?.target);
        }
        println!(
            "      our client stays where its session moved: {}",
            arrows(&stays)
        );
        if stays.iter().any(|t| *t != new_home) {
            return Err(format!("the session left target {new_home}: {stays:?}").into());
        }
        Ok(())
    }

    async fn request(&self, cookie: Option<&str>) -> Result<Answer, client::Error> {
        let answer = get(self.balancer, cookie).await?;
        if answer.status != 200 {
            return Err(format!("the balancer answered {}", answer.status).into());
        }
        Ok(answer)
    }

    async fn decisions(&self, reason: &str) -> Result<u64, client::Error> {
        let series = format!("burr_sticky_decisions_total{{pool=\"{POOL}\",reason=\"{reason}\"}}");
        metric(self.api, &series).await
    }

    /// Waits until requests without a cookie reach target `number` again; how long it took.
    async fn until_in_service(&self, number: u32) -> Result<Duration, client::Error> {
        let since = Instant::now();
        while since.elapsed() < BACK_IN_SERVICE {
            // Three requests visit every target of the round robin that is in service.
            for _ in 0..3 {
                if self.request(None).await?.target == number {
                    return Ok(since.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(format!("target {number} was not back in service within {BACK_IN_SERVICE:?}").into())
    }
}

/// `→ 1  → 2  → 3`: the targets a run of requests reached.
fn arrows(targets: &[u32]) -> String {
    targets
        .iter()
        .map(|t| format!("→ target {t}"))
        .collect::<Vec<_>>()
        .join("   ")
}

fn demo_config(port: u16, targets: &[SocketAddr]) -> String {
    let list: Vec<String> = targets
        .iter()
        .map(|t| format!("{{ address = \"{t}\" }}"))
        .collect();
    format!(
        "# Written by `burr demo`.\n\
         [[balancer]]\nname = \"demo\"\naddress = \"127.0.0.1\"\n\n\
         [[balancer.listener]]\nport = {port}\nprotocol = \"http\"\npool = \"{POOL}\"\n\n\
         [[pool]]\nname = \"{POOL}\"\nalgorithm = \"round_robin\"\ntargets = [ {} ]\n\n\
         [pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"alb\"\nduration_secs = 1200\n\n\
         [pool.health_check]\nprotocol = \"http\"\npath = \"/\"\ninterval_secs = 5\ntimeout_secs = 2\n\
         healthy_threshold = 2\nunhealthy_threshold = 2\n",
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
