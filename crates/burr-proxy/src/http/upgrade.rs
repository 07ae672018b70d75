//! Protocol upgrades (WebSocket and other `Upgrade:` protocols): once the target has answered
//! 101, both connections are taken over from hyper and bytes are copied both ways until either
//! side closes. Before the 101, nothing but HTTP passes.

use super::body::ProxyBody;
use crate::upstream::Lease;
use http::Response;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// Answers the client with the target's 101 and relays the two upgraded connections.
pub fn relay(
    mut target_response: Response<Incoming>,
    client: OnUpgrade,
    lease: Lease,
) -> Response<ProxyBody> {
    let target = hyper::upgrade::on(&mut target_response);
    tokio::spawn(async move {
        // The lease keeps the target counted as busy for as long as the tunnel lives.
        let _lease = lease;
        let (Ok(client), Ok(target)) = (client.await, target.await) else {
            return;
        };
        let mut client = TokioIo::new(client);
        let mut target = TokioIo::new(target);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
    });
    let (parts, _) = target_response.into_parts();
    Response::from_parts(parts, ProxyBody::empty())
}
