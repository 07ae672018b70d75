//! What each frame a client sends does to burr's HTTP/2 connection and its streams, and which
//! errors end a stream (RST_STREAM) or the connection (GOAWAY), per RFC 9113 §5 and §6: stream
//! ids and states, header blocks and their CONTINUATION, flow control both ways, SETTINGS,
//! PING, GOAWAY. A request's header block becomes a stream whose handler starts at once.

use super::frame::{self, ErrorCode, Head, MAX_WINDOW, flag, kind, setting};
use super::hpack::DecodeError;
use super::streams::{Handling, Phase, Recv, Stream, StreamBody};
use super::{Ending, MAX_CONCURRENT_STREAMS, MAX_LOCAL_RESETS, RESET_MEMORY, Server, WINDOW};
use crate::http::body::ClientBody;
use bytes::Bytes;
use http::Request;
use tokio::io::{AsyncRead, AsyncWrite};

/// An error the client caused (§5.4).
#[derive(Debug)]
pub(super) enum Fault {
    Connection(ErrorCode),
    Stream(u32, ErrorCode),
}

use Fault::{Connection, Stream as StreamFault};

impl<I, S> Server<I, S>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: FnMut(Request<ClientBody>) -> Handling,
{
    /// Every frame but DATA.
    pub(super) fn on_frame(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if let Some((stream, _, _)) = self.continuing {
            // A header block is in CONTINUATION frames, and nothing may come between (§6.10).
            if head.kind != kind::CONTINUATION || head.stream != stream {
                return Err(Connection(ErrorCode::PROTOCOL_ERROR));
            }
            return self.on_continuation(head, payload);
        }
        if !self.settings_read && (head.kind != kind::SETTINGS || head.has(flag::ACK)) {
            // The preface's SETTINGS comes first (§3.4).
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        match head.kind {
            kind::HEADERS => self.on_headers(head, payload),
            kind::PRIORITY => on_priority(head, payload),
            kind::RST_STREAM => self.on_reset(head, payload),
            kind::SETTINGS => self.on_settings(head, payload),
            kind::PING => self.on_ping(head, payload),
            kind::GOAWAY => self.on_goaway(head, payload),
            kind::WINDOW_UPDATE => self.on_window_update(head, payload),
            // A client may not push (§8.4), and CONTINUATION only follows HEADERS.
            kind::PUSH_PROMISE | kind::CONTINUATION => Err(Connection(ErrorCode::PROTOCOL_ERROR)),
            _ => Ok(()), // unknown frame types are ignored (§4.1)
        }
    }

    /// A DATA frame, `frame` being its header and payload.
    pub(super) fn on_data(&mut self, head: Head, frame: Bytes) -> Result<(), Fault> {
        if self.continuing.is_some() || !self.settings_read || head.stream == 0 {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        let payload = &frame[frame::HEAD_LEN..];
        let (start, end) =
            frame::unpadded(&head, payload, 0).ok_or(Connection(ErrorCode::PROTOCOL_ERROR))?;
        // The whole payload counts against the windows, padding included (§6.9.1).
        self.recv_window -= head.len as i64;
        if self.recv_window < 0 {
            return Err(Connection(ErrorCode::FLOW_CONTROL_ERROR));
        }
        let Some(slot) = self.streams.find(head.stream) else {
            self.recv_credit += head.len;
            return self.on_unknown_stream(head.stream);
        };
        let stream = self.streams.slots[slot].stream.as_mut().expect("found");
        let data_len = end - start;
        if stream.recv_closed {
            self.recv_credit += head.len;
            return Err(StreamFault(head.stream, ErrorCode::STREAM_CLOSED));
        }
        stream.recv_window -= head.len as i64;
        stream.charged += head.len;
        if stream.recv_window < 0 {
            return Err(StreamFault(head.stream, ErrorCode::FLOW_CONTROL_ERROR));
        }
        // Padding is consumed as it arrives.
        let padding = head.len - data_len;
        stream.charged -= padding;
        self.recv_credit += padding;
        stream.received += data_len as u64;
        let ended = head.has(flag::END_STREAM);
        if let Some(declared) = stream.declared
            && (stream.received > declared || ended && stream.received != declared)
        {
            return Err(StreamFault(head.stream, ErrorCode::PROTOCOL_ERROR));
        }
        stream.recv_closed = ended;
        let delivered = match &stream.recv {
            Some(recv) => recv.push(
                frame.slice(frame::HEAD_LEN + start..frame::HEAD_LEN + end),
                ended,
            ),
            None => false,
        };
        if !delivered {
            // Nobody reads the body any more: the bytes are consumed as they arrive.
            stream.charged -= data_len;
            self.recv_credit += data_len;
        }
        Ok(())
    }

    /// A frame for a stream that is not open: idle (never opened), or closed.
    fn on_unknown_stream(&self, id: u32) -> Result<(), Fault> {
        if id > self.last_stream {
            Err(Connection(ErrorCode::PROTOCOL_ERROR))
        } else if self.reset_recently.contains(&id) {
            // Sent before the client saw burr's RST_STREAM (§5.4.2).
            Ok(())
        } else {
            Err(StreamFault(id, ErrorCode::STREAM_CLOSED))
        }
    }

    fn on_headers(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if head.stream == 0 {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        let fixed = if head.has(flag::PRIORITY) { 5 } else { 0 };
        let (start, end) =
            frame::unpadded(&head, payload, fixed).ok_or(Connection(ErrorCode::PROTOCOL_ERROR))?;
        let depends_on_itself = fixed == 5
            && u32::from_be_bytes(payload[start..start + 4].try_into().expect("4 bytes"))
                & 0x7fff_ffff
                == head.stream;
        let fragment = &payload[start + fixed..end];
        if !head.has(flag::END_HEADERS) {
            self.block.clear();
            self.block.extend_from_slice(fragment);
            self.continuing = Some((head.stream, head.flags, depends_on_itself));
            return Ok(());
        }
        self.on_header_block(head.stream, head.flags, fragment, depends_on_itself)
    }

    fn on_continuation(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        self.block.extend_from_slice(payload);
        // A block that large holds more than the header list may (each field costs more in
        // the list than in the block), so it would be refused anyway.
        if self.block.len() > self.max_head + frame::MAX_FRAME {
            return Err(Connection(ErrorCode::ENHANCE_YOUR_CALM));
        }
        if !head.has(flag::END_HEADERS) {
            return Ok(());
        }
        let (stream, flags, depends_on_itself) = self.continuing.take().expect("continuing");
        let block = std::mem::take(&mut self.block);
        let result = self.on_header_block(stream, flags, &block, depends_on_itself);
        self.block = block;
        result
    }

    /// Decodes `block` into `self.fields`; the decoder's errors end the connection (§4.3).
    fn decode(&mut self, block: &[u8], trailers: bool) -> Result<bool, Fault> {
        self.fields.begin(trailers);
        // What a refused block left is not part of this one.
        self.values.clear();
        self.values.reserve(block.len() * 2);
        let (fields, values) = (&mut self.fields, &mut self.values);
        match self.decoder.decode(block, self.max_head, |name, value| {
            fields.field(name, value, values)
        }) {
            Ok(()) => Ok(true),
            Err(DecodeError::ListTooLarge) => Ok(false),
            Err(DecodeError::Compression(why)) => {
                tracing::debug!(why, "HTTP/2 header block refused");
                Err(Connection(ErrorCode::COMPRESSION_ERROR))
            }
        }
    }

    fn on_header_block(
        &mut self,
        id: u32,
        flags: u8,
        block: &[u8],
        depends_on_itself: bool,
    ) -> Result<(), Fault> {
        let ended = flags & flag::END_STREAM != 0;
        if let Some(slot) = self.streams.find(id) {
            return self.on_trailers(slot, id, ended, block);
        }
        if id.is_multiple_of(2) {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        if id <= self.last_stream {
            // Not a new stream's id (§5.1.1); the block still goes through the decoder, whose
            // table must stay in step.
            self.decode(block, false)?;
            return if self.reset_recently.contains(&id) {
                Ok(())
            } else {
                Err(Connection(ErrorCode::PROTOCOL_ERROR))
            };
        }
        let fits = self.decode(block, false)?;
        self.last_stream = id;
        if self.ending != Ending::No {
            return Ok(()); // after GOAWAY, no new stream is served
        }
        if depends_on_itself {
            return Err(StreamFault(id, ErrorCode::PROTOCOL_ERROR));
        }
        if !fits {
            self.refuse_too_large(id, ended);
            return Ok(());
        }
        if self.streams.open >= MAX_CONCURRENT_STREAMS {
            return Err(StreamFault(id, ErrorCode::REFUSED_STREAM));
        }
        let declared = self.fields.content_length();
        if ended && declared.is_some_and(|length| length != 0) {
            return Err(StreamFault(id, ErrorCode::PROTOCOL_ERROR));
        }
        let (slot, waker) = self.streams.vacant();
        let recv = (!ended).then(|| Recv::new(waker));
        let body = ClientBody::H2Burr(StreamBody::new(recv.clone(), declared));
        let values = self.values.split().freeze();
        let request = match self.fields.request(values, body) {
            Ok(request) => request,
            Err(why) => {
                tracing::debug!(why, "malformed HTTP/2 request");
                return Err(StreamFault(id, ErrorCode::PROTOCOL_ERROR));
            }
        };
        let handling = (self.start)(request);
        self.streams.put(
            slot,
            Stream {
                id,
                phase: Phase::Handling(handling),
                send_window: self.peer_initial_window,
                recv_window: WINDOW,
                recv,
                recv_closed: ended,
                declared,
                received: 0,
                charged: 0,
                taken: 0,
                blocked: false,
            },
        );
        self.opened += 1;
        self.runnable.push(slot);
        Ok(())
    }

    /// A header block on an open stream: its trailers, which end it (§8.1).
    fn on_trailers(
        &mut self,
        slot: usize,
        id: u32,
        ended: bool,
        block: &[u8],
    ) -> Result<(), Fault> {
        let fits = self.decode(block, true)?;
        let values = self.values.split().freeze();
        let stream = self.streams.slots[slot].stream.as_mut().expect("found");
        if stream.recv_closed {
            return Err(StreamFault(id, ErrorCode::STREAM_CLOSED));
        }
        if !ended || !fits || stream.declared.is_some_and(|d| d != stream.received) {
            return Err(StreamFault(id, ErrorCode::PROTOCOL_ERROR));
        }
        let trailers = self.fields.trailers(values).map_err(|why| {
            tracing::debug!(why, "malformed HTTP/2 trailers");
            StreamFault(id, ErrorCode::PROTOCOL_ERROR)
        })?;
        stream.recv_closed = true;
        if let Some(recv) = &stream.recv {
            recv.trailers(trailers);
        }
        Ok(())
    }

    /// A request whose header list is over the limit: 431, as hyper's server answered.
    fn refuse_too_large(&mut self, id: u32, ended: bool) {
        let mut block = std::mem::take(&mut self.head_block);
        block.clear();
        super::hpack::encode_status(431, &mut block);
        super::hpack::encode_field(b"content-length", b"0", false, &mut block);
        frame::write_header_block(&mut self.out, id, &block, true, frame::MAX_FRAME);
        self.head_block = block;
        if !ended {
            // The client may still be sending its body: tell it to stop (§8.1).
            self.reset(id, ErrorCode::NO_ERROR);
        }
    }

    fn on_reset(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if head.stream == 0 {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        if payload.len() != 4 {
            return Err(Connection(ErrorCode::FRAME_SIZE_ERROR));
        }
        if head.stream > self.last_stream {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        if let Some(slot) = self.streams.find(head.stream) {
            self.recv_credit += self.streams.remove(slot);
            self.reset_by_client += 1;
            // Rapid reset: a client that makes burr start requests only to cancel them.
            if self.reset_by_client > 100 && self.reset_by_client * 2 > self.opened {
                return Err(Connection(ErrorCode::ENHANCE_YOUR_CALM));
            }
        }
        Ok(())
    }

    fn on_settings(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if head.stream != 0 {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        if head.has(flag::ACK) {
            return if payload.is_empty() {
                Ok(())
            } else {
                Err(Connection(ErrorCode::FRAME_SIZE_ERROR))
            };
        }
        if !payload.len().is_multiple_of(6) {
            return Err(Connection(ErrorCode::FRAME_SIZE_ERROR));
        }
        for entry in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
            match id {
                setting::ENABLE_PUSH if value > 1 => {
                    return Err(Connection(ErrorCode::PROTOCOL_ERROR));
                }
                setting::INITIAL_WINDOW_SIZE => self.set_initial_window(i64::from(value))?,
                // Checked, not taken: frames stay at 16 KiB whatever the client accepts, as a
                // larger DATA frame would hold the other streams' frames back longer.
                setting::MAX_FRAME_SIZE
                    if !(frame::MAX_FRAME as u32..=(1 << 24) - 1).contains(&value) =>
                {
                    return Err(Connection(ErrorCode::PROTOCOL_ERROR));
                }
                // burr's encoder keeps no dynamic table and pushes nothing; the rest is advice.
                _ => {}
            }
        }
        self.settings_read = true;
        frame::write_head(&mut self.out, 0, kind::SETTINGS, flag::ACK, 0);
        Ok(())
    }

    /// A new initial window changes every open stream's by the difference (§6.9.2).
    fn set_initial_window(&mut self, value: i64) -> Result<(), Fault> {
        if value > MAX_WINDOW {
            return Err(Connection(ErrorCode::FLOW_CONTROL_ERROR));
        }
        let delta = value - self.peer_initial_window;
        self.peer_initial_window = value;
        for stream in self
            .streams
            .slots
            .iter_mut()
            .filter_map(|s| s.stream.as_mut())
        {
            stream.send_window += delta;
            if stream.send_window > MAX_WINDOW {
                return Err(Connection(ErrorCode::FLOW_CONTROL_ERROR));
            }
        }
        if delta > 0 {
            self.unblock_all();
        }
        Ok(())
    }

    fn on_ping(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if head.stream != 0 {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        if payload.len() != 8 {
            return Err(Connection(ErrorCode::FRAME_SIZE_ERROR));
        }
        if !head.has(flag::ACK) {
            frame::write_head(&mut self.out, 8, kind::PING, flag::ACK, 0);
            self.out.extend_from_slice(payload);
        }
        Ok(())
    }

    fn on_goaway(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if head.stream != 0 {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        if payload.len() < 8 {
            return Err(Connection(ErrorCode::FRAME_SIZE_ERROR));
        }
        let code = u32::from_be_bytes(payload[4..8].try_into().expect("4 bytes"));
        if code == ErrorCode::NO_ERROR.0 {
            // The client opens no more streams; the open ones finish.
            if self.ending == Ending::No {
                self.ending = Ending::Graceful;
            }
        } else {
            self.ending = Ending::Now;
            self.drop_streams();
        }
        Ok(())
    }

    fn on_window_update(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if payload.len() != 4 {
            return Err(Connection(ErrorCode::FRAME_SIZE_ERROR));
        }
        let increment =
            i64::from(u32::from_be_bytes(payload.try_into().expect("4 bytes")) & 0x7fff_ffff);
        if head.stream == 0 {
            if increment == 0 {
                return Err(Connection(ErrorCode::PROTOCOL_ERROR));
            }
            self.send_window += increment;
            if self.send_window > MAX_WINDOW {
                return Err(Connection(ErrorCode::FLOW_CONTROL_ERROR));
            }
            self.unblock_all();
            return Ok(());
        }
        if head.stream > self.last_stream {
            return Err(Connection(ErrorCode::PROTOCOL_ERROR));
        }
        let Some(slot) = self.streams.find(head.stream) else {
            return Ok(()); // a closed stream's window no longer matters
        };
        if increment == 0 {
            return Err(StreamFault(head.stream, ErrorCode::PROTOCOL_ERROR));
        }
        let stream = self.streams.slots[slot].stream.as_mut().expect("found");
        stream.send_window += increment;
        if stream.send_window > MAX_WINDOW {
            return Err(StreamFault(head.stream, ErrorCode::FLOW_CONTROL_ERROR));
        }
        if stream.blocked {
            stream.blocked = false;
            self.runnable.push(slot);
        }
        Ok(())
    }

    fn unblock_all(&mut self) {
        for slot in self.blocked.drain(..) {
            if let Some(stream) = self.streams.slots[slot].stream.as_mut()
                && stream.blocked
            {
                stream.blocked = false;
                self.runnable.push(slot);
            }
        }
    }

    /// Ends the connection or a stream for the client's error.
    pub(super) fn on_fault(&mut self, fault: Fault) {
        match fault {
            Connection(code) => self.fail(code),
            StreamFault(id, code) => {
                tracing::debug!(stream = id, code = code.0, "HTTP/2 stream error");
                self.reset(id, code);
                self.error_resets += 1;
                if self.error_resets > MAX_LOCAL_RESETS {
                    self.fail(ErrorCode::ENHANCE_YOUR_CALM);
                }
            }
        }
    }

    /// Sends RST_STREAM and ends the stream if it is open.
    pub(super) fn reset(&mut self, id: u32, code: ErrorCode) {
        frame::write_rst(&mut self.out, id, code);
        if let Some(slot) = self.streams.find(id) {
            self.recv_credit += self.streams.remove(slot);
        }
        self.reset_recently[self.resets % RESET_MEMORY] = id;
        self.resets += 1;
    }
}

fn on_priority(head: Head, payload: &[u8]) -> Result<(), Fault> {
    if head.stream == 0 {
        return Err(Connection(ErrorCode::PROTOCOL_ERROR));
    }
    if payload.len() != 5 {
        return Err(StreamFault(head.stream, ErrorCode::FRAME_SIZE_ERROR));
    }
    let depends_on = u32::from_be_bytes(payload[..4].try_into().expect("4 bytes")) & 0x7fff_ffff;
    if depends_on == head.stream {
        return Err(StreamFault(head.stream, ErrorCode::PROTOCOL_ERROR));
    }
    Ok(()) // priorities are advice burr does not take (RFC 9113 deprecates them)
}
