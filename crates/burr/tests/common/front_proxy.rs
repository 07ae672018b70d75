//! A real HAProxy (Debian's `/usr/sbin/haproxy`) in front of burr, relaying TCP and opening each
//! connection to burr with a PROXY header (`send-proxy` or `send-proxy-v2` on its server line),
//! for the tests of `accept_proxy_protocol`. `scripts/test` installs the package when missing.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const HAPROXY: &str = "/usr/sbin/haproxy";

/// One HAProxy frontend: listens on `listen` (127.0.0.1) and relays to burr's `burr_port` with
/// `server_options` (`send-proxy`, `send-proxy-v2`) on the server line.
pub struct Frontend<'a> {
    pub listen: u16,
    pub burr_port: u16,
    pub server_options: &'a str,
}

/// A running HAProxy, killed on drop.
pub struct Haproxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts HAProxy with `frontends` and waits (at most 5 s) until each accepts connections.
    pub fn start(frontends: &[Frontend<'_>]) -> Haproxy {
        assert!(
            std::path::Path::new(HAPROXY).exists(),
            "{HAPROXY} is missing: install Debian's haproxy package (scripts/test does)"
        );
        let mut config = String::from(
            "global\n  maxconn 200\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
             timeout client 10s\n  timeout server 10s\n",
        );
        for (i, f) in frontends.iter().enumerate() {
            config.push_str(&format!(
                "\nfrontend f{i}\n  bind 127.0.0.1:{}\n  default_backend b{i}\n\
                 \nbackend b{i}\n  server burr 127.0.0.1:{} {}\n",
                f.listen, f.burr_port, f.server_options
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        // -db: stay in the foreground, so the child is HAProxy itself and dies with the test.
        let child = Command::new(HAPROXY)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("HAProxy starts");
        let haproxy = Haproxy { child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(5);
        for f in frontends {
            let addr = SocketAddr::from(([127, 0, 0, 1], f.listen));
            while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                assert!(Instant::now() < deadline, "HAProxy listening on {addr}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        haproxy
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
