#!/usr/bin/env python3
"""Issue 19's workloads: burr against HAProxy and NGINX on HTTP/2 cleartext, 1 MiB responses,
TLS (keep-alive and full handshakes) and sticky HTTP/1.1, with system calls per unit.

Usage: PHASES="h2 bodies tls alb" bench/run       (bench/run installs the tools and builds burr)
       BURR_BIN=... python3 bench/workloads.py  (the same, tools and binary already there)

Every proxy runs one worker (thread) in front of the same three NGINX backends (127.0.0.1:19501-19503,
one worker, answering `ok from N` on `/` and a file of BODY_BYTES (1 MiB) on `/1m`), and listens on
four ports of its own: HTTP/1.1, HTTP/2 cleartext with prior knowledge, HTTPS (one ECDSA P-256
certificate for all) and HTTP/1.1 with cookie stickiness. Phases (PHASES, all by default):

- h2: `h2load -c H2_CLIENTS -m H2_STREAMS -D DURATION` (32 connections, 10 streams each) on the
  h2c port, HTTP/1.1 to the backends. Requests/s and proxy CPU µs per request.
- bodies: `wrk -t1 -c BODY_CONNECTIONS -d DURATION` (16) of `/1m`. MiB/s and CPU µs per MiB.
- tls: `wrk -t1 -c TLS_CONNECTIONS` (32) keep-alive HTTPS, per request; then full handshakes,
  S_TIME_CLIENTS (4) `openssl s_time -new` side by side for DURATION, per handshake.
- idle: memory per idle keep-alive connection on the HTTP/1.1 port, `bench/idle_conns.py` with
  IDLE_CONNS (10,000) connections, one request each, once per proxy: KiB of RSS per connection.
  It runs first, on fresh processes, wherever it stands in PHASES: after a 1 MiB-body phase a
  proxy's RSS already holds memory that the idle connections would reuse.
- alb: `wrk -t1 -c32 -s bench/sticky.lua` (returning clients keep their cookie) on a pool
  with ALB cookie stickiness (burr: `lb_cookie`, `alb`; HAProxy: `cookie SRV insert indirect
  nocache`; NGINX has no cookie stickiness and sits this one out). Per request.

Rounds are interleaved (ROUNDS, 5; the order rotated each round), medians with (min-max). CPU is
utime+stime from /proc of the proxy process (NGINX: master and worker). After the rounds, once per
proxy, `strace -c -f` on every thread counts the system calls over a fixed amount of work (h2:
H2_STRACE_REQUESTS requests; the wrk and s_time ones: STRACE_SECONDS of load, divided by the work
done): system calls per unit, with the most frequent. A run during which a compiler was running is
marked "disturbed".

Other burr builds run beside the first in the same rounds: BURR_BASE_BIN (as burr_base, e.g. main
before a change) and EXTRA_BURRS="name=path ..." (e.g. burr_mimalloc=target/mimalloc/burr). Their
names start with burr; each is compared with burr and with the other proxies.

Every process started here is stopped on exit; every wait and every load is bounded.
"""

import csv
import json
import os
import re
import resource
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import processes
import wrk_result
from processes import family_ticks, procs, stop_all
from tls import make_certificate

BENCH = os.path.dirname(os.path.abspath(__file__))
BURR = os.environ.get("BURR_BIN", "target/release/burr")
BURR_BASE = os.environ.get("BURR_BASE_BIN", "")
EXTRA_BURRS = [item.split("=", 1) for item in os.environ.get("EXTRA_BURRS", "").split()]
PROXIES = os.environ.get("PROXIES", "burr haproxy nginx").split()
PHASES = os.environ.get("PHASES", "h2 bodies tls alb").split()
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DURATION = int(os.environ.get("DURATION", "5"))
WARMUP = int(os.environ.get("WARMUP", "2"))
H2_CLIENTS = int(os.environ.get("H2_CLIENTS", "32"))
H2_STREAMS = int(os.environ.get("H2_STREAMS", "10"))
H2_STRACE_REQUESTS = int(os.environ.get("H2_STRACE_REQUESTS", "20000"))
BODY_CONNECTIONS = int(os.environ.get("BODY_CONNECTIONS", "16"))
BODY_BYTES = int(os.environ.get("BODY_BYTES", str(1 << 20)))
TLS_CONNECTIONS = int(os.environ.get("TLS_CONNECTIONS", "32"))
S_TIME_CLIENTS = int(os.environ.get("S_TIME_CLIENTS", "4"))
STICKY_CONNECTIONS = int(os.environ.get("STICKY_CONNECTIONS", "32"))
IDLE_CONNS = int(os.environ.get("IDLE_CONNS", "10000"))
STRACE_SECONDS = int(os.environ.get("STRACE_SECONDS", "3"))
TOP_CALLS = int(os.environ.get("TOP_CALLS", "3"))
BACKEND_PORTS = [19501, 19502, 19503]
BASE_PORT = int(os.environ.get("WORKLOAD_BASE_PORT", "18600"))
API_BASE_PORT = int(os.environ.get("WORKLOAD_API_BASE_PORT", "18690"))
# Each proxy's listeners: BASE_PORT + 10 × its index + these.
H1, H2C, TLS, STICKY = 1, 2, 3, 4
RESULTS_CSV = os.environ.get("WORKLOADS_CSV", "")
MIB = 1 << 20


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/workloads")


# ---- processes ----------------------------------------------------------------------------

def start_backends(work):
    """One NGINX, one worker, on the three backend ports: `/` answers `ok from N`, `/1m` is a
    file of BODY_BYTES sent with sendfile (the backends' CPU is not measured, but they share
    the machine's two cores with the proxy and the client)."""
    directory = os.path.join(work, "backend")
    os.makedirs(directory)
    with open(os.path.join(directory, "1m"), "wb") as f:
        f.write(b"b" * BODY_BYTES)
    servers = "\n".join(
        f'  server {{ listen 127.0.0.1:{port}; location = /1m {{ alias {directory}/1m; }}'
        f' location / {{ return 200 "ok from {i + 1}\\n"; }} }}' for i, port in enumerate(BACKEND_PORTS))
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; user root root; daemon off; pid {directory}/nginx.pid;
worker_rlimit_nofile 20000;
error_log {directory}/error.log warn;
events {{ worker_connections 9000; }}
http {{ access_log off; default_type text/plain; sendfile on; tcp_nopush on;
  keepalive_timeout 300s; keepalive_requests 1000000;
{servers}
}}
""")
    procs.append(subprocess.Popen(["nginx", "-p", directory, "-c", conf]))
    for port in BACKEND_PORTS:
        wait_until(10, lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200,
                   f"the backend on {port} answering")


def start_burr(work, name, binary, ports, api_port, cert, key):
    targets = ", ".join(f'{{ address = "127.0.0.1:{p}" }}' for p in BACKEND_PORTS)
    return processes.serve_burr(binary, os.path.join(work, name), f"""[[balancer]]
name = "workloads"
address = "127.0.0.1"

[[balancer.listener]]
port = {ports[H1]}
protocol = "http"
pool = "backends"

[[balancer.listener]]
port = {ports[H2C]}
protocol = "http"
pool = "backends"

[[balancer.listener]]
port = {ports[TLS]}
protocol = "https"
pool = "backends"
tls = {{ certificate = "{cert}", private_key = "{key}" }}

[[balancer.listener]]
port = {ports[STICKY]}
protocol = "http"
pool = "sticky"

[[pool]]
name = "backends"
algorithm = "round_robin"
targets = [ {targets} ]

[pool.health_check]
enabled = false

[[pool]]
name = "sticky"
algorithm = "round_robin"
targets = [ {targets} ]

[pool.stickiness]
type = "lb_cookie"
flavour = "alb"

[pool.health_check]
enabled = false
""", api_port, name, bench="bench/workloads")


def start_haproxy(work, ports, pem):
    directory = os.path.join(work, "haproxy")
    os.makedirs(directory)
    servers = "\n".join(f"    server s{i + 1} 127.0.0.1:{p}" for i, p in enumerate(BACKEND_PORTS))
    cookie_servers = "\n".join(f"    server s{i + 1} 127.0.0.1:{p} cookie s{i + 1}" for i, p in enumerate(BACKEND_PORTS))
    cfg = os.path.join(directory, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(f"""{processes.HAPROXY_GLOBAL}defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-request 30s
    timeout http-keep-alive 120s
frontend h1
    bind 127.0.0.1:{ports[H1]}
    default_backend backends
frontend h2c
    bind 127.0.0.1:{ports[H2C]} proto h2
    default_backend backends
frontend tls
    bind 127.0.0.1:{ports[TLS]} ssl crt {pem}
    default_backend backends
frontend sticky
    bind 127.0.0.1:{ports[STICKY]}
    default_backend sticky
backend backends
    balance roundrobin
{servers}
backend sticky
    balance roundrobin
    cookie SRV insert indirect nocache
{cookie_servers}
""")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(haproxy)
    return haproxy


def start_nginx(work, ports, cert, key):
    """NGINX 1.22's syntax (Debian 12): `listen ... http2` (no `http2 on;` before 1.25.1).
    Upstream keep-alive holds up to 512 idle connections, room for h2's 320 streams in flight,
    and `proxy_max_temp_file_size 0` relays a 1 MiB body through memory rather than spooling it
    to a temporary file, as burr and HAProxy do."""
    directory = os.path.join(work, "nginx")
    os.makedirs(directory)
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in BACKEND_PORTS)
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; user root root; daemon off; pid {directory}/nginx.pid;
worker_rlimit_nofile 20000;
error_log {directory}/error.log warn;
events {{ worker_connections 9000; }}
http {{
  access_log off; keepalive_timeout 120s; keepalive_requests 1000000;
  upstream backends {{
{servers}
    keepalive 512; keepalive_requests 1000000; keepalive_timeout 120s;
  }}
  server {{
    listen 127.0.0.1:{ports[H1]};
    listen 127.0.0.1:{ports[H2C]} http2;
    listen 127.0.0.1:{ports[TLS]} ssl;
    ssl_certificate {cert}; ssl_certificate_key {key};
    location / {{
      proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }}
  }}
}}
""")
    nginx = subprocess.Popen(["nginx", "-p", directory, "-c", conf])
    procs.append(nginx)
    return nginx


# ---- clients ------------------------------------------------------------------------------

def h2load(port, *limit, clients=H2_CLIENTS, streams=H2_STREAMS):
    """One h2load run on the h2c port (`limit`: -D SECONDS or -n REQUESTS); (succeeded, seconds,
    errors: failed, errored, timed out and non-2xx)."""
    out = subprocess.run(["h2load", "-t1", f"-c{clients}", f"-m{streams}", *map(str, limit),
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=DURATION + STRACE_SECONDS + 120).stdout
    finished = re.search(r"^finished in ([\d.]+)(us|ms|s),", out, re.M)
    counts = re.search(r"^requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
                       r"(\d+) errored, (\d+) timeout", out, re.M)
    codes = re.search(r"^status codes: (\d+) 2xx", out, re.M)
    if not (finished and counts and codes):
        sys.exit(f"bench/workloads: unreadable h2load output on port {port}:\n{out}")
    seconds = float(finished.group(1)) / {"us": 1e6, "ms": 1e3, "s": 1}[finished.group(2)]
    succeeded = int(codes.group(1))
    # Responses of a -D run that end after its last second can be counted in the status codes
    # and not among the succeeded: never count those as negative errors.
    errors = sum(int(g) for g in counts.groups()[1:]) + max(0, int(counts.group(1)) - succeeded)
    return succeeded, seconds, errors


def h2load_for(port, seconds):
    """h2load for `seconds`: (requests answered 2xx, errors)."""
    succeeded, _, errors = h2load(port, "-D", seconds)
    return succeeded, errors


def wrk_requests(url, duration, connections, extra=()):
    result = wrk_result.parse(processes.wrk(url, duration, connections, extra))
    return result["requests"], result["non2xx"] + result["socket_errors"]


def s_time(port, seconds):
    """S_TIME_CLIENTS `openssl s_time -new` side by side for `seconds`: full handshakes, each
    closed right after (no request); (handshakes, errors: clients that printed no count)."""
    clients = [subprocess.Popen(["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time",
                                 str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(S_TIME_CLIENTS)]
    procs.extend(clients)
    handshakes = errors = 0
    for client in clients:
        out = client.communicate(timeout=seconds + 60)[0]
        m = re.search(r"^(\d+) connections in [\d.]+s;", out, re.M)
        if m:
            handshakes += int(m.group(1))
        else:
            errors += 1
    return handshakes, errors


# ---- phases -------------------------------------------------------------------------------

class Workload:
    """One measured workload: which listener (`port_key`), the unit of work, how to run it for
    DURATION (`load(port, seconds)` -> (units, errors)), and how to run it for the strace
    count (`fixed(port)` -> units; by default `load` for STRACE_SECONDS)."""

    def __init__(self, name, port_key, unit, load, fixed=None, scale=1.0):
        self.name, self.port_key, self.unit, self.load = name, port_key, unit, load
        self.fixed = fixed or (lambda port: load(port, STRACE_SECONDS)[0])
        self.scale = scale  # units per counted item (MiB per 1 MiB response)


def workloads():
    body_url = "http://127.0.0.1:{port}/1m"
    return {
        "h2": [Workload("h2", H2C, "req", h2load_for,
                        fixed=lambda port: h2load(port, "-n", H2_STRACE_REQUESTS)[0])],
        "bodies": [Workload("bodies", H1, "MiB",
                            lambda port, s: wrk_requests(body_url.format(port=port), s, BODY_CONNECTIONS),
                            scale=BODY_BYTES / MIB)],
        "tls": [Workload("tls-keepalive", TLS, "req",
                         lambda port, s: wrk_requests(f"https://127.0.0.1:{port}/", s, TLS_CONNECTIONS)),
                Workload("tls-handshake", TLS, "handshake", s_time)],
        "alb": [Workload("alb", STICKY, "req",
                         lambda port, s: wrk_requests(f"http://127.0.0.1:{port}/", s, STICKY_CONNECTIONS,
                                                      ("-s", os.path.join(BENCH, "sticky.lua"))))],
    }


def run_workload(w, proxies, rows, summary):
    print(f"\n== {w.name}: CPU per {w.unit}, {ROUNDS} interleaved rounds of {DURATION} s", flush=True)
    for name, _, ports in proxies:  # warm-up, not recorded: connection pools, caches
        w.load(ports[w.port_key], WARMUP)

    def run_once(name, pid, ports):
        t0 = family_ticks(pid)
        units, errors = w.load(ports[w.port_key], DURATION)
        t1 = family_ticks(pid)
        units *= w.scale
        return {f"{w.unit}_per_s": units / DURATION,
                f"cpu_us_per_{w.unit}": (t1 - t0) * 1e6 / processes.CLK_TCK / max(units, 1e-9), "errors": errors}

    keys = [f"{w.unit}_per_s", f"cpu_us_per_{w.unit}"]
    runs = processes.interleaved_runs(proxies, ROUNDS, run_once)
    med = processes.run_medians(runs, keys)
    processes.print_medians(f"{w.name} (medians of {ROUNDS} rounds)", med, keys, keys[1], runs)
    print(f"\nSystem calls per {w.unit} (strace -c -f on every thread of the proxy):", flush=True)
    for name, pid, ports in proxies:
        per_unit, top = processes.strace_counts(pid, lambda: w.fixed(ports[w.port_key]) * w.scale, TOP_CALLS)
        med[name]["syscalls"] = per_unit
        print(f"  {name:13s} {per_unit:9.2f}  ({', '.join(f'{c} {n:.2f}' for c, n in top)})", flush=True)
    for name, rs in runs.items():
        for round_, r in enumerate(rs, 1):
            rows.append([w.name, round_, name, w.unit, f"{r[keys[0]]:.1f}", f"{r[keys[1]]:.3f}", r["errors"],
                         r["disturbed"]])
    summary.append((w, med))


def phase_idle(proxies, idle):
    """RSS per idle keep-alive connection of each proxy (bench/idle_conns.py), into `idle`."""
    print(f"\n== idle: RSS per idle keep-alive connection, {IDLE_CONNS} connections (bench/idle_conns.py)", flush=True)
    for name, pid, ports in proxies:
        time.sleep(2)  # the connections of the step before close
        pids = " ".join(map(str, [pid] + processes.children(pid)))
        out = subprocess.run([sys.executable, os.path.join(BENCH, "idle_conns.py"), "--port", str(ports[H1]),
                              "--pids", pids, "--count", str(IDLE_CONNS)], capture_output=True, text=True,
                             timeout=300).stdout
        try:
            result = json.loads(out)
        except ValueError:
            sys.exit(f"bench/workloads: idle_conns.py on {name} printed no result: {out}")
        idle[name] = result
        print(f"  {name:13s} {result.get('kib_per_conn')} KiB/conn  ({result.get('ok')} ok, "
              f"{result.get('still_open')} held, RSS {result.get('rss_before_kib')} → {result.get('rss_after_kib')} KiB)",
              flush=True)


def print_summary(summary):
    print("\n============================ workloads summary ============================")
    print(f"{'workload / unit':24s} {'proxy':13s} {'per s':>10s} {'CPU µs/unit':>12s} {'(min-max)':>17s} "
          f"{'syscalls/unit':>13s}  {'CPU/haproxy':>11s}  errors")
    for w, med in summary:
        for name, m in med.items():
            per_s, cpu = m[f"{w.unit}_per_s"], m[f"cpu_us_per_{w.unit}"]
            lo, hi = m["range"][f"cpu_us_per_{w.unit}"]
            ratio = f"{cpu / med['haproxy'][f'cpu_us_per_{w.unit}']:.2f}" if "haproxy" in med else "-"
            print(f"{w.name + ' / ' + w.unit:24s} {name:13s} {per_s:10.0f} {cpu:12.2f} {f'({lo:.2f}-{hi:.2f})':>17s} "
                  f"{m['syscalls']:13.2f}  {ratio:>11s}  {m['errors']}"
                  + (f"  disturbed runs {m['disturbed']}" if m["disturbed"] else ""))


# ---- checks -------------------------------------------------------------------------------

def check_proxy(name, ports):
    """Each listener answers what it should before anything is measured: the 1 MiB body whole,
    h2c with 2xx, HTTPS with 200, the sticky listener with a cookie (not NGINX)."""
    def body_ok():
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[H1]}/1m", timeout=2) as r:
            return r.status == 200 and len(r.read()) == BODY_BYTES
    wait_until(20, body_ok, f"{name} relaying the {BODY_BYTES}-byte body")
    wait_until(10, lambda: h2load(ports[H2C], "-n", 20, clients=1, streams=1)[0] == 20, f"{name} answering h2c")
    context = ssl._create_unverified_context()
    wait_until(10, lambda: urllib.request.urlopen(f"https://127.0.0.1:{ports[TLS]}/", context=context,
                                                  timeout=2).status == 200, f"{name} answering HTTPS")
    if STICKY in ports:
        wait_until(10, lambda: urllib.request.urlopen(f"http://127.0.0.1:{ports[STICKY]}/", timeout=2)
                   .headers.get("Set-Cookie") is not None, f"{name} setting a stickiness cookie")


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-workloads.")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}; compilers running: "
          f"{processes.compilers_running() or 'none'}")
    for tool in ("h2load", "wrk", "openssl", "strace", "haproxy", "nginx"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            sys.exit(f"bench/workloads: {tool} is missing (bench/run installs it)")
    make_certificate(work)
    # Every proxy started here inherits the limit: IDLE_CONNS clients plus upstream connections.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cert, key, pem = (os.path.join(work, f) for f in ("cert.pem", "key.pem.p8", "haproxy.pem"))
    start_backends(work)

    builds = ([("burr", BURR)] if "burr" in PROXIES else []) + ([("burr_base", BURR_BASE)] if BURR_BASE else []) \
        + [(name if name.startswith("burr") else f"burr_{name}", path) for name, path in EXTRA_BURRS]
    proxies = []  # (name, pid, {listener: port})
    for index, name in enumerate([b for b, _ in builds] + [p for p in ("haproxy", "nginx") if p in PROXIES]):
        ports = {k: BASE_PORT + 10 * index + k for k in (H1, H2C, TLS, STICKY)}
        if name == "haproxy":
            process = start_haproxy(work, ports, pem)
        elif name == "nginx":
            process = start_nginx(work, ports, cert, key)
            del ports[STICKY]
        else:
            process = start_burr(work, name, dict(builds)[name], ports, API_BASE_PORT + index, cert, key)
        check_proxy(name, ports)
        print(f"  {name} (pid {process.pid}) on ports {ports[H1]}-{max(ports.values())}", flush=True)
        proxies.append((name, process.pid, ports))

    rows, summary, idle = [], [], {}
    if "idle" in PHASES:
        phase_idle(proxies, idle)
    for phase in PHASES:
        if phase == "idle":
            continue
        for w in workloads()[phase]:
            with_listener = [p for p in proxies if w.port_key in p[2]]
            run_workload(w, with_listener, rows, summary)
    print_summary(summary)
    for name, result in idle.items():
        print(f"idle keep-alive connection   {name:13s} {result.get('kib_per_conn')} KiB of RSS")
    if RESULTS_CSV:
        with open(RESULTS_CSV, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["workload", "round", "proxy", "unit", "per_s", "cpu_us_per_unit", "errors", "disturbed_by"])
            out.writerows(rows)
        print(f"raw numbers: {RESULTS_CSV}")
    print(f"\nload average at end {' '.join(open('/proc/loadavg').read().split()[:3])}")


if __name__ == "__main__":
    unknown = set(PHASES) - set(workloads()) - {"idle"}
    if unknown:
        sys.exit(f"bench/workloads: unknown phase(s) {' '.join(sorted(unknown))} (known: h2 bodies tls alb idle)")
    try:
        main()
    finally:
        stop_all()
