//! The chunked transfer coding (RFC 9112 §7.1) followed byte by byte: where a chunked body ends
//! and whether it is well formed, without decoding it. The framing guard uses it to find where
//! the next request head starts in a client's stream; the HTTP/1.1 fast path uses it to relay
//! chunked bodies verbatim in either direction and to know when an upstream connection is free.
//! The same state machine also decodes ([`ChunkedBody::decode`]): HTTP/2 has no transfer coding,
//! so a chunked response relayed to an HTTP/2 client goes as its chunks' data only.

/// Longest chunk-size line (digits and extensions) accepted, as hyper's own limit.
const MAX_CHUNK_LINE: usize = 4096;

/// Where a scan of a chunked body stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Every byte given belongs to the body, which goes on.
    More,
    /// The body ends after this many of the bytes given (the rest is the next message).
    End(usize),
    /// The byte at `at` breaks the coding.
    Bad { at: usize, reason: &'static str },
}

/// What one step of decoding found in the bytes given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Chunk data: this range of the bytes given. Everything before its end is used (the
    /// framing before it included).
    Data(std::ops::Range<usize>),
    /// Every byte given was framing; the body goes on.
    More,
    /// The body ends after this many of the bytes given (no data among them).
    End(usize),
    /// The byte at `at` breaks the coding.
    Bad { at: usize, reason: &'static str },
}

/// Position inside a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line; `digits` seen so far, `value` accumulated.
    Size {
        digits: u8,
        value: u64,
        after_digits: bool,
        line_len: usize,
    },
    /// Inside a chunk extension, until CR.
    Ext { line_len: usize },
    /// Expecting LF after the CR that ends a chunk-size line.
    SizeLf { last: bool },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Expecting CR LF after chunk data (`seen_cr` once CR is read).
    DataEnd { seen_cr: bool },
    /// Inside the trailer section; `line_len` of the current line, `seen_cr`.
    Trailer { line_len: usize, seen_cr: bool },
    /// The final CRLF has been read.
    Done,
}

/// A chunked body being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedBody {
    state: State,
    /// Size of the chunk whose size line is being finished.
    pending_size: u64,
    /// Longest trailer line accepted.
    max_trailer_line: usize,
}

impl ChunkedBody {
    pub fn new(max_trailer_line: usize) -> Self {
        Self {
            state: new_chunk_size(),
            pending_size: 0,
            max_trailer_line,
        }
    }

    /// Follows `data`, the body's next bytes. Chunk data is skipped in one step, so a large body
    /// costs a few steps per chunk, not one per byte.
    pub fn scan(&mut self, data: &[u8]) -> Scan {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Done => return Scan::End(i),
                State::Data { remaining } => {
                    let take = remaining.min((data.len() - i) as u64);
                    i += take as usize;
                    let left = remaining - take;
                    self.state = if left == 0 {
                        State::DataEnd { seen_cr: false }
                    } else {
                        State::Data { remaining: left }
                    };
                }
                _ => {
                    if let Err(reason) = self.step(data[i]) {
                        return Scan::Bad { at: i, reason };
                    }
                    i += 1;
                }
            }
        }
        if self.state == State::Done {
            Scan::End(i)
        } else {
            Scan::More
        }
    }

    /// Follows `data` up to the first chunk data in it, the end of the body, or its end. Chunk
    /// data comes back as a range of `data` (never copied); call again with the bytes after it.
    pub fn decode(&mut self, data: &[u8]) -> Decoded {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Done => return Decoded::End(i),
                State::Data { remaining } => {
                    let take = remaining.min((data.len() - i) as u64);
                    let left = remaining - take;
                    self.state = if left == 0 {
                        State::DataEnd { seen_cr: false }
                    } else {
                        State::Data { remaining: left }
                    };
                    return Decoded::Data(i..i + take as usize);
                }
                _ => {
                    if let Err(reason) = self.step(data[i]) {
                        return Decoded::Bad { at: i, reason };
                    }
                    i += 1;
                }
            }
        }
        if self.state == State::Done {
            Decoded::End(i)
        } else {
            Decoded::More
        }
    }

    /// Advances by one byte outside chunk data.
    fn step(&mut self, b: u8) -> Result<(), &'static str> {
        const BAD_SIZE: &str = "invalid chunk size line";
        self.state = match self.state {
            State::Size {
                digits,
                value,
                after_digits,
                line_len,
            } => {
                if line_len >= MAX_CHUNK_LINE {
                    return Err("chunk size line too long");
                }
                let line_len = line_len + 1;
                match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' if !after_digits => {
                        if digits >= 16 {
                            return Err("chunk size too large");
                        }
                        let digit = (b as char).to_digit(16).ok_or(BAD_SIZE)? as u64;
                        State::Size {
                            digits: digits + 1,
                            value: (value << 4) | digit,
                            after_digits,
                            line_len,
                        }
                    }
                    b' ' | b'\t' if digits > 0 => State::Size {
                        digits,
                        value,
                        after_digits: true,
                        line_len,
                    },
                    b';' if digits > 0 => {
                        self.pending_size = value;
                        State::Ext { line_len }
                    }
                    b'\r' if digits > 0 => {
                        self.pending_size = value;
                        State::SizeLf { last: value == 0 }
                    }
                    _ => return Err(BAD_SIZE),
                }
            }
            State::Ext { line_len } => {
                if line_len >= MAX_CHUNK_LINE {
                    return Err("chunk extension too long");
                }
                match b {
                    b'\r' => State::SizeLf {
                        last: self.pending_size == 0,
                    },
                    b'\n' => return Err(BAD_SIZE),
                    _ => State::Ext {
                        line_len: line_len + 1,
                    },
                }
            }
            State::SizeLf { last } => {
                if b != b'\n' {
                    return Err(BAD_SIZE);
                }
                if last {
                    State::Trailer {
                        line_len: 0,
                        seen_cr: false,
                    }
                } else {
                    State::Data {
                        remaining: self.pending_size,
                    }
                }
            }
            State::DataEnd { seen_cr: false } if b == b'\r' => State::DataEnd { seen_cr: true },
            State::DataEnd { seen_cr: true } if b == b'\n' => new_chunk_size(),
            State::DataEnd { .. } => return Err("chunk data not followed by CRLF"),
            State::Trailer { line_len, seen_cr } => match (b, seen_cr) {
                (b'\r', false) => State::Trailer {
                    line_len,
                    seen_cr: true,
                },
                (b'\n', true) if line_len == 0 => State::Done,
                (b'\n', true) => State::Trailer {
                    line_len: 0,
                    seen_cr: false,
                },
                (_, true) | (b'\n', false) => return Err("malformed trailer section"),
                _ if line_len >= self.max_trailer_line => {
                    return Err("trailer section too large");
                }
                _ => State::Trailer {
                    line_len: line_len + 1,
                    seen_cr: false,
                },
            },
            other => other,
        };
        Ok(())
    }
}

fn new_chunk_size() -> State {
    State::Size {
        digits: 0,
        value: 0,
        after_digits: false,
        line_len: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n";

    #[test]
    fn finds_the_end_in_any_split() {
        let stream = [BODY, b"NEXT"].concat();
        for split in 0..=stream.len() {
            let mut body = ChunkedBody::new(1024);
            let first = body.scan(&stream[..split]);
            let end = match first {
                Scan::End(n) => n,
                Scan::More => match body.scan(&stream[split..]) {
                    Scan::End(n) => split + n,
                    other => panic!("split {split}: {other:?}"),
                },
                bad => panic!("split {split}: {bad:?}"),
            };
            assert_eq!(end, BODY.len(), "split {split}");
        }
    }

    #[test]
    fn byte_by_byte_ends_on_the_last_byte() {
        let mut body = ChunkedBody::new(1024);
        for (i, b) in BODY.iter().enumerate() {
            let scan = body.scan(std::slice::from_ref(b));
            if i + 1 < BODY.len() {
                assert_eq!(scan, Scan::More, "byte {i}");
            } else {
                assert_eq!(scan, Scan::End(1));
            }
        }
    }

    #[test]
    fn names_the_first_bad_byte() {
        for (data, at, why) in [
            (&b"zz\r\n"[..], 0, "invalid chunk size"),
            (b"3 x\r\n", 2, "invalid chunk size"),
            (b"3\r\nabcX", 6, "not followed by CRLF"),
            (b"12345678901234567\r\n", 16, "too large"),
            (b"0\r\nT: v\n", 7, "malformed trailer"),
        ] {
            match ChunkedBody::new(1024).scan(data) {
                Scan::Bad { at: got, reason } => {
                    assert_eq!(got, at, "{why}");
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    /// Decodes `pieces` fed one after the other: the data, and where the end came in the last.
    pub(crate) fn decode_all(pieces: &[&[u8]]) -> Result<(Vec<u8>, Option<usize>), &'static str> {
        let mut body = ChunkedBody::new(1024);
        let mut data = Vec::new();
        for piece in pieces {
            let mut rest: &[u8] = piece;
            loop {
                match body.decode(rest) {
                    Decoded::Data(r) => {
                        data.extend_from_slice(&rest[r.clone()]);
                        rest = &rest[r.end..];
                    }
                    Decoded::More => break,
                    Decoded::End(n) => return Ok((data, Some(piece.len() - rest.len() + n))),
                    Decoded::Bad { reason, .. } => return Err(reason),
                }
            }
        }
        Ok((data, None))
    }

    #[test]
    fn decodes_in_any_split_and_agrees_with_the_scan() {
        let stream = [BODY, b"NEXT"].concat();
        for split in 0..=stream.len() {
            let (data, end) = decode_all(&[&stream[..split], &stream[split..]]).unwrap();
            assert_eq!(data, b"abc0123456789", "split {split}");
            let end = end.expect("ends");
            let end = if split >= BODY.len() {
                end
            } else {
                split + end
            };
            assert_eq!(end, BODY.len(), "split {split}");
        }
        for (bad, _, _) in [(&b"zz\r\n"[..], 0, ""), (b"3\r\nabcX", 6, "")] {
            assert!(decode_all(&[bad]).is_err());
        }
    }

    #[test]
    fn long_trailer_lines_are_refused() {
        let mut data = b"0\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 20));
        assert!(matches!(
            ChunkedBody::new(10).scan(&data),
            Scan::Bad {
                reason: "trailer section too large",
                ..
            }
        ));
    }
}
