//! The demo's targets: small HTTP servers on loopback, in the demo's own process, that answer
//! with their name and can be stopped and started again on the same address, so the demo can
//! show a session failing over and what happens when its target comes back.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// One demo target: its number (1, 2, 3), its address, and its server while it runs.
pub struct DemoTarget {
    pub number: u32,
    pub address: SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl DemoTarget {
    /// Starts target `number` on a free loopback port.
    pub async fn start(number: u32) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        Ok(Self {
            number,
            address,
            server: Some(tokio::spawn(serve(listener, number))),
        })
    }

    /// Stops the target as a crashed process would: the listening socket closes (new connects
    /// are refused) and its open connections are cut.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Starts the target again on its own address.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        // The aborted server's socket closes when its task is dropped, which the runtime does
        // on its next turn: retry the bind briefly rather than fail on "address in use".
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.address).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(target = %self.address, "rebinding: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        self.server = Some(tokio::spawn(serve(listener, self.number)));
        Ok(())
    }
}

/// Accepts and serves connections until aborted; aborting drops the set of connection tasks,
/// which aborts them too.
async fn serve(listener: TcpListener, number: u32) {
    let address = listener.local_addr().ok();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(async move {
                    let service = hyper::service::service_fn(
                        move |_req: Request<hyper::body::Incoming>| async move {
                            let name = match address {
                                Some(a) => format!("hello from demo target {number} ({a})\n"),
                                None => format!("hello from demo target {number}\n"),
                            };
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(name))))
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow with every request.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
