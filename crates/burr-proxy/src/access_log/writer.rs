//! The writer thread: takes records off the queue, formats them, writes each burst with one
//! `write` call, rotates the file by size, reopens it when asked (SIGHUP), and counts what it
//! wrote and what it had to drop. It never panics on I/O: a failed write drops the batch and
//! counts it, a file that cannot be reopened is retried at the next batch.

use super::names::Names;
use super::{Counters, Format, Message, Record, alb, burr, classic};
use arc_swap::ArcSwap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// A burst is written once it holds this many bytes, so draining a full queue never holds more
/// than this in memory.
const BATCH_BYTES: usize = 256 * 1024;

/// While records keep coming, how long the writer lets them gather between writes. Lines reach
/// the file at most this much later; the queue holds 65,536 records, several million a second.
const GATHER: Duration = Duration::from_millis(10);

/// I/O errors are logged at most this often (the drops are counted every time).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// After a rotation failed (the file could not be renamed), how long the file is let grow past
/// its limit before the next try: retrying at every line would cost a flush, a rename and a
/// reopen per record, one write a line, as long as the cause lasts.
const ROTATION_BACKOFF: Duration = WARN_EVERY;

/// Where lines go.
pub enum Sink {
    /// A file, appended to; rotated by size and reopened on request.
    File { path: PathBuf, file: Option<File> },
    /// Standard output or, in tests, any stream: neither rotated nor reopened.
    Stream(Box<dyn Write + Send>),
}

impl Sink {
    pub fn file(path: &Path) -> io::Result<Sink> {
        Ok(Sink::File {
            path: path.to_path_buf(),
            file: Some(open(path)?),
        })
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Size rotation: `PATH` → `PATH.1` → … → `PATH.<keep>` once `PATH` would pass `max_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub max_bytes: u64,
    pub keep: u32,
}

/// Why a drain of the queue stopped.
enum Drained {
    Empty,
    BatchFull,
    Disconnected,
}

pub struct Writer {
    pub sink: Sink,
    pub format: Format,
    pub names: Arc<ArcSwap<Names>>,
    pub counters: Arc<Counters>,
    pub rotation: Option<Rotation>,
    pub reopen: Arc<AtomicBool>,
    /// Formatted lines not yet written, and how many records they hold.
    batch: Vec<u8>,
    batch_records: u64,
    /// Bytes in the current file (size rotation).
    file_bytes: u64,
    /// No rotation is tried before this (a rename failed).
    rotation_paused_until: Option<Instant>,
    last_warning: Option<Instant>,
}

impl Writer {
    pub fn new(
        sink: Sink,
        format: Format,
        names: Arc<ArcSwap<Names>>,
        counters: Arc<Counters>,
        rotation: Option<Rotation>,
        reopen: Arc<AtomicBool>,
    ) -> Self {
        let file_bytes = match &sink {
            Sink::File { file: Some(f), .. } => f.metadata().map_or(0, |m| m.len()),
            _ => 0,
        };
        Writer {
            sink,
            format,
            names,
            counters,
            rotation,
            reopen,
            batch: Vec::with_capacity(16 * 1024),
            batch_records: 0,
            file_bytes,
            rotation_paused_until: None,
            last_warning: None,
        }
    }

    /// Runs until every sender is gone.
    ///
    /// Idle, the thread blocks on the queue and the first record wakes it (its line is written
    /// at once). Busy, it sleeps [`GATHER`] between batches instead of blocking: a sender then
    /// finds no one waiting and queues without a wake-up system call, and the records of each
    /// interval leave in one write. An interval that brought nothing sends it back to blocking.
    pub fn run(mut self, receiver: Receiver<Message>) {
        while let Ok(message) = receiver.recv() {
            self.take(message);
            self.flush();
            loop {
                std::thread::sleep(GATHER);
                let mut taken = 0usize;
                loop {
                    let drained = self.drain(&receiver, &mut taken);
                    self.flush();
                    match drained {
                        Drained::Empty => break,
                        // More than a batch was queued: write on without sleeping.
                        Drained::BatchFull => continue,
                        Drained::Disconnected => return,
                    }
                }
                if taken == 0 {
                    break;
                }
            }
        }
        self.flush();
    }

    /// Takes queued messages until the queue is empty or the batch is full.
    fn drain(&mut self, receiver: &Receiver<Message>, taken: &mut usize) -> Drained {
        while self.batch.len() < BATCH_BYTES {
            match receiver.try_recv() {
                Ok(message) => {
                    self.take(message);
                    *taken += 1;
                }
                Err(TryRecvError::Empty) => return Drained::Empty,
                Err(TryRecvError::Disconnected) => return Drained::Disconnected,
            }
        }
        Drained::BatchFull
    }

    fn take(&mut self, message: Message) {
        if self.reopen.swap(false, Ordering::Relaxed) {
            // Lines formatted before the request go to the file that was there.
            self.flush();
            self.reopen_file();
        }
        match message {
            Message::Record(record) => self.format_record(&record),
            Message::Reopen => {}
            Message::Flush(done) => {
                self.flush();
                let _ = done.send(());
            }
        }
    }

    fn format_record(&mut self, record: &Record) {
        let start = self.batch.len();
        let names = self.names.load();
        match self.format {
            super::Format::Burr => burr::line(record, &mut self.batch),
            super::Format::Classic => classic::line(record, &names, &mut self.batch),
            super::Format::Alb => alb::line(record, &names, &mut self.batch),
        }
        self.batch_records += 1;
        let Some(rotation) = self.rotation else {
            return;
        };
        let before = self.file_bytes + start as u64;
        if before > 0
            && before + (self.batch.len() - start) as u64 > rotation.max_bytes
            && self
                .rotation_paused_until
                .is_none_or(|until| Instant::now() >= until)
        {
            // This line would take the file past its size: write what came before it to the
            // old file, and start the new one with it.
            let line = self.batch.split_off(start);
            self.batch_records -= 1;
            self.flush();
            self.rotate(rotation);
            self.batch = line;
            self.batch_records = 1;
        }
    }

    /// Writes the batch in one call; on failure its records count as dropped.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let result = match &mut self.sink {
            Sink::File { path, file } => {
                if file.is_none() {
                    *file = open(path).ok();
                    // Opened for appending: whatever the file already holds counts.
                    self.file_bytes = file
                        .as_ref()
                        .and_then(|f| f.metadata().ok())
                        .map_or(0, |m| m.len());
                }
                match file {
                    Some(f) => f.write_all(&self.batch),
                    None => Err(io::Error::other("the file could not be reopened")),
                }
            }
            Sink::Stream(out) => out.write_all(&self.batch).and_then(|()| out.flush()),
        };
        match result {
            Ok(()) => {
                self.counters.add_written(self.batch_records);
                self.file_bytes += self.batch.len() as u64;
            }
            Err(error) => {
                self.counters.add_dropped(self.batch_records);
                self.warn(format_args!("cannot write the access log: {error}"));
            }
        }
        self.batch.clear();
        self.batch_records = 0;
    }

    /// Reopens the file at its path (after logrotate moved it away).
    fn reopen_file(&mut self) {
        let Sink::File { path, file } = &mut self.sink else {
            return;
        };
        match open(path) {
            Ok(f) => {
                self.file_bytes = f.metadata().map_or(0, |m| m.len());
                *file = Some(f);
            }
            Err(error) => {
                *file = None;
                let path = path.display().to_string();
                self.warn(format_args!("cannot reopen access log {path}: {error}"));
            }
        }
    }

    fn rotate(&mut self, rotation: Rotation) {
        let Sink::File { path, file } = &mut self.sink else {
            return;
        };
        *file = None;
        let numbered = |n: u32| {
            let mut p = path.clone().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        };
        // The oldest is overwritten by the rename onto it.
        for n in (1..rotation.keep).rev() {
            let _ = std::fs::rename(numbered(n), numbered(n + 1));
        }
        if let Err(error) = std::fs::rename(&*path, numbered(1)) {
            self.rotation_paused_until = Some(Instant::now() + ROTATION_BACKOFF);
            let path = path.display().to_string();
            self.warn(format_args!(
                "cannot rotate access log {path} (retried in {} s): {error}",
                ROTATION_BACKOFF.as_secs()
            ));
        } else {
            self.rotation_paused_until = None;
            self.counters.add_rotation();
        }
        self.reopen_file();
    }

    fn warn(&mut self, message: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
        {
            self.last_warning = Some(now);
            tracing::warn!("{message}");
        }
    }
}
