//! The schema history. Each migration runs once, in its own transaction, and is recorded in
//! `schema_migrations`; a database written by a newer burr (a version not listed here) is
//! refused rather than misread.

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// (version, SQL), in order. Never edit a released migration: add a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE balancers (
         name   TEXT PRIMARY KEY,
         origin TEXT NOT NULL CHECK (origin IN ('file', 'api')),
         spec   TEXT NOT NULL            -- JSON of burr_model::Balancer
     );
     CREATE TABLE pools (
         name   TEXT PRIMARY KEY,
         origin TEXT NOT NULL CHECK (origin IN ('file', 'api')),
         spec   TEXT NOT NULL            -- JSON of burr_model::Pool
     );
     CREATE TABLE generation (
         id    INTEGER PRIMARY KEY CHECK (id = 1),
         value INTEGER NOT NULL
     );
     INSERT INTO generation (id, value) VALUES (1, 0);
     CREATE TABLE meta (
         key   TEXT PRIMARY KEY,
         value BLOB NOT NULL
     );",
    ),
    (
        2,
        "CREATE TABLE aliases (
         name   TEXT PRIMARY KEY,
         origin TEXT NOT NULL CHECK (origin IN ('file', 'api')),
         spec   TEXT NOT NULL            -- JSON of burr_model::Alias
     );",
    ),
    (
        3,
        "CREATE TABLE draining_targets (
         pool     TEXT NOT NULL,         -- name of the pool the target left
         address  TEXT NOT NULL,         -- burr_model::TargetAddress as text
         deadline INTEGER NOT NULL,      -- UTC seconds: end of the drain
         PRIMARY KEY (pool, address)
     );",
    ),
    (
        4,
        "CREATE TABLE certificates (
         arn         TEXT PRIMARY KEY,
         spec        TEXT NOT NULL,      -- JSON of burr_model::certificates::Certificate, no key
         private_key BLOB NOT NULL       -- sealed (secrets.rs): nonce, ciphertext, tag
     );",
    ),
    (
        5,
        "CREATE TABLE distributions (
         name   TEXT PRIMARY KEY,        -- the distribution id
         origin TEXT NOT NULL CHECK (origin IN ('file', 'api')),
         spec   TEXT NOT NULL            -- JSON of burr_model::cloudfront::Distribution
     );
     CREATE TABLE deployment_policies (
         name   TEXT PRIMARY KEY,        -- the policy id
         origin TEXT NOT NULL CHECK (origin IN ('file', 'api')),
         spec   TEXT NOT NULL            -- JSON of burr_model::cloudfront::DeploymentPolicy
     );",
    ),
];

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Applies every migration the database lacks.
pub fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sql_err = |cause| StoreError::Sql {
        path: path.to_path_buf(),
        cause,
    };
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at TEXT NOT NULL
             );",
        )
        .map_err(sql_err)?;
    let current: i64 = connection
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    if current > latest() {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known: latest(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let failed = |cause| StoreError::Migration {
            path: path.to_path_buf(),
            version: *version,
            cause,
        };
        let tx = connection.transaction().map_err(failed)?;
        tx.execute_batch(sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, datetime('now'))",
            [version],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(version, path = %path.display(), "schema migrated");
    }
    Ok(())
}

/// Refuses a database whose schema is not exactly this build's (for readers that must not
/// migrate): older, newer, or not a burr database at all.
pub fn require_latest(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let sql_err = |cause| StoreError::Sql {
        path: path.to_path_buf(),
        cause,
    };
    let has_table: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    if !has_table {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
        });
    }
    let found: i64 = connection
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    let known = latest();
    let path = path.to_path_buf();
    match found.cmp(&known) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(StoreError::TooNew { path, found, known }),
        std::cmp::Ordering::Less => Err(StoreError::TooOld { path, found, known }),
    }
}
