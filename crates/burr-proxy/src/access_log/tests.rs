//! The three formats from hand-made records (every field, missing values, escaping, TLS names),
//! and the writer: batching, drops when the queue is full, size rotation.

use super::*;
use crate::proxy_protocol::tlv::ClientTls;
use crate::runtime::ListenerKey;
use std::time::UNIX_EPOCH;

/// 2026-12-06T07:10:16.123456Z
fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(1_796_541_016_123_456)
}

/// The texts of [`full`].
fn fields() -> TextFields<'static> {
    TextFields {
        balancer: "web",
        method: "GET",
        uri: "/a/b?c=d",
        host: Some("shop.example:8080"),
        user_agent: Some("curl/8.5.0"),
        redirect_url: None,
        pool: Some("web-pool"),
    }
}

fn full() -> Record {
    Record {
        received_at: at(),
        client: "192.0.2.7:51234".parse().unwrap(),
        port: 8080,
        protocol: ClientProtocol::Https,
        texts: Texts::pack(fields()),
        version: Version::HTTP_11,
        status: 200,
        target: Some(TargetAddress::Ip("10.0.0.5:9000".parse().unwrap())),
        target_status: Some(201),
        request_processing: Some(Duration::from_micros(1_250)),
        target_processing: Some(Duration::from_micros(20_000)),
        response_processing: Some(Duration::from_micros(500)),
        elapsed: Duration::from_micros(31_750),
        received_bytes: 123,
        sent_bytes: 4567,
        tls: Some(Arc::new(ClientTls {
            server_name: Some("shop.example".into()),
            version: Some("TLSv1.2"),
            cipher: Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()),
        })),
        routed: true,
        rule_priority: Some(10),
        action: "forward",
        error_reason: None,
    }
}

/// The texts of [`unanswered`]: no `Host`, `User-Agent` or pool.
fn unanswered_fields() -> TextFields<'static> {
    TextFields {
        host: None,
        user_agent: None,
        pool: None,
        ..fields()
    }
}

/// A request that reached no target: burr answered 502 itself.
fn unanswered() -> Record {
    Record {
        protocol: ClientProtocol::Http,
        texts: Texts::pack(unanswered_fields()),
        status: 502,
        target: None,
        target_status: None,
        request_processing: None,
        target_processing: None,
        response_processing: None,
        tls: None,
        rule_priority: None,
        error_reason: Some("TargetConnectionError"),
        ..full()
    }
}

fn names() -> Names {
    Names::for_tests(
        &[("web", "app/web/50dc6c495c0c9188")],
        &[(
            "web-pool",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-pool/73e2d6bc24d8a067",
        )],
        &[(
            ListenerKey {
                balancer: "web".into(),
                port: 8080,
            },
            "arn:aws:acm:us-east-1:123456789012:certificate/1",
        )],
    )
}

fn text(format: Format, record: &Record) -> String {
    let mut out = Vec::new();
    match format {
        Format::Classic => classic::line(record, &names(), &mut out),
        Format::Alb => alb::line(record, &names(), &mut out),
        Format::Burr => burr::line(record, &mut out),
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn classic_writes_every_field_in_aws_order() {
    assert_eq!(
        text(Format::Classic, &full()),
        "2026-12-06T07:10:16.123456Z web 192.0.2.7:51234 10.0.0.5:9000 0.001250 0.020000 \
         0.000500 200 201 123 4567 \"GET https://shop.example:8080/a/b?c=d HTTP/1.1\" \
         \"curl/8.5.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2\n"
    );
}

#[test]
fn classic_marks_missing_values_as_aws_does() {
    assert_eq!(
        text(Format::Classic, &unanswered()),
        "2026-12-06T07:10:16.123456Z web 192.0.2.7:51234 - -1 -1 -1 502 - 123 4567 \
         \"GET http://-:8080/a/b?c=d HTTP/1.1\" \"-\" - -\n"
    );
}

#[test]
fn alb_writes_every_field_in_aws_order() {
    assert_eq!(
        text(Format::Alb, &full()),
        "https 2026-12-06T07:10:16.155206Z app/web/50dc6c495c0c9188 192.0.2.7:51234 \
         10.0.0.5:9000 0.001 0.020 0.001 200 201 123 4567 \
         \"GET https://shop.example:8080/a/b?c=d HTTP/1.1\" \"curl/8.5.0\" \
         ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 \
         arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-pool/73e2d6bc24d8a067 \
         \"-\" \"shop.example\" \"arn:aws:acm:us-east-1:123456789012:certificate/1\" 10 \
         2026-12-06T07:10:16.123456Z \"forward\" \"-\" \"-\" \"10.0.0.5:9000\" \"201\" \"-\" \"-\" -\n"
    );
}

#[test]
fn alb_marks_missing_values_and_the_default_rule_as_aws_does() {
    let record = Record {
        port: 80,
        texts: Texts::pack(TextFields {
            balancer: "eu-west-1/plain",
            ..unanswered_fields()
        }),
        ..unanswered()
    };
    assert_eq!(
        text(Format::Alb, &record),
        "http 2026-12-06T07:10:16.155206Z plain 192.0.2.7:51234 - -1 -1 -1 502 - 123 4567 \
         \"GET http://-:80/a/b?c=d HTTP/1.1\" \"-\" - - - \"-\" \"-\" \"-\" 0 \
         2026-12-06T07:10:16.123456Z \"forward\" \"-\" \"TargetConnectionError\" \"-\" \"-\" \
         \"-\" \"-\" -\n"
    );
}

#[test]
fn quotes_control_bytes_and_spaces_are_escaped_so_the_fields_still_split() {
    let record = Record {
        texts: Texts::pack(TextFields {
            uri: "/x y\"z",
            user_agent: Some("evil\" \"agent\r\n\\"),
            host: Some("h\"ost"),
            ..fields()
        }),
        ..full()
    };
    let line = text(Format::Classic, &record);
    assert!(
        line.contains(
            "\"GET https://h\\x22ost:8080/x\\x20y\\x22z HTTP/1.1\" \
             \"evil\\x22 \\x22agent\\x0d\\x0a\\x5c\""
        ),
        "{line}"
    );
    assert_eq!(line.matches('\n').count(), 1);
}

#[test]
fn tls_names_map_to_openssl_and_tls13_keeps_iana() {
    assert_eq!(
        fields::openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
        "ECDHE-ECDSA-CHACHA20-POLY1305"
    );
    assert_eq!(
        fields::openssl_cipher_name("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        "ECDHE-RSA-AES256-GCM-SHA384"
    );
    assert_eq!(
        fields::openssl_cipher_name("TLS_AES_128_GCM_SHA256"),
        "TLS_AES_128_GCM_SHA256"
    );
    let record = Record {
        tls: Some(Arc::new(ClientTls {
            server_name: None,
            version: Some("TLSv1.3"),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
        })),
        ..full()
    };
    assert!(text(Format::Classic, &record).ends_with(" TLS_AES_256_GCM_SHA384 TLSv1.3\n"));
}

#[test]
fn absolute_form_and_http2_are_logged_as_sent() {
    let record = Record {
        texts: Texts::pack(TextFields {
            uri: "http://other.example:81/p",
            ..fields()
        }),
        version: Version::HTTP_2,
        protocol: ClientProtocol::H2,
        ..full()
    };
    let line = text(Format::Alb, &record);
    assert!(line.starts_with("h2 "), "{line}");
    assert!(
        line.contains("\"GET http://other.example:81/p HTTP/2.0\""),
        "{line}"
    );
}

#[test]
fn burr_format_is_unchanged() {
    assert_eq!(
        text(Format::Burr, &full()),
        "2026-12-06T07:10:16.123Z 192.0.2.7:51234 web:8080 \"GET /a/b?c=d HTTP/1.1\" 200 \
         10.0.0.5:9000 31.750\n"
    );
}

/// A stalled disk (a pipe nobody reads) costs records, never a blocked worker: once the pipe
/// and the queue are full, `write` returns at once and counts the drop.
#[test]
fn a_full_queue_drops_and_counts_rather_than_blocking() {
    let (reader, pipe) = std::io::pipe().unwrap();
    let log = AccessLog::start(Sink::Stream(Box::new(pipe)), Format::Burr, None, "1", 8).unwrap();
    const SENT: u64 = 20_000;
    let started = std::time::Instant::now();
    for _ in 0..SENT {
        log.write(full());
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "writing blocked for {:?}",
        started.elapsed()
    );
    // A pipe holds 64 KiB (~900 lines) and the queue 8: most records were dropped.
    assert!(
        log.counters().dropped() > SENT / 2,
        "dropped {}",
        log.counters().dropped()
    );
    // Reading the pipe unblocks the writer; every record is then accounted for.
    let drain = std::thread::spawn(move || {
        let mut reader = reader;
        std::io::copy(&mut reader, &mut std::io::sink())
    });
    wait_for("records accounted for", || {
        log.counters().written() + log.counters().dropped() >= SENT
    });
    assert_eq!(log.counters().written() + log.counters().dropped(), SENT);
    drop(log);
    let _ = drain.join();
}

/// A failed write is counted as dropped, never a panic.
#[test]
fn a_write_error_counts_as_dropped() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = AccessLog::start(Sink::Stream(Box::new(Broken)), Format::Alb, None, "1", 64).unwrap();
    for _ in 0..10 {
        log.write(full());
    }
    wait_for("drops counted", || log.counters().dropped() >= 10);
    assert_eq!(log.counters().written(), 0);
}

/// Size rotation keeps every file at or under the limit, shifts `.1` → `.2` …, keeps `keep`
/// files and loses no line.
#[test]
fn rotation_by_size_shifts_files_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let log = rotating_log(&path, 3, 2);
    // 10 lines at 3 a file: files of 3, 3, 3 and 1 lines, of which the newest 1 + 2 remain.
    for n in 0..10 {
        let uri = format!("/{n}");
        log.write(Record {
            texts: Texts::pack(TextFields {
                uri: &uri,
                ..fields()
            }),
            ..full()
        });
        // One at a time, so each batch is one line and the file sizes are exact.
        wait_for("the line written", || log.counters().written() > n);
    }
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    let uris = |text: String| -> Vec<String> {
        text.lines()
            .map(|l| l.split(' ').nth(4).unwrap().to_string())
            .collect()
    };
    assert_eq!(uris(read("access.log")), ["/9"]);
    assert_eq!(uris(read("access.log.1")), ["/6", "/7", "/8"]);
    assert_eq!(uris(read("access.log.2")), ["/3", "/4", "/5"]);
    assert!(!dir.path().join("access.log.3").exists());
    assert_eq!(log.counters().rotations(), 3);
}

/// A burst queued while the writer is busy leaves in one `write` call, not one per line.
#[test]
fn a_burst_is_written_with_one_call() {
    struct Counting {
        calls: Arc<std::sync::Mutex<Vec<usize>>>,
        first: Option<mpsc::Receiver<()>>,
    }
    impl std::io::Write for Counting {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            // The first write waits until the test has queued its burst.
            if let Some(go) = self.first.take() {
                let _ = go.recv();
            }
            self.calls.lock().unwrap().push(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (go, wait) = mpsc::channel();
    let sink = Counting {
        calls: calls.clone(),
        first: Some(wait),
    };
    let log = AccessLog::start(Sink::Stream(Box::new(sink)), Format::Alb, None, "1", 1024).unwrap();
    log.write(full());
    // The writer takes the first record and stalls in its write; the burst queues behind it
    // (or joins the first batch, if the writer is slower to wake).
    for _ in 0..100 {
        log.write(full());
    }
    go.send(()).unwrap();
    wait_for("all written", || log.counters().written() >= 101);
    let calls = calls.lock().unwrap();
    assert!(
        calls.len() <= 3,
        "{} write calls for 101 lines",
        calls.len()
    );
}

/// `flush` returns once every record queued before it is written (burr calls it at shutdown,
/// so lines the writer is still gathering are not lost with the process).
#[test]
fn flush_writes_everything_queued_before_it() {
    /// A slow disk: each write takes 30 ms, so an answer that came before the write would be
    /// seen before the lines.
    struct Slow(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Slow {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(30));
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Sink::Stream(Box::new(Slow(written.clone())));
    let log = AccessLog::start(sink, Format::Classic, None, "1", 1024).unwrap();
    // The first record wakes the writer, which then gathers for 10 ms: the rest wait queued.
    for n in 0..200 {
        let uri = format!("/{n}");
        log.write(Record {
            texts: Texts::pack(TextFields {
                uri: &uri,
                ..fields()
            }),
            ..full()
        });
    }
    assert!(log.flush(Duration::from_secs(10)));
    let lines = String::from_utf8(written.lock().unwrap().clone()).unwrap();
    assert_eq!(lines.lines().count(), 200);
    assert_eq!(log.counters().written(), 200);
}

/// The cached second is replaced when the second changes, and the extremes never panic.
#[test]
fn times_across_seconds_and_at_the_extremes() {
    let written = |at: SystemTime| {
        let mut out = Vec::new();
        fields::time(&mut out, at);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(written(at()), "2026-12-06T07:10:16.123456Z");
    let next = at() + Duration::from_micros(900_000);
    assert_eq!(written(next), "2026-12-06T07:10:17.023456Z");
    assert_eq!(written(at()), "2026-12-06T07:10:16.123456Z");
    assert_eq!(written(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    let before_1970 = UNIX_EPOCH - Duration::from_secs(5);
    assert_eq!(written(before_1970), "1970-01-01T00:00:00.000000Z");
    let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
    assert_eq!(written(far), "9999-12-31T23:59:59.000000Z");
    let mut out = Vec::new();
    fields::seconds(&mut out, Some(Duration::from_nanos(1_999_999_500)), 6);
    out.push(b' ');
    fields::seconds(&mut out, Some(Duration::from_nanos(12_345_678_901)), 3);
    out.push(b' ');
    fields::seconds(&mut out, Some(Duration::ZERO), 3);
    assert_eq!(String::from_utf8(out).unwrap(), "2.000000 12.346 0.000");
}

#[test]
fn addresses_are_written_bare_for_ipv4_and_ipv6() {
    let mut out = Vec::new();
    fields::address(&mut out, "10.200.3.45:8080".parse().unwrap());
    out.push(b' ');
    fields::address(&mut out, "0.0.0.0:1".parse().unwrap());
    out.push(b' ');
    fields::address(&mut out, "[2001:db8::1]:443".parse().unwrap());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "10.200.3.45:8080 0.0.0.0:1 2001:db8::1:443"
    );
}

/// A 504 after the target timed out: no step of AWS's split happened, yet the exchange took
/// five seconds, and burr's duration and ALB's `time` say so (they used to add up the steps).
#[test]
fn a_timeout_is_logged_with_the_time_it_took() {
    let record = Record {
        status: 504,
        elapsed: Duration::from_secs(5),
        error_reason: Some("TargetResponseTimeout"),
        ..unanswered()
    };
    assert_eq!(
        text(Format::Burr, &record),
        "2026-12-06T07:10:16.123Z 192.0.2.7:51234 web:8080 \"GET /a/b?c=d HTTP/1.1\" 504 - \
         5000.000\n"
    );
    let alb = text(Format::Alb, &record);
    assert!(
        alb.starts_with("http 2026-12-06T07:10:21.123456Z app/web/50dc6c495c0c9188 192.0.2.7:51234 - -1 -1 -1 504 "),
        "{alb}"
    );
}

/// A request refused before the rules ran executed no action and matched no rule: ALB's `-`
/// for both (0 would claim the default action).
#[test]
fn alb_marks_a_request_refused_before_routing_with_dashes() {
    let record = Record {
        status: 400,
        routed: false,
        ..unanswered()
    };
    let alb = text(Format::Alb, &record);
    assert!(
        alb.contains(" \"-\" - 2026-12-06T07:10:16.123456Z \"-\" \"-\" "),
        "{alb}"
    );
    let routed = text(Format::Alb, &unanswered());
    assert!(
        routed.contains(" 0 2026-12-06T07:10:16.123456Z \"forward\" "),
        "{routed}"
    );
}

/// Polls `done` every millisecond for up to 10 s; fails naming `what` if it never holds.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within 10 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A log into `path` that rotates before the file would pass `lines` lines of [`full`]'s burr
/// line, keeping `keep` rotated files; its queue holds 64 records.
fn rotating_log(path: &std::path::Path, lines: u64, keep: u32) -> AccessLog {
    let rotation = Rotation {
        max_bytes: text(Format::Burr, &full()).len() as u64 * lines,
        keep,
    };
    AccessLog::start(
        Sink::file(path).unwrap(),
        Format::Burr,
        Some(rotation),
        "1",
        64,
    )
    .unwrap()
}

/// Writes `count` records one at a time, each waited for, so every batch is one line.
fn write_one_by_one(log: &AccessLog, count: u64) {
    for _ in 0..count {
        let before = log.counters().written() + log.counters().dropped();
        log.write(full());
        wait_for("the record accounted for", || {
            log.counters().written() + log.counters().dropped() > before
        });
    }
}

/// A rename that fails (`PATH.1` is a directory) is not retried at every line: the file grows
/// past its limit until the back-off ends, even once the cause is gone.
#[test]
fn a_failed_rotation_backs_off_instead_of_retrying_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let blocker = dir.path().join("access.log.1");
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("keep"), b"x").unwrap();
    let log = rotating_log(&path, 3, 1);
    // The fourth line would pass the limit: the rename fails, the line goes to the same file.
    write_one_by_one(&log, 4);
    assert_eq!(log.counters().rotations(), 0);
    std::fs::remove_dir_all(&blocker).unwrap();
    write_one_by_one(&log, 2);
    assert_eq!(log.counters().written(), 6);
    assert_eq!(log.counters().rotations(), 0, "rotation retried at once");
    assert!(!blocker.exists());
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(lines, 6);
}

/// A file reopened at a write (after a reopen that failed) is opened for appending: what it
/// already holds counts towards the size limit.
#[test]
fn a_file_reopened_at_a_write_counts_what_it_already_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let log = rotating_log(&path, 3, 1);
    // A directory where the file was: the reopen fails and the writer holds no file.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    log.reopen();
    assert!(log.flush(Duration::from_secs(10)));
    // The path holds a file of two lines again when the next record comes.
    std::fs::remove_dir(&path).unwrap();
    std::fs::write(&path, text(Format::Burr, &full()).repeat(2)).unwrap();
    write_one_by_one(&log, 1);
    assert_eq!(log.counters().rotations(), 0);
    // Three lines in the file: the next one passes the limit.
    write_one_by_one(&log, 1);
    assert_eq!(
        log.counters().rotations(),
        1,
        "the file's own bytes were not counted"
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read("access.log.1").lines().count(), 3);
    assert_eq!(read("access.log").lines().count(), 1);
}
