//! burr's HTTP/2 server, frame by frame, as h2spec checks a server (RFC 9113 and RFC 7541): a
//! raw client (`common::h2_frames`) writes frames built by hand to burr's plain listener (h2c
//! with prior knowledge) and reads what burr sends back, with every read bounded. The frame
//! layer, the connection's and the streams' states and flow control are here; HTTP semantics
//! (malformed requests, §8) and the well-formed requests that must work are in
//! `http2_conformance/semantics.rs`.
//!
//! Every case runs against each HTTP/2 codec burr has: [`CODECS`] lists them, and a case the
//! h2 crate fails where the RFC says MUST runs for the other codecs only, with what the h2
//! crate does written where it is skipped.

mod common;
#[path = "http2_conformance/semantics.rs"]
mod semantics;

use common::h2_frames::*;
use common::raw_http::{Scripted, Step, ok, reply, with_length};
use common::{Burr, config, free_port};
use std::net::SocketAddr;
use std::time::Duration;

/// The HTTP/2 server codecs under test, each passed as `burr serve --http2-codec NAME`: "h2"
/// is the h2 crate's server (the reference), "burr" burr's own (the default).
const CODECS: &[&str] = &["h2", "burr"];

/// [`CODECS`] less the ones in `skip` (each skip says, where it is written, what that codec
/// does instead of what the RFC requires).
fn codecs(skip: &[&str]) -> Vec<&'static str> {
    CODECS
        .iter()
        .copied()
        .filter(|c| !skip.contains(c))
        .collect()
}

/// The command-line arguments that select `codec`.
fn codec_args(codec: &str) -> Vec<&str> {
    vec!["--http2-codec", codec]
}

/// burr on a free port with `codec`, one pool over `target`.
fn start(codec: &str, target: SocketAddr) -> (Burr, u16) {
    let port = free_port();
    let config = config(port, "round_robin", &[(target, 1)], "", "");
    let burr = Burr::try_start(&config, &codec_args(codec))
        .unwrap_or_else(|e| panic!("[codec {codec}] burr did not start: {e}"));
    (burr, port)
}

/// A RST_STREAM payload: CANCEL.
const CANCEL_CODE: [u8; 4] = 8u32.to_be_bytes();

/// The body of `/big`.
const BIG: usize = 1000;

/// The suite's target: `/hold…` answers after 2 s (a stream kept open meanwhile), `/big` with
/// [`BIG`] bytes, HEAD with a head only (`content-length: 5`), anything else `hello`.
async fn target() -> Scripted {
    Scripted::start(|r| {
        if r.method() == "HEAD" {
            return reply(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec());
        }
        match r.path() {
            p if p.starts_with("/hold") => {
                let mut steps = vec![Step::Pause(Duration::from_secs(2))];
                steps.extend(ok(b"held"));
                steps
            }
            "/big" => reply(with_length("200 OK", "", &big_body())),
            _ => ok(b"hello"),
        }
    })
    .await
}

fn big_body() -> Vec<u8> {
    (0..BIG).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A running burr with `codec` in front of [`target`].
struct Server {
    codec: &'static str,
    port: u16,
    target: Scripted,
    _burr: Burr,
}

impl Server {
    async fn start(codec: &'static str) -> Server {
        let target = target().await;
        let (burr, port) = start(codec, target.addr);
        Server {
            codec,
            port,
            target,
            _burr: burr,
        }
    }

    /// A fresh connection past its preface, for `case`.
    async fn open(&self, case: &str) -> H2 {
        H2::open(self.port, self.codec, case).await
    }

    async fn open_with(&self, case: &str, settings: &[(u16, u32)]) -> H2 {
        H2::open_with(self.port, self.codec, case, settings).await
    }
}

/// A fresh connection for `case` that sends `frames` and must end with GOAWAY(`code`).
async fn goaway_after(server: &Server, case: &str, frames: &[Vec<u8>], code: u32) {
    let mut c = server.open(case).await;
    c.send(&frames.concat()).await;
    c.expect_goaway(code).await;
}

/// A GET of `/` on `stream` of `c`, answered 200 `hello`.
async fn request_works(c: &mut H2, stream: u32) {
    c.get(stream, "/").await;
    let a = c.response(stream).await;
    c.check(
        (a.status, a.body.as_slice()) == (200, b"hello".as_slice()),
        &format!("a GET after it: {a:?}"),
    );
}

#[tokio::test]
async fn s3_4_preface_and_s6_5_settings_exchange() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;

        // A plain listener serves HTTP/1.1 too: a connection that does not open with the
        // preface is not HTTP/2's, and must not be answered with HTTP/2 frames.
        let mut c = H2::connect(s.port, codec).await;
        c.case("3.4 an invalid connection preface is not served as HTTP/2");
        c.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n").await;
        c.send(&frame(SETTINGS, 0, 0, &[])).await;
        let answer = c.bytes_to_close().await;
        c.check(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
            &format!("the answer: {:?}", String::from_utf8_lossy(&answer)),
        );

        // The server's first frame is SETTINGS, checked by `open`; its values are burr's.
        let mut c = s.open("3.4 the server's first frame is SETTINGS").await;
        c.case("5.1.2 SETTINGS_MAX_CONCURRENT_STREAMS is 200");
        let advertised = c.server_settings.clone();
        c.check(
            advertised.contains(&(MAX_CONCURRENT_STREAMS, 200)),
            &format!("server settings {advertised:?}"),
        );

        c.case("6.5 the server ACKs a SETTINGS sent mid-connection");
        c.send_frame(SETTINGS, 0, 0, &settings(&[(INITIAL_WINDOW_SIZE, 70_000)]))
            .await;
        c.settings_ack().await;
        request_works(&mut c, 1).await;

        let mut c = s
            .open_with("6.5.2 an unknown setting is ignored", &[(0x00ff, 7)])
            .await;
        request_works(&mut c, 1).await;
    }
}

/// RFC 9113 §3.4: the client's preface is the 24 octets and then a SETTINGS frame; an invalid
/// preface is a connection error PROTOCOL_ERROR. Not run for "h2": the h2 crate does not check
/// the frame after the 24 octets (it answers a PING sent there and the connection goes on).
#[tokio::test]
async fn s3_4_a_preface_not_followed_by_settings() {
    for codec in codecs(&["h2"]) {
        let s = Server::start(codec).await;
        let mut c = H2::connect(s.port, codec).await;
        c.case("3.4 a preface not followed by SETTINGS");
        c.send(&[PREFACE, &frame(PING, 0, 0, &[0; 8])].concat())
            .await;
        c.expect_closed(PROTOCOL_ERROR).await;
    }
}

#[tokio::test]
async fn s6_5_settings_errors() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let cases: &[(&str, Vec<u8>, u32)] = &[
            (
                "6.5 SETTINGS on a stream",
                frame(SETTINGS, 0, 1, &settings(&[(INITIAL_WINDOW_SIZE, 1)])),
                PROTOCOL_ERROR,
            ),
            (
                "6.5.2 SETTINGS_ENABLE_PUSH = 2",
                frame(SETTINGS, 0, 0, &settings(&[(ENABLE_PUSH, 2)])),
                PROTOCOL_ERROR,
            ),
            (
                "6.5.2 SETTINGS_MAX_FRAME_SIZE = 16383",
                frame(SETTINGS, 0, 0, &settings(&[(MAX_FRAME_SIZE, 16_383)])),
                PROTOCOL_ERROR,
            ),
            (
                "6.5.2 SETTINGS_MAX_FRAME_SIZE = 2^24",
                frame(SETTINGS, 0, 0, &settings(&[(MAX_FRAME_SIZE, 1 << 24)])),
                PROTOCOL_ERROR,
            ),
        ];
        for (case, bytes, code) in cases {
            goaway_after(&s, case, std::slice::from_ref(bytes), *code).await;
        }
    }
}

/// RFC 9113 §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a connection error
/// FLOW_CONTROL_ERROR. Not run for "h2": the h2 crate answers GOAWAY(PROTOCOL_ERROR) (the value
/// is refused as the SETTINGS frame is loaded, and codec/framed_read.rs maps that to
/// PROTOCOL_ERROR).
#[tokio::test]
async fn s6_5_2_initial_window_size_above_2_31_minus_1() {
    for codec in codecs(&["h2"]) {
        let s = Server::start(codec).await;
        let too_big = frame(SETTINGS, 0, 0, &settings(&[(INITIAL_WINDOW_SIZE, 1 << 31)]));
        let case = "6.5.2 SETTINGS_INITIAL_WINDOW_SIZE = 2^31";
        goaway_after(&s, case, &[too_big], FLOW_CONTROL_ERROR).await;
    }
}

#[tokio::test]
async fn s6_7_ping() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let mut c = s
            .open("6.7 a PING is answered with an ACK of the same 8 bytes")
            .await;
        c.ping(*b"12345678").await;
        let f = loop {
            let f = c.frame().await;
            if f.kind == PING {
                break f;
            }
        };
        c.check(
            f.flags & ACK != 0 && f.stream == 0 && f.payload == b"12345678",
            &format!("the answer: {f:?}"),
        );

        c.case("6.7 a PING ACK is not answered");
        c.send_frame(PING, ACK, 0, b"unasked!").await;
        c.ping(*b"87654321").await;
        let f = loop {
            let f = c.frame().await;
            if f.kind == PING {
                break f;
            }
        };
        c.check(
            f.flags & ACK != 0 && f.payload == b"87654321",
            &format!("the first PING back: {f:?}"),
        );

        let ping = |stream, len| frame(PING, 0, stream, &vec![7; len]);
        goaway_after(&s, "6.7 PING on a stream", &[ping(1, 8)], PROTOCOL_ERROR).await;
        let away = frame(GOAWAY, 0, 1, &goaway(0, NO_ERROR));
        goaway_after(&s, "6.8 GOAWAY on a stream", &[away], PROTOCOL_ERROR).await;
    }
}

#[tokio::test]
async fn s4_frame_format_size_and_hpack() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let mut c = s.open("4.1 a frame of an unknown type is ignored").await;
        c.send_frame(UNKNOWN, 0xff, 0, b"what is this").await;
        c.send_frame(UNKNOWN, 0, 1, b"and this").await;
        c.expect_alive().await;
        request_works(&mut c, 1).await;

        let mut c = s.open("4.1 unknown flags are ignored").await;
        let fields = request("GET", "/", &[]);
        c.send_frame(
            HEADERS,
            END_HEADERS | END_STREAM | 0x40 | 0x02,
            1,
            &block(&fields),
        )
        .await;
        let a = c.response(1).await;
        c.check(a.status == 200, &format!("{a:?}"));

        let mut c = s.open("4.2 DATA larger than SETTINGS_MAX_FRAME_SIZE").await;
        let post = request("POST", "/", &[("content-length", "20000")]);
        c.headers(1, &post, false).await;
        c.send_frame(DATA, 0, 1, &[b'x'; 16_385]).await;
        c.expect_goaway_or_rst(1, &[FRAME_SIZE_ERROR]).await;

        let mut c = s
            .open("4.2 HEADERS larger than SETTINGS_MAX_FRAME_SIZE")
            .await;
        let long = "v".repeat(16_400);
        let fields = request("GET", "/", &[("x-long", &long)]);
        c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &block(&fields))
            .await;
        c.expect_goaway(FRAME_SIZE_ERROR).await;

        let whole = block(&request("GET", "/", &[]));
        let frames = [
            frame(HEADERS, END_STREAM, 1, &whole[..5]),
            frame(UNKNOWN, 0, 1, b"between"),
            frame(CONTINUATION, END_HEADERS, 1, &whole[5..]),
        ];
        let case = "5.5 an unknown frame inside a header block";
        goaway_after(&s, case, &frames, PROTOCOL_ERROR).await;
    }
}

/// RFC 9113 §4.3: a field block that does not decode is a connection error COMPRESSION_ERROR.
/// Not run for "h2": the h2 crate ends the connection with GOAWAY(PROTOCOL_ERROR) on every
/// HPACK decoding error (codec/framed_read.rs, "failed HPACK decoding").
#[tokio::test]
async fn s4_3_hpack_decoding_errors() {
    for codec in codecs(&["h2"]) {
        let s = Server::start(codec).await;
        let mut fields = block(&request("GET", "/", &[]));
        fields.push(0x80); // indexed field, index 0
        let headers = frame(HEADERS, END_HEADERS | END_STREAM, 1, &fields);
        goaway_after(&s, "4.3 HPACK index 0", &[headers], COMPRESSION_ERROR).await;

        let mut fields = block(&request("GET", "/", &[]));
        fields.push(0x80 | 70); // past the static table (61) and the empty dynamic table
        let headers = frame(HEADERS, END_HEADERS | END_STREAM, 1, &fields);
        goaway_after(
            &s,
            "4.3 HPACK index past the table",
            &[headers],
            COMPRESSION_ERROR,
        )
        .await;

        let mut fields = block(&request("GET", "/", &[]));
        // A literal whose Huffman name holds EOS (30 ones), a decoding error (RFC 7541 §5.2).
        fields.extend([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, b'v']);
        let headers = frame(HEADERS, END_HEADERS | END_STREAM, 1, &fields);
        goaway_after(
            &s,
            "4.3 HPACK invalid Huffman",
            &[headers],
            COMPRESSION_ERROR,
        )
        .await;
    }
}

#[tokio::test]
async fn s5_1_stream_states_and_identifiers() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let get = |stream| {
            frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                stream,
                &block(&request("GET", "/", &[])),
            )
        };

        let data = frame(DATA, END_STREAM, 1, b"x");
        goaway_after(&s, "5.1 DATA on an idle stream", &[data], PROTOCOL_ERROR).await;
        let rst = frame(RST_STREAM, 0, 1, &CANCEL_CODE);
        goaway_after(
            &s,
            "5.1 RST_STREAM on an idle stream",
            &[rst],
            PROTOCOL_ERROR,
        )
        .await;
        let update = frame(WINDOW_UPDATE, 0, 1, &100u32.to_be_bytes());
        let case = "5.1 WINDOW_UPDATE on an idle stream";
        goaway_after(&s, case, &[update], PROTOCOL_ERROR).await;

        // A connection error: §5.1 (frames after END_STREAM, STREAM_CLOSED) and §5.1.1 (a
        // stream identifier not above those opened, PROTOCOL_ERROR) both apply.
        let mut c = s.open("5.1 HEADERS on a closed stream").await;
        request_works(&mut c, 1).await;
        c.send(&get(1)).await;
        c.expect_goaway_in(&[STREAM_CLOSED, PROTOCOL_ERROR]).await;

        let mut c = s.open("5.1.1 an even stream identifier").await;
        c.send(&get(2)).await;
        c.expect_goaway(PROTOCOL_ERROR).await;

        let mut c = s
            .open("5.1.1 a stream identifier below one already opened")
            .await;
        c.send(&get(5)).await;
        c.send(&get(3)).await;
        c.expect_goaway(PROTOCOL_ERROR).await;
    }
}

/// RFC 9113 §5.1: DATA on a half-closed (remote) stream is a stream error STREAM_CLOSED.
/// Not run for "h2": the h2 crate ends the connection with GOAWAY(PROTOCOL_ERROR)
/// (proto/streams/recv.rs, "unexpected DATA frame", with a TODO saying it could be
/// STREAM_CLOSED).
#[tokio::test]
async fn s5_1_data_on_a_half_closed_remote_stream() {
    for codec in codecs(&["h2"]) {
        let s = Server::start(codec).await;
        let mut c = s.open("5.1 DATA on a half-closed (remote) stream").await;
        c.get(1, "/hold").await;
        c.send_frame(DATA, 0, 1, b"late").await;
        c.expect_goaway_or_rst(1, &[STREAM_CLOSED]).await;
    }
}

/// Frames of a fixed length that arrive with another: FRAME_SIZE_ERROR, a connection error
/// (§6.4, §6.5, §6.7, §6.9), and a stream error for PRIORITY (§6.3). Not run for "h2": the h2
/// crate answers each of them with GOAWAY(PROTOCOL_ERROR) (codec/framed_read.rs maps every
/// frame's load error to PROTOCOL_ERROR).
#[tokio::test]
async fn s6_frames_of_the_wrong_length() {
    for codec in codecs(&["h2"]) {
        let s = Server::start(codec).await;
        let post = frame(
            HEADERS,
            END_HEADERS,
            1,
            &block(&request("POST", "/hold", &[])),
        );
        let cases: &[(&str, Vec<u8>)] = &[
            (
                "6.5 SETTINGS ACK with a payload",
                frame(SETTINGS, ACK, 0, &settings(&[(INITIAL_WINDOW_SIZE, 1)])),
            ),
            (
                "6.5 SETTINGS of a length not a multiple of 6",
                frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0]),
            ),
            ("6.7 PING of 6 bytes", frame(PING, 0, 0, &[7; 6])),
            ("6.7 PING of 9 bytes", frame(PING, 0, 0, &[7; 9])),
            (
                "6.4 RST_STREAM of 3 bytes",
                frame(RST_STREAM, 0, 1, &[0, 0, 8]),
            ),
            (
                "6.4 RST_STREAM of 5 bytes",
                frame(RST_STREAM, 0, 1, &[0, 0, 0, 8, 0]),
            ),
            (
                "6.9 WINDOW_UPDATE of 3 bytes",
                frame(WINDOW_UPDATE, 0, 0, &[0, 0, 1]),
            ),
            (
                "6.9 WINDOW_UPDATE of 5 bytes on a stream",
                frame(WINDOW_UPDATE, 0, 1, &[0, 0, 0, 1, 0]),
            ),
        ];
        for (case, bad) in cases {
            goaway_after(&s, case, &[post.clone(), bad.clone()], FRAME_SIZE_ERROR).await;
        }

        let mut c = s.open("6.3 PRIORITY of 4 bytes").await;
        c.send_frame(PRIORITY, 0, 3, &priority(1, false, 16)[..4])
            .await;
        c.expect_goaway_or_rst(3, &[FRAME_SIZE_ERROR]).await;
    }
}

#[tokio::test]
async fn s5_1_2_streams_past_the_concurrency_limit_are_refused() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let mut c = s.open("5.1.2 the 201st concurrent stream").await;
        // 201 requests the target holds for 2 s, in one write: none is answered before the
        // last one arrives.
        let mut all = Vec::new();
        for i in 0..201u32 {
            let fields = request("GET", &format!("/hold/{i}"), &[]);
            all.extend(frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                2 * i + 1,
                &block(&fields),
            ));
        }
        c.send(&all).await;
        let last = 401;
        loop {
            let f = c.frame().await;
            match f.kind {
                RST_STREAM if f.stream == last => {
                    let code = f.code();
                    c.check(
                        code == REFUSED_STREAM || code == PROTOCOL_ERROR,
                        &format!("stream {last} reset with {}", code_name(code)),
                    );
                    break;
                }
                GOAWAY => {
                    let code = f.code();
                    c.check(
                        code == PROTOCOL_ERROR,
                        &format!("GOAWAY({}) for stream {last}", code_name(code)),
                    );
                    break;
                }
                RST_STREAM => c.fail(&format!("stream {} (within the limit) reset", f.stream)),
                HEADERS | DATA => c.fail(&format!(
                    "stream {} answered (the target holds each for 2 s) and stream {last} not \
                     refused",
                    f.stream
                )),
                _ => {}
            }
        }
        let held = s.target.received().len();
        c.check(held <= 200, &format!("{held} requests reached the target"));
    }
}

/// Rapid reset (CVE-2023-44487): a client that opens streams and resets each at once makes a
/// proxy start requests to its targets at no cost to itself. burr's codec ends the connection
/// with ENHANCE_YOUR_CALM once the client has reset more than 100 streams and more than half of
/// those it opened. The h2 crate bounds only streams reset before they are accepted (burr
/// accepts each at once), so it is not asked the same.
#[tokio::test]
async fn rapid_reset_ends_the_connection_with_enhance_your_calm() {
    const ENHANCE_YOUR_CALM: u32 = 0xb;
    for codec in codecs(&["h2"]) {
        let s = Server::start(codec).await;
        let mut c = s
            .open("rapid reset: 150 streams opened and reset at once")
            .await;
        let mut all = Vec::new();
        for i in 0..150u32 {
            let id = 2 * i + 1;
            let fields = request("GET", &format!("/hold/{i}"), &[]);
            all.extend(frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                id,
                &block(&fields),
            ));
            all.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
        }
        c.send(&all).await;
        c.expect_goaway(ENHANCE_YOUR_CALM).await;
    }
}

#[tokio::test]
async fn s5_3_1_priority_and_s6_3_priority_frames() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let mut c = s
            .open("5.3.1 HEADERS whose priority depends on its own stream")
            .await;
        let mut payload = priority(1, false, 16);
        payload.extend(block(&request("GET", "/", &[])));
        c.send_frame(
            HEADERS,
            END_HEADERS | END_STREAM | PRIORITY_FLAG,
            1,
            &payload,
        )
        .await;
        c.expect_goaway_or_rst(1, &[PROTOCOL_ERROR]).await;

        let mut c = s
            .open("5.3.1 PRIORITY making a stream depend on itself")
            .await;
        c.send_frame(PRIORITY, 0, 3, &priority(3, false, 16)).await;
        c.expect_goaway_or_rst(3, &[PROTOCOL_ERROR]).await;

        let prio = frame(PRIORITY, 0, 0, &priority(1, false, 16));
        goaway_after(&s, "6.3 PRIORITY on stream 0", &[prio], PROTOCOL_ERROR).await;

        let mut c = s.open("6.3 PRIORITY on an idle stream is accepted").await;
        c.send_frame(PRIORITY, 0, 5, &priority(0, false, 16)).await;
        c.send_frame(PRIORITY, 0, 3, &priority(5, true, 200)).await;
        c.expect_alive().await;
        request_works(&mut c, 7).await;
    }
}

#[tokio::test]
async fn s6_1_to_s6_4_data_headers_and_rst_stream_frames() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let post = || {
            let fields = request("POST", "/", &[("content-length", "4")]);
            frame(HEADERS, END_HEADERS, 1, &block(&fields))
        };
        let data = frame(DATA, END_STREAM, 0, b"data");
        goaway_after(&s, "6.1 DATA on stream 0", &[data], PROTOCOL_ERROR).await;

        // A pad length of 5 in a payload of 5 bytes: the padding as long as the payload.
        let bad = frame(DATA, END_STREAM | PADDED, 1, &[5, 0, 0, 0, 0]);
        let case = "6.1 DATA whose padding is as long as its payload";
        goaway_after(&s, case, &[post(), bad], PROTOCOL_ERROR).await;

        let get = block(&request("GET", "/", &[]));
        let zero = frame(HEADERS, END_HEADERS | END_STREAM, 0, &get);
        goaway_after(&s, "6.2 HEADERS on stream 0", &[zero], PROTOCOL_ERROR).await;

        let mut payload = vec![u8::try_from(get.len() + 1).unwrap()];
        payload.extend(&get);
        let bad = frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, &payload);
        let case = "6.2 HEADERS whose padding is longer than its payload";
        goaway_after(&s, case, &[bad], PROTOCOL_ERROR).await;

        let rst = frame(RST_STREAM, 0, 0, &CANCEL_CODE);
        goaway_after(&s, "6.4 RST_STREAM on stream 0", &[rst], PROTOCOL_ERROR).await;
    }
}

#[tokio::test]
async fn s6_9_window_update_errors() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let held = || {
            frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                1,
                &block(&request("GET", "/hold", &[])),
            )
        };
        let update =
            |stream, increment: u32| frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes());

        let case = "6.9 WINDOW_UPDATE of 0 on the connection";
        goaway_after(&s, case, &[update(0, 0)], PROTOCOL_ERROR).await;

        let mut c = s.open("6.9 WINDOW_UPDATE of 0 on a stream").await;
        c.send(&[held(), update(1, 0)].concat()).await;
        c.expect_goaway_or_rst(1, &[PROTOCOL_ERROR]).await;

        let case = "6.9.1 the connection window past 2^31-1";
        goaway_after(&s, case, &[update(0, 0x7fff_ffff)], FLOW_CONTROL_ERROR).await;

        let mut c = s.open("6.9.1 a stream window past 2^31-1").await;
        c.send(&[held(), update(1, 0x7fff_ffff)].concat()).await;
        c.expect_goaway_or_rst(1, &[FLOW_CONTROL_ERROR]).await;
    }
}

#[tokio::test]
async fn s6_9_flow_control_holds_a_response_to_the_client_s_window() {
    const QUIET: Duration = Duration::from_millis(300);
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let small = [(INITIAL_WINDOW_SIZE, 100)];

        let mut c = s
            .open_with("6.9 a stream window of 100, then WINDOW_UPDATE", &small)
            .await;
        c.get(1, "/big").await;
        let mut a = Answer::default();
        let ended = c.partial(1, QUIET, &mut a).await;
        c.check(
            !ended && a.status == 200 && a.body.len() <= 100,
            &format!(
                "before WINDOW_UPDATE: {} bytes, ended {ended}",
                a.body.len()
            ),
        );
        c.send_frame(WINDOW_UPDATE, 0, 1, &((BIG - 100) as u32).to_be_bytes())
            .await;
        c.response_into(1, &mut a).await;
        c.check(
            a.body == big_body(),
            &format!("{} bytes in all", a.body.len()),
        );

        let case = "6.9.2 SETTINGS_INITIAL_WINDOW_SIZE raised mid-stream";
        let mut c = s.open_with(case, &small).await;
        c.get(1, "/big").await;
        let mut a = Answer::default();
        let ended = c.partial(1, QUIET, &mut a).await;
        c.check(
            !ended && a.body.len() <= 100,
            &format!("before the SETTINGS: {} bytes, ended {ended}", a.body.len()),
        );
        let raised = settings(&[(INITIAL_WINDOW_SIZE, 100 + BIG as u32)]);
        c.send_frame(SETTINGS, 0, 0, &raised).await;
        c.response_into(1, &mut a).await;
        c.check(
            a.body == big_body(),
            &format!("{} bytes in all", a.body.len()),
        );

        let case = "6.9.2 SETTINGS_INITIAL_WINDOW_SIZE lowered to 0 mid-stream";
        let mut c = s.open_with(case, &small).await;
        c.send(&frame(
            SETTINGS,
            0,
            0,
            &settings(&[(INITIAL_WINDOW_SIZE, 0)]),
        ))
        .await;
        c.settings_ack().await;
        c.get(1, "/big").await;
        let mut a = Answer::default();
        c.partial(1, QUIET, &mut a).await;
        c.check(
            a.body.is_empty(),
            &format!("{} bytes with a window of 0", a.body.len()),
        );
        c.send_frame(WINDOW_UPDATE, 0, 1, &(BIG as u32).to_be_bytes())
            .await;
        c.response_into(1, &mut a).await;
        c.check(
            a.body == big_body(),
            &format!("{} bytes in all", a.body.len()),
        );
    }
}

#[tokio::test]
async fn s6_10_continuation() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let whole = block(&request("GET", "/", &[("x-a", "1"), ("x-b", "2")]));
        let (a, rest) = whole.split_at(10);
        let (b, rest) = rest.split_at(10);

        let mut c = s.open("6.10 HEADERS and two CONTINUATIONs").await;
        c.send_frame(HEADERS, END_STREAM, 1, a).await;
        c.send_frame(CONTINUATION, 0, 1, b).await;
        c.send_frame(CONTINUATION, END_HEADERS, 1, rest).await;
        let answer = c.response(1).await;
        c.check(answer.status == 200, &format!("{answer:?}"));

        let frames = [
            frame(HEADERS, END_STREAM, 1, a),
            frame(PING, 0, 0, b"between!"),
            frame(CONTINUATION, END_HEADERS, 1, &whole[10..]),
        ];
        let case = "6.10 a PING between HEADERS and CONTINUATION";
        goaway_after(&s, case, &frames, PROTOCOL_ERROR).await;

        let other = block(&request("GET", "/", &[]));
        let frames = [
            frame(HEADERS, END_STREAM, 1, a),
            frame(HEADERS, END_STREAM | END_HEADERS, 3, &other),
            frame(CONTINUATION, END_HEADERS, 1, &whole[10..]),
        ];
        let case = "6.10 another stream's HEADERS between HEADERS and CONTINUATION";
        goaway_after(&s, case, &frames, PROTOCOL_ERROR).await;

        let frames = [
            frame(HEADERS, END_STREAM, 1, a),
            frame(CONTINUATION, END_HEADERS, 3, &whole[10..]),
        ];
        let case = "6.10 a CONTINUATION on another stream";
        goaway_after(&s, case, &frames, PROTOCOL_ERROR).await;

        let frames = [frame(CONTINUATION, END_HEADERS, 1, &whole)];
        let case = "6.10 a CONTINUATION without HEADERS";
        goaway_after(&s, case, &frames, PROTOCOL_ERROR).await;

        let mut c = s
            .open("6.10 a CONTINUATION after a complete header block")
            .await;
        c.get(1, "/hold").await;
        c.send_frame(CONTINUATION, END_HEADERS, 1, &block(&[("x-c", "3")]))
            .await;
        c.expect_goaway(PROTOCOL_ERROR).await;
    }
}
