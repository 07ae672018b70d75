//! HTTP/2 streams forwarded over burr's own raw HTTP/1.1 upstream connections (the fast path's
//! pool), not through hyper's HTTP/1 client. burr's own HTTP/2 server ([`server`], with
//! [`frame`] and [`hpack`]) does the framing, HPACK and flow control, or the h2 crate driven by
//! [`serve`] with `--http2-codec h2`; this module turns a stream's request into the HTTP/1.1 head the fast path
//! would write for the same request, has the shared attempt loop ([`h1::reach`]) send it, and turns
//! the target's response head into the stream's response, its body read straight from the upstream
//! connection ([`body::UpstreamBody`]).
//!
//! Every proxy rule is the fast path's own code: the request head writer
//! (`Head::write_upstream_stripped`: hop-by-hop fields, `X-Forwarded-*`, burr's cookies, canary
//! strip, `Connection: close` for a GET or HEAD with a body), the response field filter
//! (`ResponseHead::for_each_client_field`), the session's `Set-Cookie`, the attempts and replays.
//! What is HTTP/2's own: `Host` from `:authority`, split `cookie` fields joined with "; " (RFC 9113
//! §8.2.3), a body without `content-length` re-framed as chunked, a chunked response decoded, and
//! interim (1xx) responses dropped (the attempt loop has no way to the stream's sender), within the
//! same bound.
//!
//! Requests it does not take stay on hyper's client (`proxy::forward`): pools with PROXY
//! protocol (private upstream connections), and requests whose target is not plain origin form
//! or with more fields than the header slots hold.

pub(crate) mod body;
mod date;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(super) mod serve;
pub(crate) mod server;

use super::Connection;
use super::body::{ClientBody, ProxyBody, RequestBody};
use super::h1::Failure;
use super::h1::reach::{self, Outgoing, Reached};
use super::h1::request::{self, Head, MAX_FAST_HEADERS};
use super::h1::response::{self, ClientField, ClientFieldSink};
use super::observe::Times;
use super::proxy::{Forwarded, ProxyError, SetCookieValues};
use crate::affinity::{Affinity, client_hash};
use crate::attempts::Attempts;
use crate::canary::{Extras, Strip};
use crate::framing::{BodyFraming, rules};
use crate::runtime::{ListenerRuntime, PoolRuntime};
use crate::target_stream::TargetStream;
use body::UpstreamBody;
use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body::Body as _;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

/// True when `req` can go over the raw upstream connections: its target is plain origin form
/// (the fast path's own test) and its fields, with `Host`, fit the header slots.
pub(super) fn fits(req: &Request<ClientBody>) -> bool {
    req.uri()
        .path_and_query()
        .is_some_and(|p| rules::plain_origin_form(p.as_str()))
        && req.headers().len() < MAX_FAST_HEADERS
}

/// Forwards the HTTP/2 request `req` (one that [`fits`]) to a target of `pool`, as
/// `proxy::forward` does over hyper's client.
pub(super) async fn forward(
    req: Request<RequestBody>,
    conn: &Connection,
    listener: &ListenerRuntime,
    pool: &PoolRuntime,
    extras: Extras<'_>,
    times: &mut Times,
) -> Result<Forwarded, ProxyError> {
    let client_hash = client_hash(pool, conn.client.ip());
    let (mut parts, body) = req.into_parts();
    let mut out = Vec::with_capacity(512);
    let prepared = prepare(
        &parts,
        &body,
        conn,
        pool,
        client_hash,
        &extras.strip,
        &mut out,
    );
    let mut attempts = Attempts::new(pool, prepared.session, client_hash)?;
    let tls = listener.spec.target_protocol().is_tls();
    let mut request = StreamRequest {
        head: out,
        body: (!matches!(prepared.framing, BodyFraming::None | BodyFraming::Length(0)))
            .then_some(body),
        chunked: prepared.framing == BodyFraming::Chunked,
        idempotent: rules::idempotent(parts.method.as_str()),
        times,
    };
    let reached = reach::reach(&mut attempts, pool, tls, &mut request)
        .await
        .map_err(|failure| match failure {
            Failure::Reply(error) => error,
            Failure::Broken => ProxyError::Upstream("the exchange broke".into()),
        })?;
    let times = request.times;
    times.response_head();
    let Reached {
        index,
        mut upstream,
        head_len,
        lease,
    } = reached;
    let target = &pool.targets[index].shared;
    let is_head = parts.method == http::Method::HEAD;
    // One copy of the head and the body bytes that came with it: the response's field values
    // and the body's first frame are slices of it, not copies each. It goes into the request
    // head's buffer, sent and no longer needed: one allocation fewer per stream.
    let mut read = std::mem::take(&mut request.head);
    read.clear();
    read.extend_from_slice(upstream.input.available());
    let read = Bytes::from(read);
    upstream.input.consume(read.len());
    let head = read.slice(..head_len);
    // The request's fields went out in the head: their map, emptied, holds the response's
    // (one allocation fewer each way per stream).
    let mut headers = std::mem::take(&mut parts.headers);
    headers.clear();
    let (response, framing, keep_alive) =
        client_response(&head, is_head, &attempts, target, &extras, headers)?;
    let reusable = keep_alive && !prepared.last_upstream;
    let early = read.slice(head_len..);
    let body = UpstreamBody::new(
        upstream,
        early,
        framing,
        target.clone(),
        tls,
        reusable,
        lease,
    );
    Ok(Forwarded {
        response: response.map(|()| ProxyBody::raw(body)),
        target: target.clone(),
    })
}

/// What [`prepare`] settled of the request.
struct Prepared<'p> {
    session: Option<Affinity<'p>>,
    framing: BodyFraming,
    last_upstream: bool,
}

/// Writes the HTTP/1.1 head for the target into `out` with the fast path's writer and starts
/// the session. Not async, so the header slots live on the stack only while this runs.
fn prepare<'p>(
    parts: &http::request::Parts,
    body: &RequestBody,
    conn: &Connection,
    pool: &'p PoolRuntime,
    client_hash: u64,
    strip: &Strip<'_>,
    out: &mut Vec<u8>,
) -> Prepared<'p> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| rules::parse_content_length(v.as_bytes()));
    // The h2 crate holds DATA to a declared length; a body without one is re-framed.
    let framing = match declared {
        Some(n) => BodyFraming::Length(n),
        None if body.is_end_stream() => BodyFraming::None,
        None => BodyFraming::Chunked,
    };
    // RFC 9113 §8.2.3: cookie pairs split across fields go to HTTP/1.1 as one field.
    let cookies = parts.headers.get_all(header::COOKIE);
    let joined = (cookies.iter().nth(1).is_some()).then(|| {
        let values: Vec<&[u8]> = cookies.iter().map(HeaderValue::as_bytes).collect();
        values.join(&b"; "[..])
    });
    let authority = parts.uri.authority().map(|a| a.as_str());
    let mut slots = [httparse::EMPTY_HEADER; MAX_FAST_HEADERS];
    let mut n = 0;
    // `:authority` is the host (RFC 9113 §8.3.1), in place of any `host` field; with neither,
    // an empty one, as HTTP/1.1 needs one (RFC 9112 §3.2), like hyper's path writes.
    slots[n] = httparse::Header {
        name: "host",
        value: authority.map_or(b"", str::as_bytes),
    };
    n += usize::from(authority.is_some() || !parts.headers.contains_key(header::HOST));
    let mut cookie_written = false;
    for (name, value) in &parts.headers {
        if (authority.is_some() && name == header::HOST) || n == MAX_FAST_HEADERS {
            continue;
        }
        let mut value = value.as_bytes();
        if name == header::COOKIE
            && let Some(joined) = &joined
        {
            if cookie_written {
                continue;
            }
            cookie_written = true;
            value = joined;
        }
        slots[n] = httparse::Header {
            name: name.as_str(),
            value,
        };
        n += 1;
    }
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let head = Head::forwarding(parts.method.as_str(), target, &slots[..n], framing);
    let session = Affinity::begin(pool, &head, client_hash);
    head.write_upstream_stripped(out, &conn.fast_forwarded, session.as_ref(), strip);
    Prepared {
        session,
        framing,
        last_upstream: rules::body_without_meaning(parts.method.as_str(), framing),
    }
}

/// An HTTP/2 stream's request as the attempt loop sends it.
struct StreamRequest<'t> {
    head: Vec<u8>,
    /// The body still to send (none when the request has none).
    body: Option<RequestBody>,
    chunked: bool,
    idempotent: bool,
    times: &'t mut Times,
}

impl Outgoing for StreamRequest<'_> {
    fn whole(&self) -> bool {
        self.body.is_none()
    }

    fn idempotent(&self) -> bool {
        self.idempotent
    }

    async fn send_head(&mut self, upstream: &mut TargetStream) -> std::io::Result<()> {
        upstream.write_all(&self.head).await?;
        if self.body.is_none() {
            upstream.flush().await?;
        }
        self.times.sent_upstream();
        Ok(())
    }

    async fn send_body(&mut self, upstream: &mut TargetStream) -> Result<(), Failure> {
        let Some(body) = self.body.as_mut() else {
            return Ok(());
        };
        let to_target = |e: std::io::Error| Failure::Reply(ProxyError::Upstream(e.to_string()));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Failure::Reply(ProxyError::ClientBody(e.to_string())))?;
            // Trailers have no way to the target through a re-framed body: dropped.
            let Ok(mut data) = frame.into_data() else {
                continue;
            };
            if !data.has_remaining() {
                continue;
            }
            if self.chunked {
                let mut line = [0u8; 18];
                let line = chunk_size_line(data.remaining(), &mut line);
                let mut chunk = line.chain(data).chain(&b"\r\n"[..]);
                upstream
                    .write_all_buf(&mut chunk)
                    .await
                    .map_err(to_target)?;
            } else {
                upstream.write_all_buf(&mut data).await.map_err(to_target)?;
            }
        }
        if self.chunked {
            upstream.write_all(b"0\r\n\r\n").await.map_err(to_target)?;
        }
        upstream.flush().await.map_err(to_target)
    }

    async fn interim(&mut self, _raw: &[u8]) -> Result<(), Failure> {
        // Not relayed to HTTP/2 clients (no way from here to the stream's sender): the
        // interim head, checked like any other, goes no further.
        Ok(())
    }
}

/// The stream's response from the target's final head `raw`, its fields put in `headers` (an empty
/// map): the fields the fast path would write (one filter), the session's and canary's cookies and
/// the arm header. Returns it with the body's framing and whether the target keeps the connection.
fn client_response(
    raw: &Bytes,
    is_head: bool,
    attempts: &Attempts<'_>,
    target: &crate::runtime::TargetShared,
    extras: &Extras<'_>,
    mut headers: HeaderMap,
) -> Result<(Response<()>, response::ResponseBody, bool), ProxyError> {
    let mut slots = request::header_slots();
    let head = response::parse(raw, &mut slots, is_head)
        .map_err(|e| ProxyError::Upstream(e.to_string()))?;
    if head.status == 101 {
        // HTTP/2 has no upgrade, and none was asked for.
        return Err(ProxyError::Upstream("101 to an HTTP/2 request".into()));
    }
    if !head.at_most_chunked() {
        return Err(ProxyError::Upstream(
            "a transfer coding HTTP/2 cannot carry".into(),
        ));
    }
    let status = StatusCode::from_u16(head.status)
        .map_err(|_| ProxyError::Upstream("malformed status".into()))?;
    headers.reserve(head.field_count() + 2);
    let mut sink = MapSink {
        raw,
        headers: &mut headers,
    };
    head.for_each_client_field(attempts.own_cookie_names(), &mut sink);
    let mut set_cookies = SetCookieValues(Vec::new());
    attempts.served(target, head.set_cookies(), &mut set_cookies);
    extras.write_response(&mut set_cookies);
    for value in set_cookies.0 {
        headers.append(header::SET_COOKIE, value);
    }
    if let Some(mark) = extras.mark {
        mark.write_arm_header(&mut headers);
    }
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok((response, head.body, head.keep_alive))
}

/// The HTTP/2 response's sink for the target's fields: each into the header map, its value a
/// slice of the copied head `raw`.
struct MapSink<'r> {
    raw: &'r Bytes,
    headers: &'r mut HeaderMap,
}

impl ClientFieldSink<'_> for MapSink<'_> {
    #[inline(always)]
    fn take(&mut self, field: ClientField<'_>) {
        // The body goes decoded: no transfer coding describes it any more.
        let ClientField::Field(name, value) = field else {
            return;
        };
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_maybe_shared(self.raw.slice_ref(value)),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => tracing::debug!("dropped a response field HTTP/2 cannot carry"),
        }
    }
}

/// `len` in hex and CRLF: a chunk-size line, written into `buf`.
fn chunk_size_line(len: usize, buf: &mut [u8; 18]) -> &[u8] {
    let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, digit) in buf[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xf;
        *digit = b"0123456789abcdef"[nibble];
    }
    buf[digits] = b'\r';
    buf[digits + 1] = b'\n';
    &buf[..digits + 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_lines_are_hex() {
        let mut buf = [0u8; 18];
        for (len, line) in [(1, "1\r\n"), (255, "ff\r\n"), (4096, "1000\r\n")] {
            assert_eq!(chunk_size_line(len, &mut buf), line.as_bytes());
        }
    }
}
