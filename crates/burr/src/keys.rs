//! The stickiness key ring in the durable store: created on first start, shared by every node
//! that uses the same store, rotated by `burr keys rotate`, and picked up by running nodes.
//!
//! The ring is one value of the store's key/value area (the database file is mode 0600 in a
//! 0700 directory: it holds the secrets). Running nodes re-read it every few seconds, so a
//! rotation from any node or from the command line reaches all of them without a restart.

use arc_swap::ArcSwap;
use burr_affinity::token::{DEFAULT_GRACE_SECS, KeyRing};
use burr_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Key of the ring in the store's key/value area.
const KEY_RING: &str = "stickiness_key_ring";

/// How often a running node looks for a rotated ring.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The stored ring, or a new one (written before it is used) when the store has none.
pub fn load_or_create(store: &Store) -> Result<KeyRing, String> {
    if let Some(ring) = load(store)? {
        return Ok(ring);
    }
    // ThreadRng is a CSPRNG seeded from the operating system.
    let ring = KeyRing::generate(unix_now(), rand::random(), DEFAULT_GRACE_SECS);
    store
        .put_meta(KEY_RING, &ring.to_bytes())
        .map_err(|e| format!("burr: cannot store the stickiness key ring: {e}"))?;
    tracing::info!("created the stickiness key ring");
    Ok(ring)
}

fn load(store: &Store) -> Result<Option<KeyRing>, String> {
    match store.get_meta(KEY_RING) {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => KeyRing::from_bytes(&bytes).map(Some).ok_or_else(|| {
            format!(
                "burr: the stickiness key ring in {} is damaged; restore the store from a backup",
                store.path().display()
            )
        }),
        Err(e) => Err(format!("burr: cannot read the stickiness key ring: {e}")),
    }
}

/// Rotates the stored ring: a new active key; the previous one opens tokens for the grace
/// window. Returns the new ring.
pub fn rotate(store: &Store) -> Result<KeyRing, String> {
    let mut ring = load_or_create(store)?;
    ring.rotate(unix_now(), rand::random());
    store
        .put_meta(KEY_RING, &ring.to_bytes())
        .map_err(|e| format!("burr: cannot store the rotated key ring: {e}"))?;
    Ok(ring)
}

/// Keeps `current` equal to the stored ring, checking every [`WATCH_INTERVAL`].
pub async fn watch(store: Arc<Store>, current: Arc<ArcSwap<KeyRing>>) {
    let mut last = current.load().to_bytes();
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        let store = store.clone();
        let Ok(Ok(Some(bytes))) =
            tokio::task::spawn_blocking(move || store.get_meta(KEY_RING)).await
        else {
            continue;
        };
        if bytes == last {
            continue;
        }
        match KeyRing::from_bytes(&bytes) {
            Some(ring) => {
                tracing::info!(
                    active_key = ring.active_key_id(),
                    "stickiness key ring rotated"
                );
                current.store(Arc::new(ring));
                last = bytes;
            }
            None => tracing::warn!("ignoring a damaged stickiness key ring in the store"),
        }
    }
}
