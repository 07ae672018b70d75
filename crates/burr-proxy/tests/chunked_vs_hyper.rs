//! Differential test of the HTTP/2 path's chunked decoder (`ChunkedBody::decode`, through
//! `fuzzing::chunked_decode`) against hyper's HTTP/1 client: random bodies, chunked at random
//! sizes with random extensions, hex case and trailers, then cut into random reads, and some
//! with a byte changed. Whatever burr's decoder reads to the end, hyper must read as the same
//! data; a well-formed body both must read whole. One known difference is left out: a changed
//! byte in a trailer field line, whose field syntax the chunk scanner does not judge (hyper
//! refuses e.g. a control character there; burr's HTTP/2 path drops trailers).

use burr_proxy::fuzzing::{Scan, chunked_decode};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use proptest::prelude::*;
use tokio::io::AsyncWriteExt;

/// A chunked body of `data` in chunks of `sizes` (cycled), with the choices `style` makes.
fn encode(data: &[u8], sizes: &[usize], style: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes[i % sizes.len()].clamp(1, rest.len());
        if style & 1 != 0 && i % 2 == 1 {
            out.extend_from_slice(format!("{size:X}").as_bytes());
        } else {
            out.extend_from_slice(format!("{size:x}").as_bytes());
        }
        if style & 2 != 0 && i % 3 == 0 {
            out.extend_from_slice(b";name=value");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rest[..size]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[size..];
        i += 1;
    }
    out.extend_from_slice(b"0\r\n");
    if style & 4 != 0 {
        out.extend_from_slice(b"X-Checksum: abc\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// What hyper's HTTP/1 client reads of `body` as a chunked response's body, given in `pieces`.
fn hyper_reads(pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pieces: Vec<Vec<u8>> = pieces.iter().map(|p| p.to_vec()).collect();
    runtime.block_on(async move {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(client))
                .await
                .ok()?;
        tokio::spawn(conn);
        let writer = tokio::spawn(async move {
            let mut request = [0u8; 256];
            let _ = tokio::io::AsyncReadExt::read(&mut server, &mut request).await;
            let _ = server
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            for piece in pieces {
                let _ = server.write_all(&piece).await;
                let _ = server.flush().await;
                tokio::task::yield_now().await;
            }
            server // kept open: the body must end by its framing, not by a close
        });
        let request = http::Request::get("/").body(Empty::<Bytes>::new()).unwrap();
        let response = sender.send_request(request).await.ok()?;
        let body = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            response.into_body().collect(),
        )
        .await
        .ok()?
        .ok()?;
        drop(writer);
        Some(body.to_bytes().to_vec())
    })
}

/// `stream` cut at `cuts` (taken modulo its length).
fn cut<'s>(stream: &'s [u8], cuts: &[usize]) -> Vec<&'s [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for c in at.into_iter().chain([stream.len()]) {
        pieces.push(&stream[start..c]);
        start = c;
    }
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decodes_as_hyper_does(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        sizes in proptest::collection::vec(1usize..700, 1..6),
        style in 0u8..8,
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        flip in proptest::option::of((any::<usize>(), any::<u8>())),
    ) {
        let mut stream = encode(&data, &sizes, style);
        // The trailer field line, if any: the chunk scanner follows trailer lines without
        // judging their field syntax (the HTTP/2 path drops trailers; the fast path relays
        // them as they came), where hyper parses them as fields and refuses a malformed one.
        let trailer = if style & 4 != 0 {
            let line = "X-Checksum: abc\r\n".len();
            stream.len() - 2 - line..stream.len() - 2
        } else {
            0..0
        };
        let mut in_trailer = false;
        if let Some((at, byte)) = flip {
            let at = at % stream.len();
            in_trailer = trailer.contains(&at);
            stream[at] = byte;
        }
        let pieces = cut(&stream, &cuts);
        let (decoded, outcome) = chunked_decode(&pieces, 4096);
        if flip.is_none() {
            prop_assert_eq!(outcome, Scan::End(stream.len()));
            prop_assert_eq!(&decoded, &data);
        }
        if let Scan::End(n) = outcome
            && !in_trailer
        {
            // Whatever burr reads to the end, hyper reads the same.
            let hyper = hyper_reads(&cut(&stream[..n], &cuts));
            prop_assert_eq!(Some(decoded), hyper);
        }
    }
}
