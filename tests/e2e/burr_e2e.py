"""The harness of the end-to-end suite: the real `burr` binary started on a temporary data
directory, boto3 clients pointed at it, raw (signed or unsigned) query-API requests, and small
HTTP targets on loopback.

Every wait here is bounded; nothing sleeps longer than it must.
"""

from __future__ import annotations

import http.client
import http.server
import itertools
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
BURR_BIN = os.environ.get("BURR_BIN") or str(REPO / "target" / "debug" / "burr")

REGION = "us-east-1"
ACCESS_KEY_ID = "BURRE2EACCESSKEY0001"
SECRET_ACCESS_KEY = "burr-e2e-secret-access-key-0123456789abcd"
API_VERSION = "2012-06-01"

# Balancers created through the API each take an address of burr's --address-pool. Each burr
# this suite starts gets a /24 of its own, away from 127.0.1.0/24 (burr's default, which other
# test runs on this machine use) and varied by process so two runs of the suite don't meet;
# scripts/test, which runs two pytest processes at once, gives each its own (BURR_E2E_OCTET).
_SECOND_OCTET = int(os.environ.get("BURR_E2E_OCTET") or 77 + os.getpid() % 100)
_third_octet = itertools.cycle(range(1, 255))

# Bounds of every wait.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
POLL = 0.5


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free on `host` a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def next_subnet() -> str:
    """Three octets of a /24 no other burr of this run has used."""
    return f"127.{_SECOND_OCTET}.{next(_third_octet)}"


def wait_until(predicate, timeout: float, interval: float = POLL, what: str = "condition"):
    """Polls `predicate` until it returns a true value (returned), or fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def boto_config(**overrides) -> Config:
    settings = dict(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    settings.update(overrides)
    return Config(**settings)


class Burr:
    """One `burr serve` process on a data directory of its own."""

    def __init__(
        self,
        data_dir: Path,
        *,
        subnet: str | None = None,
        listen_host: str | None = None,
        env_credentials: bool = True,
        workers: int = 1,
        config: Path | None = None,
        extra_args: list[str] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.subnet = subnet or next_subnet()
        self.address_pool = f"{self.subnet}.0/24"
        self.listen_host = listen_host
        self.env_credentials = env_credentials
        self.workers = workers
        self.config = config
        self.extra_args = list(extra_args or [])
        self.api_port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".log")
        self._log = None

    # ---- process ----

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def command(self) -> list[str]:
        cmd = [
            BURR_BIN,
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--api",
            f"127.0.0.1:{self.api_port}",
            "--address-pool",
            self.address_pool,
            "--workers",
            str(self.workers),
        ]
        if self.listen_host:
            cmd += ["--listen-host", self.listen_host]
        if self.config:
            cmd += ["--config", str(self.config)]
        return cmd + self.extra_args

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BURR_")}
        env["BURR_LOG"] = "info"
        if self.env_credentials:
            env["BURR_ACCESS_KEY_ID"] = ACCESS_KEY_ID
            env["BURR_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
        return env

    def start(self, *, same_port: bool = False) -> "Burr":
        """Starts burr and waits (bounded) for /healthz to answer 200. A fresh start picks a
        new free API port, retrying if another process took it first; `same_port` reuses the
        previous one (a restart)."""
        attempts = 1 if same_port else 3
        for attempt in range(attempts):
            if not same_port:
                self.api_port = free_port()
            self._log = open(self.log_path, "ab")
            self._log.write(f"\n==== start {' '.join(self.command())}\n".encode())
            self._log.flush()
            self.process = subprocess.Popen(
                self.command(),
                stdout=self._log,
                stderr=self._log,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
            )
            if self._wait_ready():
                return self
            if self.process.poll() is None:
                self.kill()
            self._log.close()
            if attempt + 1 < attempts and "cannot listen" in self.log():
                continue
            raise AssertionError(f"burr did not become ready; its log:\n{self.log()}")
        raise AssertionError("unreachable")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.endpoint + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        return False

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL if it has not exited within a bound."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        if self._log and not self._log.closed:
            self._log.close()

    def kill(self):
        """`kill -9`: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)
        if self._log and not self._log.closed:
            self._log.close()

    def kill9_and_restart(self) -> "Burr":
        self.kill()
        assert self.process.returncode == -signal.SIGKILL, self.process.returncode
        return self.start(same_port=True)

    def run(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """Runs another burr command (credentials, export) on this data directory."""
        return subprocess.run(
            [BURR_BIN, *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=30,
            env=env or self.environment(),
        )

    # ---- clients ----

    def client(self, access_key=ACCESS_KEY_ID, secret_key=SECRET_ACCESS_KEY, region=REGION,
               service="elb", **config):
        session = boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        )
        return session.client(service, endpoint_url=self.endpoint, config=boto_config(**config))

    def unvalidated_client(self):
        """A client that sends what it is given, so burr (not botocore) judges the input."""
        return self.client(parameter_validation=False)

    def raw(self, params: dict, *, sign: bool = True, secret: str = SECRET_ACCESS_KEY,
            access_key: str = ACCESS_KEY_ID):
        """POSTs a query-API form as botocore would, signed with SigV4 (or not). Returns
        (HTTP status, body text)."""
        body = urllib.parse.urlencode(params)
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if sign:
            request = botocore.awsrequest.AWSRequest(
                method="POST", url=self.endpoint + "/", data=body, headers=headers
            )
            credentials = botocore.credentials.Credentials(access_key, secret)
            botocore.auth.SigV4Auth(credentials, "elasticloadbalancing", REGION).add_auth(request)
            headers = dict(request.headers.items())
        req = urllib.request.Request(
            self.endpoint + "/", data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def signed(self, method: str, path: str, *, query: str = "", body: bytes = b"",
               headers: dict | None = None, service: str = "cloudfront"):
        """Any request (a REST API's: CloudFront's XML bodies), signed with SigV4 for
        `service` as botocore signs it. Returns (HTTP status, headers, body text)."""
        url = self.endpoint + path + (f"?{query}" if query else "")
        request = botocore.awsrequest.AWSRequest(
            method=method, url=url, data=body, headers=dict(headers or {})
        )
        credentials = botocore.credentials.Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        botocore.auth.SigV4Auth(credentials, service, REGION).add_auth(request)
        req = urllib.request.Request(
            url, data=body if body or method in ("POST", "PUT") else None,
            headers=dict(request.headers.items()), method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()


# ---- data plane ----


class Response:
    def __init__(self, status: int, headers, body: str, started: float, elapsed: float):
        self.started = started  # time.monotonic() when the request began
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    @property
    def target(self) -> str | None:
        return self.headers.get("X-Target")

    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []

    def cookie(self, name: str) -> str | None:
        """The `name=value` pair of a Set-Cookie for `name`, if the response sets one."""
        for c in self.set_cookies():
            pair = c.split(";", 1)[0].strip()
            if pair.split("=", 1)[0] == name:
                return pair
        return None


def http_get(host: str, port: int, path: str = "/", cookie: str | None = None,
             timeout: float = 5.0, headers: dict | None = None) -> Response:
    """One GET on a new connection."""
    start = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Connection": "close", **(headers or {})}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        return Response(r.status, r.headers, body, start, time.monotonic() - start)
    finally:
        conn.close()


def wait_for_listener(host: str, port: int, timeout: float = 10.0):
    """Waits until a TCP connect to host:port succeeds."""

    def connects():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False

    wait_until(connects, timeout, interval=0.05, what=f"a listener on {host}:{port}")


class Target:
    """An HTTP/1.1 target on loopback, in a thread. It answers every request with its own name
    (body and `X-Target` header); `GET /health` answers 200, or 500 while `unhealthy` is set;
    with `app_cookie`, responses to `app_cookie_path` set that application cookie."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0,
                 app_cookie: str | None = None, app_cookie_path: str = "/login"):
        self.name = name
        self.unhealthy = False
        self.app_cookie = app_cookie
        self.app_cookie_path = app_cookie_path
        self.hits = 0
        self.health_hits = 0
        self._lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response (headers and body together), sent at once.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_GET(self):  # noqa: N802 (http.server's naming)
                status, extra = 200, []
                if self.path == "/health":
                    with target._lock:
                        target.health_hits += 1
                    status = 500 if target.unhealthy else 200
                else:
                    with target._lock:
                        target.hits += 1
                    if target.app_cookie and self.path == target.app_cookie_path:
                        extra.append(("Set-Cookie", f"{target.app_cookie}; Path=/"))
                body = f"{target.name}\n".encode()
                self.send_response(status)
                self.send_header("X-Target", target.name)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((host, port), Handler)
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- small helpers over the API ----


def http_status(response: dict) -> int:
    return response["ResponseMetadata"]["HTTPStatusCode"]


def without_metadata(response: dict) -> dict:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def describe(elb, name: str) -> dict:
    [d] = elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"]
    return d


def snapshot(elb) -> dict:
    """Everything the API tells of every balancer: descriptions, policies, attributes, tags."""
    descriptions = []
    marker = None
    for _ in range(100):
        kw = {"Marker": marker} if marker else {}
        page = elb.describe_load_balancers(**kw)
        descriptions += page["LoadBalancerDescriptions"]
        marker = page.get("NextMarker")
        if not marker:
            break
    names = [d["LoadBalancerName"] for d in descriptions]
    state = {"descriptions": descriptions, "policies": {}, "attributes": {}, "tags": {}}
    for n in names:
        state["policies"][n] = elb.describe_load_balancer_policies(LoadBalancerName=n)[
            "PolicyDescriptions"
        ]
        state["attributes"][n] = elb.describe_load_balancer_attributes(LoadBalancerName=n)[
            "LoadBalancerAttributes"
        ]
        state["tags"][n] = elb.describe_tags(LoadBalancerNames=[n])["TagDescriptions"]
    return state


def listener(port: int = 8080, instance_port: int = 80, protocol: str = "HTTP", **extra) -> dict:
    instance_protocol = "HTTP" if protocol in ("HTTP", "HTTPS") else "TCP"
    return {"Protocol": protocol, "LoadBalancerPort": port, "InstanceProtocol": instance_protocol,
            "InstancePort": instance_port, **extra}


def create_lb(elb, name: str, *listeners: dict, **extra) -> str:
    """Creates a balancer (one HTTP listener 8080 → 80 unless given) and returns its DNSName."""
    response = elb.create_load_balancer(
        LoadBalancerName=name, Listeners=list(listeners) or [listener()], **extra
    )
    assert http_status(response) == 200
    return response["DNSName"]


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
