//! The key pair the AWS-compatible API accepts: `BURR_ACCESS_KEY_ID` and
//! `BURR_SECRET_ACCESS_KEY` when both are set; otherwise a pair generated on first start and kept
//! in `<data-dir>/credentials` (mode 0600), written in the AWS CLI's credentials-file format so
//! that `AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials aws --profile burr …` just works.

use burr_api::Credentials;
use rand::Rng;
use std::io::Write;
use std::path::{Path, PathBuf};

const FILE: &str = "credentials";
const PROFILE: &str = "burr";

/// Where the generated pair lives.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Where the credentials came from.
pub enum Source {
    Environment,
    /// Read from the file.
    Stored,
    /// Generated now (and written to the file): show them once.
    Created,
}

/// The pair from the environment, the file, or newly generated (written before use).
pub fn load_or_create(data_dir: &Path) -> Result<(Credentials, Source), String> {
    if let Some(c) = from_environment()? {
        return Ok((c, Source::Environment));
    }
    if let Some(c) = read(data_dir)? {
        return Ok((c, Source::Stored));
    }
    let c = generate();
    write_new(&path(data_dir), &c)?;
    Ok((c, Source::Created))
}

fn from_environment() -> Result<Option<Credentials>, String> {
    match (
        std::env::var("BURR_ACCESS_KEY_ID").ok(),
        std::env::var("BURR_SECRET_ACCESS_KEY").ok(),
    ) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(Some(Credentials {
            access_key_id: id,
            secret_access_key: secret,
        })),
        (None, None) => Ok(None),
        _ => Err(
            "burr: set both BURR_ACCESS_KEY_ID and BURR_SECRET_ACCESS_KEY (non-empty), or neither"
                .to_string(),
        ),
    }
}

/// The stored pair, if the file exists.
pub fn read(data_dir: &Path) -> Result<Option<Credentials>, String> {
    let file = path(data_dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("burr: cannot read {}: {e}", file.display())),
    };
    let value = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Some(Credentials {
            access_key_id: id,
            secret_access_key: secret,
        })),
        _ => Err(format!(
            "burr: {} lacks aws_access_key_id or aws_secret_access_key; fix or delete it",
            file.display()
        )),
    }
}

/// The file's text for a pair.
pub fn render(c: &Credentials) -> String {
    format!(
        "[{PROFILE}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        c.access_key_id, c.secret_access_key
    )
}

fn generate() -> Credentials {
    // ThreadRng is a CSPRNG seeded by the operating system.
    let mut rng = rand::rng();
    let mut pick = |alphabet: &[u8], n: usize| -> String {
        (0..n)
            .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
            .collect()
    };
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let any = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    Credentials {
        access_key_id: format!("BURR{}", pick(upper, 16)),
        secret_access_key: pick(any, 40),
    }
}

/// Creates the file with mode 0600 (never over an existing one) and syncs it.
fn write_new(file: &Path, c: &Credentials) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("burr: cannot write {}: {e}", file.display());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(file).map_err(fail)?;
    f.write_all(render(c).as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)
}
