//! Moving bytes from one plain socket to another inside the kernel with `splice(2)`, through a
//! pipe: the one implementation the TCP relay ([`crate::tcp_pump`]) and the HTTP fast path's
//! body relay (`http/h1/relay.rs`) share.
//!
//! It owns the pipes: each worker thread keeps a few empty ones ([`Pipe::take`] takes one from
//! there or makes one, dropping a [`Pipe`] puts it back), so a large HTTP body does not cost a
//! `pipe2` and two `close` calls each time. Only an empty pipe goes back: one that still holds
//! bytes (a peer broke mid-chunk, or the relay was dropped mid-chunk) is closed, so no byte of
//! one exchange can reach another. A pipe holds no data pages while empty.
//!
//! Where the kernel refuses `splice` on the descriptors (EINVAL, ENOSYS: [`refused`]) or no
//! pipe can be had, callers stay on their copy path. Elsewhere than Linux there is no pipe.

use crate::byte_count::CountedIo;
use crate::idle::{Activity, ActivityIo};
use crate::metrics::ListenerStats;
use std::io;
use tokio::net::TcpStream;

/// A client connection's plain socket, with what must see the bytes spliced to or from it
/// (which bypass the wrappers that count and stamp on the copy path).
pub(crate) struct PlainSocket<'a> {
    pub socket: &'a TcpStream,
    /// The idle watchdog's stamp.
    pub activity: &'a Activity,
    /// The listener's byte counters.
    pub stats: &'a ListenerStats,
}

/// A client connection of the HTTP fast path: splice is possible only when it is a plain
/// socket (http listener), not TLS.
pub(crate) trait ClientSocket {
    fn plain_socket(&self) -> Option<PlainSocket<'_>>;
}

impl ClientSocket for CountedIo<ActivityIo<TcpStream>> {
    fn plain_socket(&self) -> Option<PlainSocket<'_>> {
        Some(PlainSocket {
            socket: self.get_ref().get_ref(),
            activity: self.get_ref().activity(),
            stats: self.stats(),
        })
    }
}

impl<T> ClientSocket for CountedIo<tokio_rustls::server::TlsStream<T>> {
    fn plain_socket(&self) -> Option<PlainSocket<'_>> {
        None
    }
}

/// Which socket a splice failed on.
#[derive(Debug)]
pub(crate) enum Failed {
    /// Reading the source.
    From(io::Error),
    /// Writing the destination.
    To(io::Error),
}

impl From<Failed> for io::Error {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::From(error) | Failed::To(error) => error,
        }
    }
}

/// Most bytes one splice takes from a socket: the capacity of a default pipe (16 pages).
pub(crate) const SPLICE_CHUNK: usize = 64 * 1024;

/// Empty pipes a worker thread keeps for the next body: enough for the bodies one worker
/// relays at once in a busy moment, few enough that the descriptors they hold (two each) stay
/// well inside the reserve `limits.rs` keeps.
#[cfg(target_os = "linux")]
const CACHED_PIPES: usize = 4;

/// Splices once from `from` into the (empty) `pipe`, at most `len` bytes, and then all of them
/// out to `to`; `Some(0)` at end-of-stream, `None` when the kernel refuses to splice from
/// `from` (nothing was moved). The pipe is always empty between calls, so a would-block while
/// filling it can only mean `from` has nothing to read, and one while draining it only that
/// `to` is full: each clears the right socket's readiness. Each chunk in and out stamps
/// `activity`.
pub(crate) async fn splice_once(
    from: &TcpStream,
    to: &TcpStream,
    pipe: &mut Pipe,
    len: usize,
    activity: &Activity,
) -> Result<Option<usize>, Failed> {
    let spliced = loop {
        from.readable().await.map_err(Failed::From)?;
        match from.try_io(tokio::io::Interest::READABLE, || pipe.fill_from(from, len)) {
            Ok(spliced) => break spliced,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) if refused(&error) => return Ok(None),
            Err(error) => return Err(Failed::From(error)),
        }
    };
    if spliced == 0 {
        return Ok(Some(0));
    }
    activity.touch();
    while pipe.holding() > 0 {
        to.writable().await.map_err(Failed::To)?;
        match to.try_io(tokio::io::Interest::WRITABLE, || pipe.drain_into(to)) {
            Ok(0) => return Err(Failed::To(io::ErrorKind::WriteZero.into())),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(Failed::To(error)),
        }
    }
    activity.touch();
    Ok(Some(spliced))
}

/// True when the kernel does not splice between these descriptors at all.
pub(crate) fn refused(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS))
}

#[cfg(target_os = "linux")]
pub(crate) use linux::Pipe;

#[cfg(target_os = "linux")]
mod linux {
    use super::CACHED_PIPES;
    use std::cell::RefCell;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// Both ends of a nonblocking pipe.
    struct Ends {
        read: OwnedFd,
        write: OwnedFd,
    }

    thread_local! {
        /// This worker's empty pipes.
        static EMPTY: RefCell<Vec<Ends>> = const { RefCell::new(Vec::new()) };
    }

    /// A pipe lent by the worker's cache, with the count of bytes it holds: back to the cache
    /// on drop when it holds none, closed otherwise.
    pub(crate) struct Pipe {
        ends: Option<Ends>,
        holding: usize,
    }

    impl Pipe {
        /// An empty pipe: the worker's cached one, or a new one.
        pub(crate) fn take() -> io::Result<Self> {
            let cached = EMPTY.with(|empty| empty.borrow_mut().pop());
            let ends = match cached {
                Some(ends) => ends,
                None => new_ends()?,
            };
            Ok(Self {
                ends: Some(ends),
                holding: 0,
            })
        }

        /// Bytes in the pipe, not yet drained.
        pub(crate) fn holding(&self) -> usize {
            self.holding
        }

        /// Moves up to `len` bytes from the socket into the pipe.
        pub(crate) fn fill_from(&mut self, socket: &impl AsRawFd, len: usize) -> io::Result<usize> {
            let write = self.ends().write.as_raw_fd();
            let moved = splice(socket.as_raw_fd(), write, len)?;
            self.holding += moved;
            Ok(moved)
        }

        /// Moves what the pipe holds (or as much as the socket takes) to the socket.
        pub(crate) fn drain_into(&mut self, socket: &impl AsRawFd) -> io::Result<usize> {
            let read = self.ends().read.as_raw_fd();
            let moved = splice(read, socket.as_raw_fd(), self.holding)?;
            self.holding -= moved;
            Ok(moved)
        }

        fn ends(&self) -> &Ends {
            self.ends
                .as_ref()
                .expect("a pipe has its ends until dropped")
        }
    }

    impl Drop for Pipe {
        fn drop(&mut self) {
            if self.holding != 0 {
                return; // bytes of a broken transfer: closed with the pipe
            }
            if let Some(ends) = self.ends.take() {
                // `try_with`: a thread being torn down has no cache left; the pipe just closes.
                let _ = EMPTY.try_with(|empty| {
                    let mut empty = empty.borrow_mut();
                    if empty.len() < CACHED_PIPES {
                        empty.push(ends);
                    }
                });
            }
        }
    }

    fn new_ends() -> io::Result<Ends> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Ends { read, write })
    }

    fn splice(from: i32, to: i32, len: usize) -> io::Result<usize> {
        // SAFETY: both are open descriptors borrowed for the call; null offsets mean "the
        // current position", the only meaning sockets and pipes have.
        let moved = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
            )
        };
        if moved < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(moved as usize)
        }
    }

    #[cfg(test)]
    pub(super) fn cached() -> usize {
        EMPTY.with(|empty| empty.borrow().len())
    }
}

/// Elsewhere there is no splice: every caller stays on its copy path.
#[cfg(not(target_os = "linux"))]
pub(crate) enum Pipe {}

#[cfg(not(target_os = "linux"))]
impl Pipe {
    pub(crate) fn take() -> io::Result<Self> {
        Err(io::ErrorKind::Unsupported.into())
    }
    pub(crate) fn holding(&self) -> usize {
        match *self {}
    }
    pub(crate) fn fill_from(
        &mut self,
        _: &impl std::os::fd::AsRawFd,
        _: usize,
    ) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn drain_into(&mut self, _: &impl std::os::fd::AsRawFd) -> io::Result<usize> {
        match *self {}
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (a, b) = tokio::join!(
            TcpStream::connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        (a.unwrap(), b.unwrap().0)
    }

    #[tokio::test]
    async fn an_empty_pipe_goes_back_to_the_cache_and_one_holding_bytes_is_closed() {
        let (mut writer, from) = socket_pair().await;
        let (to, mut reader) = socket_pair().await;
        let activity = Activity::default();
        writer.write_all(b"hello").await.unwrap();
        let before = linux::cached();
        let mut pipe = Pipe::take().unwrap();
        let moved = splice_once(&from, &to, &mut pipe, 3, &activity)
            .await
            .unwrap();
        assert_eq!(moved, Some(3), "never more than `len`");
        let mut got = [0; 3];
        reader.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hel");
        drop(pipe);
        assert_eq!(linux::cached(), before.max(1), "an empty pipe is kept");
        let mut pipe = Pipe::take().unwrap();
        assert_eq!(linux::cached(), before.max(1) - 1);
        from.readable().await.unwrap();
        assert_eq!(pipe.fill_from(&from, 10).unwrap(), 2);
        drop(pipe);
        assert_eq!(
            linux::cached(),
            before.max(1) - 1,
            "a pipe holding bytes is closed, not kept"
        );
    }
}
