//! Store tests on real SQLite files: round trips, refusal leaving everything untouched,
//! migrations, concurrency, and crash safety under `kill -9`.

use super::*;
use burr_model::{Balancer, Listener, Origin, Pool, Protocol, Target, TargetAddress};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn pool(name: &str, ports: std::ops::Range<u16>, weight: u32) -> Pool {
    let mut p = Pool::new(name);
    p.targets = ports
        .map(|port| Target {
            address: TargetAddress::parse(&format!("127.0.0.1:{port}"), None).unwrap(),
            weight,
        })
        .collect();
    p
}

fn balancer(name: &str, port: u16, pool: &str) -> Balancer {
    let mut b = Balancer::new(name);
    b.listeners.push(Listener::new(port, Protocol::Http, pool));
    b
}

fn add(state: &mut State, b: Balancer, p: Pool) {
    state.pools.insert(p.name.clone(), p);
    state.balancers.insert(b.name.clone(), b);
}

#[test]
fn changes_survive_reopening_with_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.snapshot().generation, 0);
    let snap = store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9003, 2));
            s.balancers.get_mut("web").unwrap().origin = Origin::Api;
            Ok::<_, ()>(())
        })
        .unwrap();
    assert_eq!(snap.generation, 1);
    drop(store);
    let reopened = Store::open(dir.path(), None).unwrap();
    assert_eq!(*reopened.snapshot(), *snap);
    assert_eq!(
        reopened.snapshot().state.balancers["web"].origin,
        Origin::Api
    );
    assert_eq!(reopened.snapshot().state.pools["p"].origin, Origin::File);
}

#[test]
fn draining_targets_survive_reopening_and_leave_with_their_pool() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9004, 1));
            Ok::<_, ()>(())
        })
        .unwrap();
    let drained = store
        .apply(|s| {
            let before = s.clone();
            s.pools.get_mut("p").unwrap().targets.remove(0);
            s.settle_drains(&before, 1_000);
            Ok::<_, ()>(())
        })
        .unwrap();
    let drains = &drained.state.pools["p"].draining_targets;
    assert_eq!(drains.len(), 1);
    assert_eq!(drains[0].address.to_string(), "127.0.0.1:9001");
    assert_eq!(drains[0].deadline_secs, 1_300);
    drop(store);
    let reopened = Store::open(dir.path(), None).unwrap();
    assert_eq!(*reopened.snapshot(), *drained);
    reopened
        .apply(|s| {
            s.pools.clear();
            s.balancers.clear();
            Ok::<_, ()>(())
        })
        .unwrap();
    drop(reopened);
    let c = Connection::open(dir.path().join("burr.db")).unwrap();
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM draining_targets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "a pool's drains leave with it");
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data, None).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(store.path()), 0o600);
}

#[test]
fn refused_and_invalid_changes_leave_everything_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9002, 1));
            Ok::<_, ()>(())
        })
        .unwrap();
    let before = store.snapshot();
    let mut updates = store.subscribe();
    updates.mark_unchanged();

    let refused = store.apply(|s| {
        s.pools.clear();
        Err("no")
    });
    assert!(matches!(refused, Err(ApplyError::Rejected("no"))));

    let invalid = store.apply(|s| {
        s.pools.get_mut("p").unwrap().targets[0].weight = 5000;
        s.balancers
            .insert("other".into(), balancer("other", 8081, "missing"));
        Ok::<_, ()>(())
    });
    match invalid {
        Err(ApplyError::Invalid(errors)) => assert_eq!(errors.len(), 2, "{errors:?}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(store.snapshot(), before);
    assert!(!updates.has_changed().unwrap());
    drop(store);
    assert_eq!(*Store::open(dir.path(), None).unwrap().snapshot(), *before);
}

#[test]
fn a_change_that_changes_nothing_is_not_a_generation() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    let first = store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9002, 1));
            Ok::<_, ()>(())
        })
        .unwrap();
    let again = store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9002, 1));
            Ok::<_, ()>(())
        })
        .unwrap();
    assert_eq!(again.generation, first.generation);
}

#[test]
fn subscribers_see_each_published_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    let mut updates = store.subscribe();
    store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9002, 1));
            Ok::<_, ()>(())
        })
        .unwrap();
    assert!(updates.has_changed().unwrap());
    assert_eq!(updates.borrow_and_update().generation, 1);
}

#[test]
fn migrations_run_once_and_newer_databases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), None).unwrap());
    let path = dir.path().join("burr.db");
    let count = |c: &Connection| -> i64 {
        c.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        count(&Connection::open(&path).unwrap()),
        migrations::latest()
    );
    drop(Store::open(dir.path(), None).unwrap());
    let c = Connection::open(&path).unwrap();
    assert_eq!(count(&c), migrations::latest());
    c.execute("INSERT INTO schema_migrations VALUES (999, 'future')", [])
        .unwrap();
    drop(c);
    let err = Store::open(dir.path(), None)
        .err()
        .expect("a newer schema must be refused");
    assert!(
        err.to_string().contains("schema version 999 is newer"),
        "{err}"
    );
}

#[test]
fn a_corrupt_row_is_named_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), None).unwrap());
    let c = Connection::open(dir.path().join("burr.db")).unwrap();
    c.execute(
        "INSERT INTO pools VALUES ('broken', 'file', '{not json')",
        [],
    )
    .unwrap();
    drop(c);
    let err = Store::open(dir.path(), None)
        .err()
        .expect("corrupt row must be refused");
    assert!(
        err.to_string().contains("row \"broken\" of table pools"),
        "{err}"
    );
}

#[test]
fn meta_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.get_meta("k").unwrap(), None);
    store.put_meta("k", b"v1").unwrap();
    store.put_meta("k", b"v2").unwrap();
    drop(store);
    assert_eq!(
        Store::open(dir.path(), None)
            .unwrap()
            .get_meta("k")
            .unwrap(),
        Some(b"v2".to_vec())
    );
}

#[test]
fn concurrent_writers_take_turns_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9002, 0));
            Ok::<_, ()>(())
        })
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    store
                        .apply(|s| {
                            s.pools.get_mut("p").unwrap().targets[0].weight += 1;
                            Ok::<_, ()>(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let snap = store.snapshot();
    assert_eq!(snap.state.pools["p"].targets[0].weight, 100);
    assert_eq!(snap.generation, 101);
}

/// The state the crash writer produces at `generation`: every generation changes the pool's
/// target count and weight, and adds or removes a balancer, so a torn write would show.
fn expected_state(generation: u64) -> State {
    let mut s = State::default();
    if generation == 0 {
        return s;
    }
    let g = generation as u16;
    add(
        &mut s,
        balancer("web", 8080, "p"),
        pool("p", 9000..9000 + 1 + g % 7, (generation % 1000) as u32),
    );
    if generation.is_multiple_of(2) {
        s.balancers
            .insert("even".into(), balancer("even", 9090, "p"));
    }
    s
}

const CHILD_ENV: &str = "BURR_STORE_CRASH_WRITER_DIR";

/// Not a test on its own: the child process of `acknowledged_changes_survive_kill_9`.
#[test]
#[ignore = "run as a child process by acknowledged_changes_survive_kill_9"]
fn crash_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&dir), None).unwrap();
    let started = Instant::now();
    let mut generation = store.snapshot().generation;
    while started.elapsed() < Duration::from_secs(60) {
        let next = expected_state(generation + 1);
        let snap = store
            .apply(|s| {
                *s = next;
                Ok::<_, ()>(())
            })
            .unwrap();
        generation = snap.generation;
        println!("ACK {generation}");
    }
}

/// This test binary run as the `crash_writer` child on the store in `dir`, its acknowledgements
/// on a piped stdout.
fn spawn_crash_writer(dir: &std::path::Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::crash_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn acknowledged_changes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut last_acked = 0;
    // Kill after a varying number of acknowledgements, several times over the same database.
    for kill_after in [57usize, 133, 211] {
        let mut child = spawn_crash_writer(dir.path());
        let stdout = child.stdout.take().unwrap();
        let mut acks = 0;
        // The writer runs ahead of this reader: by the time its `kill_after`th acknowledgement
        // is read, later ones may already sit in the pipe. Those were acknowledged too, so the
        // lines left in the pipe after the kill count.
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(g) = line.strip_prefix("ACK ") {
                last_acked = g.trim().parse().unwrap();
                acks += 1;
                if acks == kill_after {
                    child.kill().unwrap(); // SIGKILL: no destructor, no flush, mid-write
                    break;
                }
            }
        }
        child.wait().unwrap();
        assert_eq!(acks, kill_after, "the writer stopped early");
        for line in lines {
            if let Some(g) = line.unwrap().strip_prefix("ACK ") {
                last_acked = g.trim().parse().unwrap();
            }
        }
        let store = Store::open(dir.path(), None).unwrap();
        let snap = store.snapshot();
        assert!(
            snap.generation >= last_acked,
            "acknowledged generation {last_acked} lost: found {}",
            snap.generation
        );
        assert!(
            snap.generation <= last_acked + 1,
            "at most the write in flight may have landed"
        );
        assert_eq!(
            snap.state,
            expected_state(snap.generation),
            "state is not exactly generation {}",
            snap.generation
        );
    }
}

#[test]
fn read_snapshot_of_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo");
    let err = Store::read_snapshot(&typo).expect_err("no store there");
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&typo.join("burr.db").display().to_string()),
        "{text}"
    );
    assert!(
        text.contains(&format!("`burr serve --data-dir {}`", typo.display())),
        "{text}"
    );
    assert!(!typo.exists(), "the directory was created");

    // An existing directory without the database: refused, nothing created in it.
    let err = Store::read_snapshot(dir.path()).expect_err("no store there");
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn read_snapshot_refuses_other_schema_versions_and_migrates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), None).unwrap());
    let path = dir.path().join("burr.db");
    let versions = || -> Vec<i64> {
        let c = Connection::open(&path).unwrap();
        let mut s = c
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let latest = migrations::latest();

    // Older: as if written by a burr that knew one migration less.
    let c = Connection::open(&path).unwrap();
    c.execute("DELETE FROM schema_migrations WHERE version = ?1", [latest])
        .unwrap();
    drop(c);
    let err = Store::read_snapshot(dir.path()).expect_err("an older schema must be refused");
    assert!(matches!(err, StoreError::TooOld { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!(
            "schema version {} is older than this burr's ({latest})",
            latest - 1
        )),
        "{err}"
    );
    assert_eq!(versions(), (1..latest).collect::<Vec<_>>(), "migrated");

    // Newer.
    let c = Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO schema_migrations VALUES (?1, 'now'), (999, 'future')",
        [latest],
    )
    .unwrap();
    drop(c);
    let err = Store::read_snapshot(dir.path()).expect_err("a newer schema must be refused");
    assert!(
        err.to_string().contains(&format!(
            "schema version 999 is newer than this burr knows ({latest})"
        )),
        "{err}"
    );

    // Not a burr database at all (an empty file).
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("burr.db"), b"").unwrap();
    let err = Store::read_snapshot(other.path()).expect_err("not a store");
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert_eq!(
        std::fs::metadata(other.path().join("burr.db"))
            .unwrap()
            .len(),
        0,
        "the file was written"
    );
}

#[test]
fn read_snapshot_sees_what_the_store_sees_while_open_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(Store::read_snapshot(dir.path()).unwrap(), *store.snapshot());
    store
        .apply(|s| {
            add(s, balancer("web", 8080, "p"), pool("p", 9001..9003, 2));
            s.balancers.get_mut("web").unwrap().origin = Origin::Api;
            Ok::<_, ()>(())
        })
        .unwrap();
    // The store is open (as under a running burr): the reader sees the committed change.
    let read = Store::read_snapshot(dir.path()).unwrap();
    assert_eq!(read, *store.snapshot());
    assert_eq!(read.generation, 1);
    assert_eq!(read.state.balancers["web"].origin, Origin::Api);
    // The writer still writes after a reader came and went.
    let next = store
        .apply(|s| {
            s.pools.get_mut("p").unwrap().targets[0].weight = 7;
            Ok::<_, ()>(())
        })
        .unwrap();
    assert_eq!(Store::read_snapshot(dir.path()).unwrap(), *next);
    drop(store);
    // Stopped (the WAL checkpointed and removed): the same state, twice over.
    let read = Store::read_snapshot(dir.path()).unwrap();
    assert_eq!(read, *next);
    assert_eq!(Store::read_snapshot(dir.path()).unwrap(), read);
    #[cfg(unix)]
    for name in ["burr.db-wal", "burr.db-shm"] {
        // Created for the reader if absent: as private as the database.
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir.path().join(name)) {
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        }
    }
    let reopened = Store::open(dir.path(), None).unwrap();
    assert_eq!(*reopened.snapshot(), read);
    reopened
        .apply(|s| {
            s.pools.get_mut("p").unwrap().targets[0].weight = 8;
            Ok::<_, ()>(())
        })
        .unwrap();
    assert_eq!(
        Store::read_snapshot(dir.path()).unwrap(),
        *reopened.snapshot()
    );
}

#[test]
fn read_snapshot_during_writes_is_exactly_one_generation() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for generation in 1..=300 {
                store
                    .apply(|s| {
                        *s = expected_state(generation);
                        Ok::<_, ()>(())
                    })
                    .unwrap();
            }
        })
    };
    let mut seen = BTreeSet::new();
    while !writer.is_finished() {
        let snap = Store::read_snapshot(dir.path()).unwrap();
        assert_eq!(
            snap.state,
            expected_state(snap.generation),
            "torn read at generation {}",
            snap.generation
        );
        seen.insert(snap.generation);
    }
    writer.join().unwrap();
    assert!(seen.len() > 1, "the reader saw one generation: {seen:?}");
    assert_eq!(Store::read_snapshot(dir.path()).unwrap().generation, 300);
}

#[test]
fn read_snapshot_after_kill_9_sees_every_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_crash_writer(dir.path());
    let mut last_acked = 0;
    let stdout = child.stdout.take().unwrap();
    // As in `acknowledged_changes_survive_kill_9`: the writer runs ahead of this reader, so the
    // acknowledgements still in the pipe after the kill count too (on a loaded machine there
    // may be several).
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(g) = line.strip_prefix("ACK ") {
            last_acked = g.trim().parse().unwrap();
            if last_acked == 150 {
                // Mid-way: the reader below finds a live writer.
                let snap = Store::read_snapshot(dir.path()).unwrap();
                assert!(snap.generation >= 150, "{}", snap.generation);
                assert_eq!(snap.state, expected_state(snap.generation));
            }
            if last_acked == 300 {
                child.kill().unwrap(); // SIGKILL: the WAL is left un-checkpointed
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(last_acked, 300, "the writer stopped early");
    for line in lines {
        if let Some(g) = line.unwrap().strip_prefix("ACK ") {
            last_acked = g.trim().parse().unwrap();
        }
    }
    // Read-only, with the dead writer's WAL and index left behind.
    let read = Store::read_snapshot(dir.path()).unwrap();
    assert!(
        read.generation == last_acked || read.generation == last_acked + 1,
        "acknowledged generation {last_acked}, read {}",
        read.generation
    );
    assert_eq!(read.state, expected_state(read.generation));
    assert_eq!(*Store::open(dir.path(), None).unwrap().snapshot(), read);
}

/// Every file of the data directory (the database, its WAL and shared memory), concatenated.
fn data_files(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The DER bytes and every base64 line of a PEM private key.
fn secret_forms(pem: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .unwrap();
    let mut forms: Vec<Vec<u8>> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(|l| l.as_bytes().to_vec())
        .collect();
    // Any 16-byte window of the DER would do; its middle is the key material.
    forms.push(der[der.len() / 2 - 8..der.len() / 2 + 8].to_vec());
    forms
}

#[test]
fn certificate_private_keys_are_encrypted_at_rest_and_survive_reopening() {
    use burr_model::certificates::{CertContext, request_certificate};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    let snap = store
        .apply(|s| {
            request_certificate(
                s,
                CertContext {
                    account: "123456789012",
                    region: "us-east-1",
                    now: 1_800_000_000,
                    fresh: [5; 16],
                },
                "secret.example.com",
                &[],
                None,
                &[],
            )
            .map(|_| ())
        })
        .unwrap();
    let certificate = snap.state.certificates.values().next().unwrap().clone();
    let authority = snap.state.certificate_authority.clone().unwrap();
    let mut secrets = secret_forms(&certificate.private_key.0);
    secrets.extend(secret_forms(&authority.private_key.0));
    // While the change sits in the WAL, and after the database is closed and checkpointed.
    let check = |moment: &str| {
        let files = data_files(dir.path());
        assert!(
            contains(
                &files,
                certificate
                    .certificate_pem
                    .lines()
                    .nth(1)
                    .unwrap()
                    .as_bytes()
            ),
            "{moment}: the certificate itself is stored in clear"
        );
        assert!(
            !contains(&files, b"PRIVATE KEY"),
            "{moment}: a PEM key label is stored"
        );
        for secret in &secrets {
            assert!(
                !contains(&files, secret),
                "{moment}: private key bytes appear in the data directory"
            );
        }
    };
    check("open");
    drop(store);
    check("closed");
    let reopened = Store::open(dir.path(), None).unwrap();
    assert_eq!(*reopened.snapshot(), *snap, "keys decrypt after reopening");
    let read = Store::read_snapshot(dir.path()).unwrap();
    assert_eq!(read.state.certificates, snap.state.certificates);
}

#[test]
fn a_certificate_row_with_a_missing_sealing_key_is_refused_not_misread() {
    use burr_model::certificates::{CertContext, request_certificate};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .apply(|s| {
            request_certificate(
                s,
                CertContext {
                    account: "123456789012",
                    region: "us-east-1",
                    now: 1_800_000_000,
                    fresh: [6; 16],
                },
                "a.example.com",
                &[],
                None,
                &[],
            )
            .map(|_| ())
        })
        .unwrap();
    store.put_meta(secrets::SEALING_KEY, &[0u8; 32]).unwrap();
    drop(store);
    let Err(error) = Store::open(dir.path(), None) else {
        panic!("a wrong sealing key was accepted");
    };
    assert!(error.to_string().contains("does not decrypt"), "{error}");
}
