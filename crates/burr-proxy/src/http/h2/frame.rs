//! HTTP/2 frames as burr's own server reads and writes them (RFC 9113 §4 and §6): the 9-byte
//! frame header, the frame types, flags, settings and error codes, the padding rule shared by
//! DATA and HEADERS, and writers that append a frame to the connection's output buffer. What a
//! frame means for the connection and its streams is the server's (`h2::server`); this module
//! only knows the wire layout, so the layout is spelt out once.

/// Length of the frame header that precedes every frame's payload.
pub(crate) const HEAD_LEN: usize = 9;

/// The connection preface a client sends before its first frame (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The largest frame payload burr accepts: SETTINGS_MAX_FRAME_SIZE's initial value, which burr
/// keeps (larger frames would only make one stream's DATA hold up the others longer).
pub(crate) const MAX_FRAME: usize = 16_384;

/// The largest flow-control window (RFC 9113 §6.9.1).
pub(crate) const MAX_WINDOW: i64 = (1 << 31) - 1;

/// The window every stream and the connection start with before SETTINGS change it (§6.9.2).
pub(crate) const DEFAULT_WINDOW: i64 = 65_535;

pub(crate) mod kind {
    pub(crate) const DATA: u8 = 0x0;
    pub(crate) const HEADERS: u8 = 0x1;
    pub(crate) const PRIORITY: u8 = 0x2;
    pub(crate) const RST_STREAM: u8 = 0x3;
    pub(crate) const SETTINGS: u8 = 0x4;
    pub(crate) const PUSH_PROMISE: u8 = 0x5;
    pub(crate) const PING: u8 = 0x6;
    pub(crate) const GOAWAY: u8 = 0x7;
    pub(crate) const WINDOW_UPDATE: u8 = 0x8;
    pub(crate) const CONTINUATION: u8 = 0x9;
}

pub(crate) mod flag {
    pub(crate) const END_STREAM: u8 = 0x1;
    pub(crate) const ACK: u8 = 0x1;
    pub(crate) const END_HEADERS: u8 = 0x4;
    pub(crate) const PADDED: u8 = 0x8;
    pub(crate) const PRIORITY: u8 = 0x20;
}

pub(crate) mod setting {
    pub(crate) const ENABLE_PUSH: u16 = 0x2;
    pub(crate) const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub(crate) const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub(crate) const MAX_FRAME_SIZE: u16 = 0x5;
    pub(crate) const MAX_HEADER_LIST_SIZE: u16 = 0x6;
}

/// An error code of RST_STREAM and GOAWAY (RFC 9113 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ErrorCode(pub(crate) u32);

impl ErrorCode {
    pub(crate) const NO_ERROR: Self = Self(0x0);
    pub(crate) const PROTOCOL_ERROR: Self = Self(0x1);
    pub(crate) const INTERNAL_ERROR: Self = Self(0x2);
    pub(crate) const FLOW_CONTROL_ERROR: Self = Self(0x3);
    pub(crate) const STREAM_CLOSED: Self = Self(0x5);
    pub(crate) const FRAME_SIZE_ERROR: Self = Self(0x6);
    pub(crate) const REFUSED_STREAM: Self = Self(0x7);
    pub(crate) const COMPRESSION_ERROR: Self = Self(0x9);
    pub(crate) const ENHANCE_YOUR_CALM: Self = Self(0xb);
}

/// A frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) len: usize,
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    /// The stream identifier, its reserved bit cleared (§4.1: ignored on receipt).
    pub(crate) stream: u32,
}

impl Head {
    pub(crate) fn parse(bytes: &[u8; HEAD_LEN]) -> Self {
        Self {
            len: Self::length(bytes),
            kind: bytes[3],
            flags: bytes[4],
            stream: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff,
        }
    }

    /// The payload length of the frame whose header starts `bytes` (at least 3 bytes).
    pub(crate) fn length(bytes: &[u8]) -> usize {
        usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2])
    }

    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The payload of a DATA or HEADERS frame without its padding (§6.1, §6.2): `None` when the
/// pad length leaves no room (a PROTOCOL_ERROR). `fixed` is the length of the fields between the
/// pad length and the content (HEADERS' priority fields), which the padding may not eat either.
pub(crate) fn unpadded(head: &Head, payload: &[u8], fixed: usize) -> Option<(usize, usize)> {
    if !head.has(flag::PADDED) {
        return (payload.len() >= fixed).then_some((0, payload.len()));
    }
    let (&pad, rest) = payload.split_first()?;
    let end = rest.len().checked_sub(usize::from(pad))?;
    (end >= fixed).then_some((1, 1 + end))
}

/// Appends a frame header for a payload of `len` bytes.
pub(crate) fn write_head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    debug_assert!(len < 1 << 24);
    let len = len as u32;
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
}

pub(crate) fn write_rst(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    write_head(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&code.0.to_be_bytes());
}

pub(crate) fn write_goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode) {
    write_head(out, 8, kind::GOAWAY, 0, 0);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
}

pub(crate) fn write_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    write_head(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

pub(crate) fn write_settings(out: &mut Vec<u8>, settings: &[(u16, u32)]) {
    write_head(out, settings.len() * 6, kind::SETTINGS, 0, 0);
    for (id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends a header block as HEADERS and, past `max_frame`, CONTINUATION frames.
pub(crate) fn write_header_block(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame: usize,
) {
    let mut chunks = block.chunks(max_frame.max(1)).peekable();
    let mut kind = kind::HEADERS;
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    loop {
        let chunk = chunks.next().unwrap_or_default();
        let last = chunks.peek().is_none();
        if last {
            flags |= flag::END_HEADERS;
        }
        write_head(out, chunk.len(), kind, flags, stream);
        out.extend_from_slice(chunk);
        if last {
            return;
        }
        kind = kind::CONTINUATION;
        flags = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trips_and_drops_the_reserved_bit() {
        let mut out = Vec::new();
        write_head(&mut out, 0x01_02_03, kind::DATA, flag::END_STREAM, 7);
        let mut bytes: [u8; HEAD_LEN] = out.try_into().unwrap();
        assert_eq!(
            Head::parse(&bytes),
            Head {
                len: 0x01_02_03,
                kind: 0,
                flags: 1,
                stream: 7
            }
        );
        bytes[5] |= 0x80;
        assert_eq!(Head::parse(&bytes).stream, 7);
    }

    #[test]
    fn padding_may_not_eat_the_content_or_the_fixed_fields() {
        let padded = |len| Head {
            len,
            kind: kind::DATA,
            flags: flag::PADDED,
            stream: 1,
        };
        assert_eq!(unpadded(&padded(4), &[2, b'a', 0, 0], 0), Some((1, 2)));
        assert_eq!(unpadded(&padded(3), &[2, 0, 0], 0), Some((1, 1)));
        assert_eq!(unpadded(&padded(3), &[3, 0, 0], 0), None);
        assert_eq!(unpadded(&padded(0), &[], 0), None);
        assert_eq!(
            unpadded(&padded(7), &[1, 0, 0, 0, 0, 0, 0], 5),
            Some((1, 6))
        );
        assert_eq!(unpadded(&padded(7), &[2, 0, 0, 0, 0, 0, 0], 5), None);
        let plain = Head {
            flags: 0,
            ..padded(4)
        };
        assert_eq!(unpadded(&plain, &[1, 2, 3, 4], 5), None);
        assert_eq!(unpadded(&plain, &[1, 2, 3, 4], 0), Some((0, 4)));
    }

    #[test]
    fn a_large_header_block_continues_in_continuation_frames() {
        let block = vec![b'x'; 25];
        let mut out = Vec::new();
        write_header_block(&mut out, 3, &block, true, 10);
        let frames: Vec<Head> = [0, 19, 38]
            .iter()
            .map(|&at| Head::parse(out[at..at + HEAD_LEN].try_into().unwrap()))
            .collect();
        assert_eq!(out.len(), 3 * HEAD_LEN + 25);
        assert_eq!(
            (frames[0].kind, frames[0].flags, frames[0].len),
            (kind::HEADERS, flag::END_STREAM, 10)
        );
        assert_eq!((frames[1].kind, frames[1].flags), (kind::CONTINUATION, 0));
        assert_eq!(
            (frames[2].kind, frames[2].flags, frames[2].len),
            (kind::CONTINUATION, flag::END_HEADERS, 5)
        );
        let mut one = Vec::new();
        write_header_block(&mut one, 3, &[], false, 10);
        assert_eq!(
            Head::parse(one[..].try_into().unwrap()).flags,
            flag::END_HEADERS
        );
    }
}
