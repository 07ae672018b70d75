//! The demo's client: one HTTP/1.1 request at a time to the balancer, with or without a cookie
//! jar of one cookie, and a reader of burr's own `/metrics` counters.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What one request through the balancer brought back.
pub struct Answer {
    /// The demo target that answered (from its body), 0 if the body named none.
    pub target: u32,
    pub status: u16,
    /// The `NAME=value` of the balancer's stickiness cookie, when the response set it.
    pub set_cookie: Option<String>,
}

/// Sends `GET /` to `balancer`, with `cookie` (a `NAME=value`) when given.
pub async fn get(balancer: SocketAddr, cookie: Option<&str>) -> Result<Answer, Error> {
    let stream = tokio::net::TcpStream::connect(balancer).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut request = Request::get("/").header("host", balancer.to_string());
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get_all(hyper::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with("AWSALB="))
        .map(str::to_string);
    let body = response.into_body().collect().await?.to_bytes();
    let text = String::from_utf8_lossy(&body);
    let target = text
        .strip_prefix("hello from demo target ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(Answer {
        target,
        status,
        set_cookie,
    })
}

/// The sum of the `/metrics` series of `api` whose line starts with `series` (a name with the
/// start of its labels), e.g. the stickiness decisions of one reason.
pub async fn metric(api: SocketAddr, series: &str) -> Result<u64, Error> {
    let stream = tokio::net::TcpStream::connect(api).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = Request::get("/metrics")
        .header("host", api.to_string())
        .body(Empty::<Bytes>::new())?;
    let body = sender
        .send_request(request)
        .await?
        .into_body()
        .collect()
        .await?
        .to_bytes();
    Ok(String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum())
}

/// A cookie value shortened for the screen: its first and last characters.
pub fn short(cookie: &str) -> String {
    let (name, value) = cookie.split_once('=').unwrap_or(("", cookie));
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 16 {
        return cookie.to_string();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{name}={head}…{tail} ({} characters)", chars.len())
}
