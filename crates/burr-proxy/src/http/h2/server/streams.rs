//! The streams of one HTTP/2 connection served by burr's own codec: a slot per open stream,
//! each with a waker of its own that queues the slot for the connection's task and wakes it, so
//! the task polls only the streams that can move (what a task per stream would give, without a
//! task, a channel or a lock shared by every stream). Slots and their wakers are reused as
//! streams come and go, so a stream costs no allocation here once the connection has run a
//! while. Also the request body a stream's handler reads ([`StreamBody`]): DATA the connection
//! received, taken as the handler forwards it, the window given back as it is taken.

use super::super::body::BoxError;
use crate::http::body::ProxyBody;
use atomic_waker::AtomicWaker;
use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// A stream's request handling: `http::handle` on its request.
pub(crate) type Handling =
    Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

/// Bytes of a request body taken by its reader before the window is given back: half the
/// window, as the h2 crate did, so a steady upload never waits on a WINDOW_UPDATE.
pub(super) const CREDIT_AT: usize = super::WINDOW as usize / 2;

/// Slots queued by their wakers, and the connection task's waker.
#[derive(Default)]
pub(super) struct ReadyQueue {
    queued: Mutex<Vec<usize>>,
    task: AtomicWaker,
}

impl ReadyQueue {
    pub(super) fn register(&self, waker: &Waker) {
        self.task.register(waker);
    }

    /// Moves the queued slots into `into` (emptied first).
    pub(super) fn take(&self, into: &mut Vec<usize>) {
        into.clear();
        std::mem::swap(&mut *lock(&self.queued), into);
    }
}

struct SlotWaker {
    slot: usize,
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            lock(&self.ready.queued).push(self.slot);
        }
        self.ready.task.wake();
    }
}

/// What a stream is doing.
pub(super) enum Phase {
    /// Its handler runs.
    Handling(Handling),
    /// Its response head went out; its body goes as the windows allow.
    Sending(Sending),
}

pub(super) struct Sending {
    pub(super) body: ProxyBody,
    /// Data taken from the body that the windows did not let out yet.
    pub(super) held: Bytes,
    /// `held` is the body's last data.
    pub(super) last: bool,
}

pub(super) struct Stream {
    pub(super) id: u32,
    pub(super) phase: Phase,
    /// What burr may still send on the stream (the client's window; may go below zero when a
    /// SETTINGS lowers the initial window, RFC 9113 §6.9.2).
    pub(super) send_window: i64,
    /// What the client may still send on it.
    pub(super) recv_window: i64,
    /// Shared with the request body's reader while the client may still send DATA.
    pub(super) recv: Option<Arc<Recv>>,
    /// The client ended its side (END_STREAM).
    pub(super) recv_closed: bool,
    /// The request's `content-length`, which the DATA must add up to (§8.1.1).
    pub(super) declared: Option<u64>,
    pub(super) received: u64,
    /// DATA bytes counted against the connection's window and not given back yet: given back
    /// as the reader takes them, and all of it when the stream ends, whoever holds the body.
    pub(super) charged: usize,
    /// Bytes the reader took not yet given back as the stream's window.
    pub(super) taken: usize,
    /// Waits for a WINDOW_UPDATE.
    pub(super) blocked: bool,
}

pub(super) struct Slot {
    pub(super) stream: Option<Stream>,
    wake: Arc<SlotWaker>,
    pub(super) waker: Waker,
}

/// The open streams, by slot.
pub(super) struct Streams {
    pub(super) slots: Vec<Slot>,
    free: Vec<usize>,
    pub(super) open: usize,
    pub(super) ready: Arc<ReadyQueue>,
}

impl Streams {
    pub(super) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            ready: Arc::default(),
        }
    }

    /// The slot of the open stream `id`. A linear search: a connection has at most a few
    /// hundred open streams and usually a handful, and the ids are in one small array.
    pub(super) fn find(&self, id: u32) -> Option<usize> {
        self.slots
            .iter()
            .position(|slot| slot.stream.as_ref().is_some_and(|s| s.id == id))
    }

    /// A free slot for a new stream, with the waker its stream will be woken with.
    pub(super) fn vacant(&mut self) -> (usize, Waker) {
        let slot = match self.free.last() {
            Some(&slot) => slot,
            None => {
                let slot = self.slots.len();
                let wake = Arc::new(SlotWaker {
                    slot,
                    queued: AtomicBool::new(false),
                    ready: self.ready.clone(),
                });
                let waker = Waker::from(wake.clone());
                self.slots.push(Slot {
                    stream: None,
                    wake,
                    waker,
                });
                self.free.push(slot);
                slot
            }
        };
        (slot, self.slots[slot].waker.clone())
    }

    /// Puts `stream` in `slot`, from [`Self::vacant`].
    pub(super) fn put(&mut self, slot: usize, stream: Stream) {
        let taken = self.free.pop();
        debug_assert_eq!(taken, Some(slot));
        self.slots[slot].stream = Some(stream);
        self.open += 1;
    }

    /// Ends the stream in `slot`: its handling and its body go, its request body's reader
    /// (wherever it is) gets an error if the body was not complete. Returns the bytes of the
    /// connection's window the stream held.
    pub(super) fn remove(&mut self, slot: usize) -> usize {
        let Some(stream) = self.slots[slot].stream.take() else {
            return 0;
        };
        self.open -= 1;
        self.free.push(slot);
        if let Some(recv) = &stream.recv {
            recv.fail("the stream was reset");
        }
        stream.charged
    }

    /// Marks `slot` as polled, so a wake from now on queues it again.
    pub(super) fn unqueue(&self, slot: usize) {
        self.slots[slot].wake.queued.store(false, Ordering::Release);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A request body between the connection (which receives its DATA) and its reader.
pub(super) struct Recv {
    state: Mutex<RecvState>,
}

#[derive(Default)]
struct RecvState {
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    ended: bool,
    error: Option<&'static str>,
    reader: Option<Waker>,
    reader_gone: bool,
    /// Bytes the reader took (or that were dropped with it) not yet given back as window.
    credit: usize,
    /// The connection's waker for the stream, woken when `credit` reaches [`CREDIT_AT`] (the
    /// reader may be another task: hyper's client's connection).
    stream: Option<Waker>,
}

impl Recv {
    pub(super) fn new(stream: Waker) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(RecvState {
                stream: Some(stream),
                ..RecvState::default()
            }),
        })
    }

    /// Hands DATA to the reader; false when the reader is gone (the caller gives the bytes
    /// back as window itself).
    pub(super) fn push(&self, data: Bytes, end: bool) -> bool {
        let mut state = lock(&self.state);
        state.ended |= end;
        if state.reader_gone {
            return false;
        }
        if !data.is_empty() {
            state.chunks.push_back(data);
        }
        if let Some(reader) = state.reader.take() {
            drop(state);
            reader.wake();
        }
        true
    }

    pub(super) fn trailers(&self, trailers: HeaderMap) {
        let mut state = lock(&self.state);
        state.trailers = Some(trailers);
        state.ended = true;
        if let Some(reader) = state.reader.take() {
            drop(state);
            reader.wake();
        }
    }

    /// Ends the body with an error for its reader (the stream was reset or the connection
    /// ended before the client finished sending it).
    pub(super) fn fail(&self, why: &'static str) {
        let mut state = lock(&self.state);
        state.stream = None;
        if state.ended && state.chunks.is_empty() {
            return;
        }
        state.error = Some(why);
        if let Some(reader) = state.reader.take() {
            drop(state);
            reader.wake();
        }
    }

    /// The bytes taken since the last call, to give back as window.
    pub(super) fn take_credit(&self) -> usize {
        std::mem::take(&mut lock(&self.state).credit)
    }
}

/// An HTTP/2 stream's request body, as its handler reads it.
pub struct StreamBody {
    recv: Option<Arc<Recv>>,
    /// The declared `content-length` still to come.
    remaining: Option<u64>,
}

impl StreamBody {
    pub(super) fn new(recv: Option<Arc<Recv>>, declared: Option<u64>) -> Self {
        Self {
            recv,
            remaining: declared,
        }
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        if let Some(recv) = &self.recv {
            let mut state = lock(&recv.state);
            state.reader_gone = true;
            let dropped: usize = state.chunks.drain(..).map(|c| c.len()).sum();
            state.credit += dropped;
            if let Some(stream) = state.stream.take() {
                drop(state);
                stream.wake();
            }
        }
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(recv) = &this.recv else {
            return Poll::Ready(None);
        };
        let mut state = lock(&recv.state);
        if let Some(data) = state.chunks.pop_front() {
            let before = state.credit;
            state.credit += data.len();
            let wake = (before < CREDIT_AT && state.credit >= CREDIT_AT)
                .then(|| state.stream.clone())
                .flatten();
            drop(state);
            if let Some(stream) = wake {
                stream.wake();
            }
            if let Some(remaining) = &mut this.remaining {
                *remaining = remaining.saturating_sub(data.len() as u64);
            }
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(error) = state.error {
            return Poll::Ready(Some(Err(error.into())));
        }
        if state.ended {
            return Poll::Ready(state.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        state.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.recv.as_ref().is_none_or(|recv| {
            let state = lock(&recv.state);
            state.ended && state.chunks.is_empty() && state.trailers.is_none()
        })
    }

    fn size_hint(&self) -> SizeHint {
        if self.is_end_stream() {
            return SizeHint::with_exact(0);
        }
        self.remaining
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}
