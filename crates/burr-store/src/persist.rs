//! Reading and writing the state's rows: opening the database with the durability settings,
//! loading every object, and writing the difference between two states in one transaction.

use crate::secrets::{SEALING_KEY, SealingKey};
use crate::{Snapshot, StoreError};
use burr_model::certificates::{Certificate, LocalAuthority, PrivateKeyPem};
use burr_model::cloudfront::{DeploymentPolicy, Distribution};
use burr_model::{Alias, Balancer, DrainingTarget, Origin, Pool, State, TargetAddress};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;

/// Opens the database: WAL, `synchronous=FULL` (a committed change survives power loss, not
/// only a crash), foreign keys on, and a busy timeout so another process holding the file is
/// waited for rather than failed.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |cause| StoreError::Open {
        path: path.to_path_buf(),
        cause,
    };
    let existed = path.exists();
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(open_err)?;
    #[cfg(unix)]
    if !existed {
        // SQLite gives the -wal and -shm files the database file's mode.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            StoreError::Open {
                path: path.to_path_buf(),
                cause: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            }
        })?;
    }
    Ok(connection)
}

/// Opens the database for reading only: never creates it, never writes it. A busy timeout
/// covers the moments a writer in another process holds the WAL index.
pub fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |cause| StoreError::Open {
        path: path.to_path_buf(),
        cause,
    };
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    Ok(connection)
}

fn origin_from(text: &str) -> Option<Origin> {
    match text {
        "file" => Some(Origin::File),
        "api" => Some(Origin::Api),
        _ => None,
    }
}

/// Loads every row of `table` as (name, origin, object).
fn load_table<T: DeserializeOwned>(
    connection: &Connection,
    path: &Path,
    table: &'static str,
) -> Result<Vec<(String, Origin, T)>, StoreError> {
    let sql_err = |cause| StoreError::Sql {
        path: path.to_path_buf(),
        cause,
    };
    let mut statement = connection
        .prepare(&format!(
            "SELECT name, origin, spec FROM {table} ORDER BY name"
        ))
        .map_err(sql_err)?;
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, origin, spec) = row.map_err(sql_err)?;
        let corrupt = |cause: String| StoreError::CorruptRow {
            path: path.to_path_buf(),
            table,
            name: name.clone(),
            cause,
        };
        let origin =
            origin_from(&origin).ok_or_else(|| corrupt(format!("unknown origin {origin:?}")))?;
        let object: T = serde_json::from_str(&spec).map_err(|e| corrupt(e.to_string()))?;
        out.push((name, origin, object));
    }
    Ok(out)
}

/// Reads the whole state and its generation.
pub fn load(connection: &Connection, path: &Path) -> Result<Snapshot, StoreError> {
    let mut state = State::default();
    for (name, origin, mut balancer) in load_table::<Balancer>(connection, path, "balancers")? {
        balancer.origin = origin;
        state.balancers.insert(name, balancer);
    }
    for (name, origin, mut pool) in load_table::<Pool>(connection, path, "pools")? {
        pool.origin = origin;
        state.pools.insert(name, pool);
    }
    load_drains(connection, path, &mut state)?;
    for (name, origin, mut alias) in load_table::<Alias>(connection, path, "aliases")? {
        alias.origin = origin;
        state.aliases.insert(name, alias);
    }
    for (id, origin, mut dist) in load_table::<Distribution>(connection, path, "distributions")? {
        dist.origin = origin;
        state.distributions.insert(id, dist);
    }
    let policies = load_table::<DeploymentPolicy>(connection, path, "deployment_policies")?;
    for (id, origin, mut policy) in policies {
        policy.origin = origin;
        state.deployment_policies.insert(id, policy);
    }
    let sealing = sealing_key(connection, path)?;
    load_certificates(connection, path, sealing.as_ref(), &mut state)?;
    let generation: i64 = connection
        .query_row("SELECT value FROM generation WHERE id = 1", [], |r| {
            r.get(0)
        })
        .map_err(|cause| StoreError::Sql {
            path: path.to_path_buf(),
            cause,
        })?;
    Ok(Snapshot {
        generation: generation.max(0) as u64,
        state,
    })
}

/// Meta keys of the local certificate authority: its root (PEM) and its sealed key.
const AUTHORITY_CERTIFICATE: &str = "local_ca_certificate";
const AUTHORITY_KEY: &str = "local_ca_private_key";

/// The stored sealing key, if one was made.
pub fn sealing_key(connection: &Connection, path: &Path) -> Result<Option<SealingKey>, StoreError> {
    match get_meta(connection, path, SEALING_KEY)? {
        None => Ok(None),
        Some(bytes) => {
            SealingKey::from_bytes(&bytes)
                .map(Some)
                .ok_or_else(|| StoreError::CorruptRow {
                    path: path.to_path_buf(),
                    table: "meta",
                    name: SEALING_KEY.to_string(),
                    cause: format!("the sealing key is {} bytes, not 32", bytes.len()),
                })
        }
    }
}

/// Opens a sealed private key of row `name`.
fn unseal(
    sealing: Option<&SealingKey>,
    path: &Path,
    table: &'static str,
    name: &str,
    sealed: &[u8],
) -> Result<PrivateKeyPem, StoreError> {
    let corrupt = |cause: &str| StoreError::CorruptRow {
        path: path.to_path_buf(),
        table,
        name: name.to_string(),
        cause: cause.to_string(),
    };
    let key =
        sealing.ok_or_else(|| corrupt("a private key is stored but the sealing key is missing"))?;
    let plain = key
        .open(name, sealed)
        .ok_or_else(|| corrupt("the private key does not decrypt with the stored sealing key"))?;
    String::from_utf8(plain)
        .map(PrivateKeyPem)
        .map_err(|_| corrupt("the decrypted private key is not text"))
}

/// Loads every certificate (keys decrypted) and the local certificate authority.
fn load_certificates(
    connection: &Connection,
    path: &Path,
    sealing: Option<&SealingKey>,
    state: &mut State,
) -> Result<(), StoreError> {
    let sql_err = |cause| StoreError::Sql {
        path: path.to_path_buf(),
        cause,
    };
    let mut statement = connection
        .prepare("SELECT arn, spec, private_key FROM certificates ORDER BY arn")
        .map_err(sql_err)?;
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(sql_err)?;
    for row in rows {
        let (arn, spec, sealed) = row.map_err(sql_err)?;
        let mut certificate: Certificate =
            serde_json::from_str(&spec).map_err(|e| StoreError::CorruptRow {
                path: path.to_path_buf(),
                table: "certificates",
                name: arn.clone(),
                cause: e.to_string(),
            })?;
        certificate.private_key = unseal(sealing, path, "certificates", &arn, &sealed)?;
        state.certificates.insert(arn, certificate);
    }
    if let Some(root) = get_meta(connection, path, AUTHORITY_CERTIFICATE)? {
        let sealed = get_meta(connection, path, AUTHORITY_KEY)?.unwrap_or_default();
        state.certificate_authority = Some(LocalAuthority {
            certificate_pem: String::from_utf8_lossy(&root).into_owned(),
            private_key: unseal(sealing, path, "meta", AUTHORITY_KEY, &sealed)?,
        });
    }
    Ok(())
}

/// Writes the certificates and the authority that differ between `old` and `new`, sealing
/// their keys; makes and stores the sealing key with the first secret.
fn write_certificates(
    tx: &rusqlite::Transaction<'_>,
    old: &State,
    new: &State,
    sealing: &mut Option<SealingKey>,
) -> Result<(), rusqlite::Error> {
    let mut key = || -> Result<SealingKey, rusqlite::Error> {
        if let Some(k) = sealing {
            return Ok(k.clone());
        }
        let made = SealingKey::generate();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![SEALING_KEY, &made.as_bytes()[..]],
        )?;
        *sealing = Some(made.clone());
        Ok(made)
    };
    for arn in old
        .certificates
        .keys()
        .filter(|a| !new.certificates.contains_key(*a))
    {
        tx.execute("DELETE FROM certificates WHERE arn = ?1", [arn])?;
    }
    for (arn, certificate) in &new.certificates {
        if old.certificates.get(arn) == Some(certificate) {
            continue;
        }
        let spec = serde_json::to_string(certificate)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        let sealed = key()?.seal(arn, certificate.private_key.0.as_bytes());
        tx.execute(
            "INSERT INTO certificates (arn, spec, private_key) VALUES (?1, ?2, ?3) ON CONFLICT (arn) DO UPDATE SET spec = excluded.spec, private_key = excluded.private_key",
            params![arn, spec, sealed],
        )?;
    }
    if old.certificate_authority != new.certificate_authority {
        match &new.certificate_authority {
            None => {
                tx.execute(
                    "DELETE FROM meta WHERE key IN (?1, ?2)",
                    [AUTHORITY_CERTIFICATE, AUTHORITY_KEY],
                )?;
            }
            Some(authority) => {
                let sealed = key()?.seal(AUTHORITY_KEY, authority.private_key.0.as_bytes());
                for (name, value) in [
                    (
                        AUTHORITY_CERTIFICATE,
                        authority.certificate_pem.as_bytes().to_vec(),
                    ),
                    (AUTHORITY_KEY, sealed),
                ] {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        params![name, value],
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Loads the drains of every pool (a drain whose pool is gone is not loaded; the next change
/// deletes it).
fn load_drains(connection: &Connection, path: &Path, state: &mut State) -> Result<(), StoreError> {
    let sql_err = |cause| StoreError::Sql {
        path: path.to_path_buf(),
        cause,
    };
    let mut statement = connection
        .prepare("SELECT pool, address, deadline FROM draining_targets ORDER BY pool, address")
        .map_err(sql_err)?;
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(sql_err)?;
    for row in rows {
        let (pool, address, deadline) = row.map_err(sql_err)?;
        let corrupt = |cause: String| StoreError::CorruptRow {
            path: path.to_path_buf(),
            table: "draining_targets",
            name: format!("{pool} {address}"),
            cause,
        };
        let address = TargetAddress::parse(&address, None).map_err(|e| corrupt(e.to_string()))?;
        let deadline_secs = u64::try_from(deadline)
            .map_err(|_| corrupt(format!("deadline {deadline} is negative")))?;
        if let Some(pool) = state.pools.get_mut(&pool) {
            pool.draining_targets.push(DrainingTarget {
                address,
                deadline_secs,
            });
        }
    }
    Ok(())
}

/// Rewrites the drains of every pool whose drains differ between `old` and `new`.
fn write_drains(
    tx: &rusqlite::Transaction<'_>,
    old: &State,
    new: &State,
) -> Result<(), rusqlite::Error> {
    let drains = |state: &State, name: &str| -> Vec<DrainingTarget> {
        state
            .pools
            .get(name)
            .map(|p| p.draining_targets.clone())
            .unwrap_or_default()
    };
    let names: std::collections::BTreeSet<&String> =
        old.pools.keys().chain(new.pools.keys()).collect();
    for name in names {
        let wanted = drains(new, name);
        if drains(old, name) == wanted {
            continue;
        }
        tx.execute("DELETE FROM draining_targets WHERE pool = ?1", [name])?;
        for drain in wanted {
            tx.execute(
                "INSERT INTO draining_targets (pool, address, deadline) VALUES (?1, ?2, ?3)",
                params![
                    name,
                    drain.address.to_string(),
                    i64::try_from(drain.deadline_secs).unwrap_or(i64::MAX)
                ],
            )?;
        }
    }
    Ok(())
}

/// Something stored by name with an origin.
trait Row: Serialize + PartialEq {
    fn origin(&self) -> Origin;
}

impl Row for Balancer {
    fn origin(&self) -> Origin {
        self.origin
    }
}

impl Row for Pool {
    fn origin(&self) -> Origin {
        self.origin
    }
}

impl Row for Alias {
    fn origin(&self) -> Origin {
        self.origin
    }
}

impl Row for Distribution {
    fn origin(&self) -> Origin {
        self.origin
    }
}

impl Row for DeploymentPolicy {
    fn origin(&self) -> Origin {
        self.origin
    }
}

/// Writes the rows of one table that differ between `old` and `new`.
fn write_table<T: Row>(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
) -> Result<(), rusqlite::Error> {
    for name in old.keys().filter(|name| !new.contains_key(*name)) {
        tx.execute(&format!("DELETE FROM {table} WHERE name = ?1"), [name])?;
    }
    for (name, object) in new {
        if old.get(name) == Some(object) {
            continue;
        }
        let spec = serde_json::to_string(object)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        tx.execute(
            &format!("INSERT INTO {table} (name, origin, spec) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET origin = excluded.origin, spec = excluded.spec"),
            params![name, object.origin().as_str(), spec],
        )?;
    }
    Ok(())
}

/// Writes everything that differs between `old` and `new`, and the new generation, in one
/// transaction; returns once it is durable.
pub fn write_changes(
    connection: &mut Connection,
    path: &Path,
    old: &State,
    new: &State,
    generation: u64,
    sealing: &mut Option<SealingKey>,
) -> Result<(), StoreError> {
    let sql_err = |cause| StoreError::Sql {
        path: path.to_path_buf(),
        cause,
    };
    let tx = connection.transaction().map_err(sql_err)?;
    write_table(&tx, "balancers", &old.balancers, &new.balancers).map_err(sql_err)?;
    write_table(&tx, "pools", &old.pools, &new.pools).map_err(sql_err)?;
    write_table(&tx, "aliases", &old.aliases, &new.aliases).map_err(sql_err)?;
    write_table(&tx, "distributions", &old.distributions, &new.distributions).map_err(sql_err)?;
    write_table(
        &tx,
        "deployment_policies",
        &old.deployment_policies,
        &new.deployment_policies,
    )
    .map_err(sql_err)?;
    write_drains(&tx, old, new).map_err(sql_err)?;
    // A sealing key made here is kept only if the transaction that stores it commits.
    let mut key = sealing.clone();
    write_certificates(&tx, old, new, &mut key).map_err(sql_err)?;
    tx.execute(
        "UPDATE generation SET value = ?1 WHERE id = 1",
        [generation as i64],
    )
    .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    *sealing = key;
    Ok(())
}

pub fn get_meta(
    connection: &Connection,
    path: &Path,
    key: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    connection
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .map_err(|cause| StoreError::Sql {
            path: path.to_path_buf(),
            cause,
        })
}

pub fn put_meta(
    connection: &Connection,
    path: &Path,
    key: &str,
    value: &[u8],
) -> Result<(), StoreError> {
    connection
        .execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map(|_| ())
        .map_err(|cause| StoreError::Sql {
            path: path.to_path_buf(),
            cause,
        })
}
