#!/usr/bin/env python3
"""Listener rules benchmark: proxy CPU per request with 0, 10 and 100 rules, burr against HAProxy
with the equivalent ACLs, one worker each, in front of the same NGINX target.

Usage: bench/rules          (the wrapper installs haproxy, nginx, wrk, builds burr, runs this)

Each rule i has a path condition and a header condition (burr: `path_pattern = ["/svc<i>/*",
"/app/*"]` and `http_header = { name = "X-Tenant", values = ["t<i>"] }`; HAProxy: `use_backend
b<i> if { path_beg /svc<i>/ /app/ } { req.hdr(x-tenant) -i t<i> }`). Every request is
`GET /app/index` with `X-Tenant: other`: its path matches every rule's second pattern and its
header none, so each proxy evaluates every condition of every rule and ends on its default
(burr: the listener's `default_action` forward; HAProxy: `default_backend`). All pools and
backends are the one NGINX target, so what differs between the runs is the rule evaluation.

Six proxies (burr and HAProxy at 0, 10 and 100 rules) run side by side; rounds are interleaved
and their order rotated each round, so a drift of the shared machine hits all alike. Around each
`wrk -t1 -c32` run the proxy's utime+stime is read from /proc. Reported: medians over rounds of
requests/s and CPU µs per request, then burr / HAProxy at each rule count and each proxy at N
rules over itself at 0 rules.

Every process started here is stopped on exit; every wait is bounded.
"""

import os
import subprocess
import tempfile
import urllib.request

import processes
from processes import interleaved_medians, procs, stop_all

BURR = os.environ.get("BURR_BIN", "target/release/burr")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DURATION = int(os.environ.get("DURATION", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
RULE_COUNTS = [int(n) for n in os.environ.get("RULE_COUNTS", "0 10 100").split()]
TARGET_PORT = int(os.environ.get("TARGET_PORT", "19201"))
BASE_PORT = int(os.environ.get("BASE_PORT", "18180"))  # burr N on BASE + 2k, HAProxy on + 1
API_BASE_PORT = int(os.environ.get("API_BASE_PORT", "18880"))
HEADERS = ["-H", "X-Tenant: other"]
PATH = "/app/index"


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/rules")


def burr_config(port, rules):
    pools = "".join(
        f'[[pool]]\nname = "{name}"\ntargets = [ {{ address = "127.0.0.1:{TARGET_PORT}" }} ]\n'
        f"[pool.health_check]\nenabled = false\n\n"
        for name in ["def", "p0", "p1", "p2"])
    text = (f'[[balancer]]\nname = "rules"\n\n[[balancer.listener]]\nport = {port}\n'
            f'protocol = "http"\ndefault_action = {{ forward = {{ pool = "def" }} }}\n\n')
    for i in range(1, rules + 1):
        text += (f"[[balancer.listener.rule]]\npriority = {i}\n"
                 f'conditions = [ {{ path_pattern = ["/svc{i}/*", "/app/*"] }}, '
                 f'{{ http_header = {{ name = "X-Tenant", values = ["t{i}"] }} }} ]\n'
                 f'action = {{ forward = {{ pool = "p{i % 3}" }} }}\n\n')
    return text + pools


def haproxy_config(port, rules):
    uses = "".join(f"    use_backend b{i % 3} if {{ path_beg /svc{i}/ /app/ }} {{ req.hdr(x-tenant) -i t{i} }}\n"
                   for i in range(1, rules + 1))
    backends = "".join(f"backend {name}\n    server t 127.0.0.1:{TARGET_PORT}\n"
                       for name in ["def", "b0", "b1", "b2"])
    return f"""{processes.HAPROXY_GLOBAL}defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend rules
    bind 127.0.0.1:{port}
{uses}    default_backend def
{backends}"""


def start_burr(work, n, port, api):
    directory = os.path.join(work, f"burr{n}")
    os.makedirs(directory)
    config = os.path.join(directory, "burr.toml")
    with open(config, "w") as f:
        f.write(burr_config(port, n))
    log = open(os.path.join(directory, "log"), "w")
    burr = subprocess.Popen(
        [BURR, "serve", "--config", config, "--data-dir", os.path.join(directory, "data"),
         "--api", f"127.0.0.1:{api}", "--listen-host", "127.0.0.1", "--workers", "1"],
        env=dict(os.environ, BURR_LOG="warn"), stdout=log, stderr=log)
    procs.append(burr)
    return burr


def start_haproxy(work, n, port):
    config = os.path.join(work, f"haproxy{n}.cfg")
    with open(config, "w") as f:
        f.write(haproxy_config(port, n))
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", config],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(haproxy)
    return haproxy


def answers(port):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}", headers={"X-Tenant": "other"})
    with urllib.request.urlopen(request, timeout=2) as r:
        return r.status == 200 and r.read() == b"ok\n"






def run_once(name, pid, port):
    return processes.measured_wrk(name, pid, f"http://127.0.0.1:{port}{PATH}", DURATION,
                                  CONNECTIONS, HEADERS)


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-rules.")
    processes.start_nginx_target(work, TARGET_PORT, 'return 200 "ok\\n";', bench="bench/rules")
    proxies = []
    for k, n in enumerate(RULE_COUNTS):
        burr_port, haproxy_port = BASE_PORT + 2 * k, BASE_PORT + 2 * k + 1
        burr = start_burr(work, n, burr_port, API_BASE_PORT + k)
        haproxy = start_haproxy(work, n, haproxy_port)
        proxies += [(f"burr-{n}", burr.pid, burr_port), (f"haproxy-{n}", haproxy.pid, haproxy_port)]
    for name, _, port in proxies:
        wait_until(30, lambda: answers(port), f"{name} answering {PATH}")
    print(f"rules: {RULE_COUNTS} (path + header conditions, every rule evaluated, default taken)")
    print(f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s, {ROUNDS} interleaved rounds, order rotated")
    for name, _, port in proxies:  # warm-up, not recorded
        processes.wrk(f"http://127.0.0.1:{port}{PATH}", 2, 4, HEADERS)
    median = interleaved_medians(proxies, ROUNDS, run_once)
    print("\nCPU per request, ratios of medians:")
    base_b, base_h = median[f"burr-{RULE_COUNTS[0]}"][1], median[f"haproxy-{RULE_COUNTS[0]}"][1]
    for n in RULE_COUNTS:
        b, h = median[f"burr-{n}"][1], median[f"haproxy-{n}"][1]
        print(f"  {n:3d} rules: burr/haproxy {b / h:.2f}   burr {n}/{RULE_COUNTS[0]} {b / base_b:.2f}"
              f"   haproxy {n}/{RULE_COUNTS[0]} {h / base_h:.2f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
