//! What the bench's UDP programs share: batched datagram I/O with `recvmmsg`/`sendmmsg` on
//! nonblocking sockets, and argument parsing that names the flag and the value it refused.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Most datagrams one `recvmmsg`/`sendmmsg` call moves.
pub const BATCH: usize = 64;
/// Largest datagram the tools handle (the UDP payload limit over IPv4).
pub const MAX_DATAGRAM: usize = 65_507;

/// Buffers for one batch of datagrams, reused across calls.
pub struct Batch {
    buffers: Vec<Vec<u8>>,
    lengths: [usize; BATCH],
    addresses: [libc::sockaddr_storage; BATCH],
    pub count: usize,
}

impl Batch {
    pub fn new(buffer_size: usize) -> Self {
        Self {
            buffers: (0..BATCH).map(|_| vec![0; buffer_size]).collect(),
            lengths: [0; BATCH],
            // SAFETY: an all-zero sockaddr_storage is a valid (unspecified-family) value.
            addresses: unsafe { std::mem::zeroed() },
            count: 0,
        }
    }

    /// Receives up to BATCH datagrams without waiting; the count (0 when none is queued).
    pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut iovecs: Vec<libc::iovec> = self
            .buffers
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        let mut headers = addressed_headers(&mut iovecs, &mut self.addresses);
        // SAFETY: headers point at live iovecs, buffers and addresses for the whole call.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let error = io::Error::last_os_error();
            self.count = 0;
            return if error.kind() == io::ErrorKind::WouldBlock {
                Ok(0)
            } else {
                Err(error)
            };
        }
        self.count = n as usize;
        for (length, header) in self.lengths.iter_mut().zip(&headers[..self.count]) {
            *length = header.msg_len as usize;
        }
        Ok(self.count)
    }

    /// Sends back every received datagram to the address it came from (the echo target).
    pub fn echo(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut iovecs: Vec<libc::iovec> = (0..self.count)
            .map(|i| libc::iovec {
                iov_base: self.buffers[i].as_mut_ptr().cast(),
                iov_len: self.lengths[i],
            })
            .collect();
        let mut headers = addressed_headers(&mut iovecs, &mut self.addresses);
        send_headers(socket, &mut headers)
    }
}

/// One message header per iovec, each with its datagram's address slot (the source on receive,
/// the destination on echo). The headers point into `iovecs` and `addresses`, which must outlive
/// the call they are passed to.
fn addressed_headers(
    iovecs: &mut [libc::iovec],
    addresses: &mut [libc::sockaddr_storage],
) -> Vec<libc::mmsghdr> {
    iovecs
        .iter_mut()
        .zip(addresses.iter_mut())
        .map(|(iovec, address)| {
            // SAFETY: msghdr is plain data; every field used is set below.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_iov = iovec;
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_name = (address as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            h
        })
        .collect()
}

/// Sends `count` copies of `payload` on a connected socket in one call; how many left.
pub fn send_copies(socket: &UdpSocket, payload: &[u8], count: usize) -> io::Result<usize> {
    let count = count.min(BATCH);
    let mut iovecs: Vec<libc::iovec> = (0..count)
        .map(|_| libc::iovec {
            iov_base: payload.as_ptr() as *mut _,
            iov_len: payload.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = (0..count)
        .map(|i| {
            // SAFETY: as in receive; no address: the socket is connected.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_iov = &mut iovecs[i];
            h.msg_hdr.msg_iovlen = 1;
            h
        })
        .collect();
    send_headers(socket, &mut headers)
}

fn send_headers(socket: &UdpSocket, headers: &mut [libc::mmsghdr]) -> io::Result<usize> {
    if headers.is_empty() {
        return Ok(0);
    }
    // SAFETY: headers point at live iovecs (and addresses) for the whole call.
    let n = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            headers.len() as u32,
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        let error = io::Error::last_os_error();
        // A full socket buffer or an ICMP error queued from an earlier datagram: nothing sent.
        return match error.raw_os_error() {
            Some(libc::EAGAIN | libc::ECONNREFUSED) => Ok(0),
            _ => Err(error),
        };
    }
    Ok(n as usize)
}

/// Waits up to `timeout_ms` until one of `sockets` is readable; the readable ones' indexes.
pub fn poll_readable(
    sockets: &[UdpSocket],
    timeout_ms: i32,
    ready: &mut Vec<usize>,
) -> io::Result<()> {
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: fds is a live array of fds.len() pollfd.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    ready.clear();
    ready.extend(
        fds.iter()
            .enumerate()
            .filter(|(_, f)| f.revents != 0)
            .map(|(i, _)| i),
    );
    Ok(())
}

/// The value after `--name` in the arguments, parsed, or `default`; exits naming the flag, the
/// value and what was expected when it does not parse.
pub fn arg<T: std::str::FromStr>(name: &str, default: Option<T>, expected: &str) -> T {
    let args: Vec<String> = std::env::args().collect();
    let flag = format!("--{name}");
    match args.iter().position(|a| *a == flag) {
        Some(i) => match args.get(i + 1).map(|v| (v, v.parse::<T>())) {
            Some((_, Ok(value))) => value,
            Some((value, Err(_))) => fail(&format!("--{name} {value:?}: expected {expected}")),
            None => fail(&format!("--{name} needs a value: {expected}")),
        },
        None => default.unwrap_or_else(|| fail(&format!("--{name} is required: {expected}"))),
    }
}

pub fn fail(message: &str) -> ! {
    eprintln!("{}: {message}", std::env::args().next().unwrap_or_default());
    std::process::exit(2)
}

pub fn parse_addr(name: &str, value: &str) -> SocketAddr {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("--{name} {value:?}: expected IP:port")))
}
