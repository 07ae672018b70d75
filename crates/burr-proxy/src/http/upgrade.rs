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
    // The client connection outlives its serving task here; it stays counted against the caps.
    let connection = crate::limits::current_connection();
    tokio::spawn(async move {
        // The lease keeps the target counted as busy for as long as the tunnel lives.
        let _lease = lease;
        let _connection = connection;
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

/// Closes a client connection whose upgrade was refused, once hyper is done with it. hyper keeps
/// an upgrade asked for pending until the connection ends, then hands the connection over as
/// "upgraded" instead of shutting it down; shutting it down here lets the framing guard write
/// the refusal of a later request it may hold, then closes the connection.
pub async fn close_after_refused(client: OnUpgrade) {
    if let Ok(upgraded) = client.await {
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut TokioIo::new(upgraded)).await;
    }
}
