//! burr's durable state: every accepted configuration change is one SQLite transaction, written
//! (WAL, `synchronous=FULL`) before it is acknowledged, then published as an immutable
//! [`Snapshot`] with one atomic swap.
//!
//! The store owns persistence and publication, not rules: [`Store::apply`] runs the caller's
//! change on a copy of the state, checks the result with the model's own validation, and only
//! then writes. A change that fails anywhere leaves the database and the published snapshot
//! untouched. Readers ([`Store::snapshot`], [`Store::subscribe`]) never wait for a writer.

#![forbid(unsafe_code)]

mod migrations;
mod persist;
mod secrets;

use arc_swap::ArcSwap;
use burr_model::{State, ValidationError};
use rusqlite::Connection;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// One published version of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Increases by one with every change that was written.
    pub generation: u64,
    pub state: State,
}

/// A storage failure, naming the file and the cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {cause}")]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot open {path}: {cause}")]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "{path}: schema version {found} is newer than this burr knows ({known}); use a newer burr"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path}: migration to schema version {version} failed: {cause}")]
    Migration {
        path: PathBuf,
        version: i64,
        cause: rusqlite::Error,
    },
    #[error("{path}: row {name:?} of table {table} is unreadable: {cause}")]
    CorruptRow {
        path: PathBuf,
        table: &'static str,
        name: String,
        cause: String,
    },
    #[error("{path}: {cause}")]
    Sql {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error("{path} does not exist; `burr serve --data-dir {dir}` creates it")]
    Missing { path: PathBuf, dir: PathBuf },
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a burr database (it has no schema_migrations table)")]
    NotAStore { path: PathBuf },
    #[error(
        "{path}: schema version {found} is older than this burr's ({known}); start this burr's \
         `burr serve` on it once to migrate it, or use the burr that wrote it"
    )]
    TooOld {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// Why [`Store::apply`] changed nothing.
#[derive(Debug)]
pub enum ApplyError<E> {
    /// The caller's change refused itself.
    Rejected(E),
    /// The resulting state breaks model rules.
    Invalid(Vec<ValidationError>),
    /// Writing failed; nothing was published.
    Storage(StoreError),
}

impl<E: fmt::Display> fmt::Display for ApplyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(e) => e.fmt(f),
            Self::Invalid(errors) => {
                let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&text.join("; "))
            }
            Self::Storage(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ApplyError<E> {}

pub struct Store {
    path: PathBuf,
    listen_host: Option<IpAddr>,
    /// Writers take turns here; readers never touch it. With it, the key that seals
    /// certificate private keys (none until the first one is written).
    connection: Mutex<(Connection, Option<secrets::SealingKey>)>,
    current: ArcSwap<Snapshot>,
    published: watch::Sender<Arc<Snapshot>>,
}

impl Store {
    /// Opens `<dir>/burr.db` (creating the directory with mode 0700 and the file with 0600 when
    /// new), brings its schema up to date and loads the state. `listen_host` is passed to the
    /// model's validation of every change (it decides which listeners clash).
    pub fn open(dir: &Path, listen_host: Option<IpAddr>) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let path = dir.join("burr.db");
        let mut connection = persist::open(&path)?;
        migrations::migrate(&mut connection, &path)?;
        let snapshot = persist::load(&connection, &path)?;
        let sealing = persist::sealing_key(&connection, &path)?;
        let snapshot = Arc::new(snapshot);
        let (published, _) = watch::channel(snapshot.clone());
        Ok(Store {
            path,
            listen_host,
            connection: Mutex::new((connection, sealing)),
            current: ArcSwap::new(snapshot),
            published,
        })
    }

    /// Reads the configuration last published in `<dir>/burr.db` without changing anything:
    /// the file is opened read-only (never created), no migration runs, and a schema version
    /// other than this build's is refused rather than misread. Safe while `burr serve` runs on
    /// the same directory: the state is read in one transaction, so it is exactly one
    /// generation. SQLite may create the `-wal` and `-shm` files beside the database when a
    /// stopped burr removed them (a reader of a WAL database needs them); they hold no
    /// change, and the database itself is untouched.
    pub fn read_snapshot(dir: &Path) -> Result<Snapshot, StoreError> {
        let path = dir.join("burr.db");
        if let Err(cause) = std::fs::metadata(&path) {
            return Err(match cause.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
                    StoreError::Missing {
                        path,
                        dir: dir.to_path_buf(),
                    }
                }
                _ => StoreError::Read { path, cause },
            });
        }
        let mut connection = persist::open_read_only(&path)?;
        let transaction = connection.transaction().map_err(|cause| StoreError::Sql {
            path: path.clone(),
            cause,
        })?;
        migrations::require_latest(&transaction, &path)?;
        persist::load(&transaction, &path)
    }

    /// The configuration currently published.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Receives every snapshot published from now on.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.published.subscribe()
    }

    /// Applies `change` to a copy of the current state; if it succeeds and the result is valid,
    /// writes the difference in one transaction and publishes it. A change that alters nothing
    /// writes nothing and returns the current snapshot.
    pub fn apply<E>(
        &self,
        change: impl FnOnce(&mut State) -> Result<(), E>,
    ) -> Result<Arc<Snapshot>, ApplyError<E>> {
        let mut guard = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let (connection, sealing) = &mut *guard;
        let current = self.current.load_full();
        let mut next = current.state.clone();
        change(&mut next).map_err(ApplyError::Rejected)?;
        next.validate(self.listen_host)
            .map_err(ApplyError::Invalid)?;
        if next == current.state {
            return Ok(current);
        }
        let generation = current.generation + 1;
        persist::write_changes(
            connection,
            &self.path,
            &current.state,
            &next,
            generation,
            sealing,
        )
        .map_err(ApplyError::Storage)?;
        let snapshot = Arc::new(Snapshot {
            generation,
            state: next,
        });
        self.current.store(snapshot.clone());
        self.published.send_replace(snapshot.clone());
        Ok(snapshot)
    }

    /// Reads a value of the store's small key/value area (key ring, credentials, …).
    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let guard = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        persist::get_meta(&guard.0, &self.path, key)
    }

    /// Writes a value of the key/value area, durably, in its own transaction.
    pub fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let guard = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        persist::put_meta(&guard.0, &self.path, key, value)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates the data directory readable only by its owner (it will hold secrets); an existing
/// directory is left as it is.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let err = |cause| StoreError::CreateDir {
        path: dir.to_path_buf(),
        cause,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod cloudfront_tests;
#[cfg(test)]
mod tests;
