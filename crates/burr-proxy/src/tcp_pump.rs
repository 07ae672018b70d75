//! The byte pump of TCP listeners whose client and target are both plain sockets: each
//! direction moves bytes with `read`/`write` through a small buffer while messages are short,
//! and switches to `splice(2)` through a pipe of its own once a read fills the buffer (a
//! sustained transfer), so bulk bytes go socket → pipe → socket inside the kernel without being
//! copied through user space.
//!
//! It owns the pipes and the per-direction state; the caller ([`crate::tcp`]) owns the sockets,
//! the idle watchdog and the drain deadline, and drops the pump to end it. A direction that
//! reads end-of-stream shuts down the other socket's sending side (a half-close is passed on);
//! the pump ends when both directions have, or at the first error. Every chunk moved either way
//! stamps the connection's [`Activity`], as [`crate::idle::ActivityIo`] does on the copy path.
//!
//! Memory: a connection that is not moving bytes holds no buffer (one is allocated when the
//! socket turns readable and freed once its bytes are written) and no pipe (a direction takes
//! one from [`crate::splice`] only when it switches to splice; an empty pipe holds no data
//! pages). When the kernel
//! refuses `splice` on these descriptors (EINVAL, ENOSYS) or no pipe can be made, the direction
//! stays on the copy path.

use crate::idle::{Activity, ActivityIo};
use crate::splice::{Pipe, SPLICE_CHUNK, splice_once};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};

/// A client connection that may be a plain socket underneath: only then can it be spliced.
pub(crate) trait PlainTcp {
    /// The socket, when bytes read from it are the client's bytes as they are (no TLS).
    fn plain_tcp(&mut self) -> Option<&mut TcpStream>;
}

impl PlainTcp for ActivityIo<TcpStream> {
    fn plain_tcp(&mut self) -> Option<&mut TcpStream> {
        Some(self.get_mut())
    }
}

impl<T> PlainTcp for tokio_rustls::server::TlsStream<T> {
    fn plain_tcp(&mut self) -> Option<&mut TcpStream> {
        None
    }
}

/// Largest read on the copy path. A read that fills it shows a sustained transfer, which moves
/// that direction onto splice; 16 KiB is above a typical request or short reply (which then
/// costs no pipe) and is one TLS record, the unit TLS listeners' copy path moves anyway.
pub(crate) const COPY_CHUNK: usize = 16 * 1024;

/// How one direction currently moves its bytes.
enum Mode {
    Copy,
    Splice(Pipe),
    /// splice was refused on these descriptors once; it is not tried again on this direction.
    CopyOnly,
}

/// Relays between two plain sockets until both directions have ended or one fails. `counts`
/// are [bytes from the client, bytes to the client]: each chunk moved adds to them.
pub(crate) async fn relay_plain(
    client: &mut TcpStream,
    target: &mut TcpStream,
    activity: &Activity,
    counts: [&AtomicU64; 2],
) -> io::Result<()> {
    let (client_read, client_write) = client.split();
    let (target_read, target_write) = target.split();
    let [upstream_ended, downstream_ended] = [AtomicBool::new(false), AtomicBool::new(false)];
    tokio::try_join!(
        pump(
            client_read,
            target_write,
            [&upstream_ended, &downstream_ended],
            activity,
            counts[0],
        ),
        pump(
            target_read,
            client_write,
            [&downstream_ended, &upstream_ended],
            activity,
            counts[1],
        ),
    )?;
    Ok(())
}

/// Moves bytes from `from` to `to` until `from` reaches end-of-stream, then half-closes `to`.
/// `ended` is [this direction's end, the opposite direction's end]; `moved_total` counts the
/// bytes moved.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    ended: [&AtomicBool; 2],
    activity: &Activity,
    moved_total: &AtomicU64,
) -> io::Result<()> {
    let mut mode = Mode::Copy;
    loop {
        let moved = match &mut mode {
            Mode::Copy | Mode::CopyOnly => {
                let moved = copy_once(&mut from, &mut to, activity).await?;
                if moved == COPY_CHUNK && matches!(mode, Mode::Copy) {
                    // The pipe is made only now that bytes flow in bulk; without one (descriptor
                    // limit, kernel memory) this direction simply keeps copying.
                    mode = Pipe::take().map_or(Mode::CopyOnly, Mode::Splice);
                }
                moved
            }
            Mode::Splice(pipe) => {
                match splice_once(from.as_ref(), to.as_ref(), pipe, SPLICE_CHUNK, activity).await? {
                    Some(moved) => moved,
                    None => {
                        // Refused while filling the empty pipe: no byte entered it, so none is lost
                        // by going back to copying.
                        mode = Mode::CopyOnly;
                        continue;
                    }
                }
            }
        };
        moved_total.fetch_add(moved as u64, Ordering::Relaxed);
        if moved == 0 {
            ended[0].store(true, Ordering::Relaxed);
            // When the other direction has ended too, the relay is over and both sockets are
            // closed next, which sends the same FIN: the shutdown would be a wasted call.
            if !ended[1].load(Ordering::Relaxed) {
                socket2::SockRef::from(to.as_ref()).shutdown(std::net::Shutdown::Write)?;
            }
            return Ok(());
        }
    }
}

/// Reads once from `from` (up to [`COPY_CHUNK`]) and writes it all to `to`; 0 at end-of-stream.
/// Through tokio's `AsyncRead`, which forgets the socket's readiness after a short read, so the
/// next read waits for the next edge rather than spending a call on a would-block.
async fn copy_once(
    from: &mut ReadHalf<'_>,
    to: &mut WriteHalf<'_>,
    activity: &Activity,
) -> io::Result<usize> {
    // The buffer is allocated once the socket is readable, not before, so an idle connection
    // holds none; it is not zeroed either: `read_buf` fills the spare capacity.
    from.as_ref().readable().await?;
    let mut buffer = Vec::with_capacity(COPY_CHUNK);
    let read = from.read_buf(&mut buffer).await?;
    if read == 0 {
        return Ok(0);
    }
    activity.touch();
    to.write_all(&buffer).await?;
    activity.touch();
    Ok(read)
}
