#!/usr/bin/env python3
"""What observing costs: burr's CPU per request with its latency histograms and its access log
on and off, one worker each, in front of the same NGINX target.

Usage: bench/observability   (the wrapper installs nginx and wrk, builds burr, runs this)

Four burr instances run side by side, the same pool (one target, LB-cookie stickiness off):
  bare      --latency-histograms off, no access log (the baseline)
  hist      histograms on (the default), no access log
  log-alb   histograms on, --access-log FILE --access-log-format alb
  log-elb   histograms on, --access-log FILE --access-log-format classic
The access logs are written to files in the run's work directory (on disk, as in production).
Rounds of `wrk -t1 -c32` (HTTP/1.1 keep-alive, burr's fast path) are interleaved and their order
rotated each round; around each run the proxy's utime+stime is read from /proc (the writer
thread's work included: it is a thread of the process). Reported: medians over rounds of
requests/s and CPU µs per request, then hist / bare (goal <= 1.03) and log / bare and log / hist
(goal <= 1.10), and the log lines each instance wrote and dropped.

Every process started here is stopped on exit; every wait is bounded.
"""

import os
import re
import statistics
import subprocess
import tempfile
import urllib.request

import processes
from processes import procs, stop_all

BURR = os.environ.get("BURR_BIN", "target/release/burr")
ROUNDS = int(os.environ.get("ROUNDS", "7"))
DURATION = int(os.environ.get("DURATION", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
TARGET_PORT = int(os.environ.get("TARGET_PORT", "19301"))
BASE_PORT = int(os.environ.get("BASE_PORT", "18280"))
API_BASE_PORT = int(os.environ.get("API_BASE_PORT", "18980"))

ALL_VARIANTS = [
    ("bare", ["--latency-histograms", "off"], None),
    ("hist", [], None),
    ("log-alb", [], "alb"),
    ("log-elb", [], "classic"),
]
# VARIANTS="bare hist" measures a subset (more rounds in the same time); bare always runs.
WANTED = set(os.environ.get("VARIANTS", "bare hist log-alb log-elb").split()) | {"bare"}
VARIANTS = [v for v in ALL_VARIANTS if v[0] in WANTED]


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/observability")


def burr_config(port):
    return (f'[[balancer]]\nname = "obs"\n\n[[balancer.listener]]\nport = {port}\n'
            f'protocol = "http"\npool = "app"\n\n[[pool]]\nname = "app"\n'
            f'targets = [ {{ address = "127.0.0.1:{TARGET_PORT}" }} ]\n'
            f"[pool.health_check]\nenabled = false\n")


def start_burr(work, name, port, api, flags, log_format):
    directory = os.path.join(work, name)
    os.makedirs(directory)
    config = os.path.join(directory, "burr.toml")
    with open(config, "w") as f:
        f.write(burr_config(port))
    command = [BURR, "serve", "--config", config, "--data-dir", os.path.join(directory, "data"),
               "--api", f"127.0.0.1:{api}", "--listen-host", "127.0.0.1", "--workers", "1", *flags]
    if log_format:
        command += ["--access-log", os.path.join(directory, "access.log"),
                    "--access-log-format", log_format]
    log = open(os.path.join(directory, "log"), "w")
    burr = subprocess.Popen(command, env=dict(os.environ, BURR_LOG="warn"), stdout=log, stderr=log)
    procs.append(burr)
    return burr


def answers(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
        return r.status == 200






def run_once(name, pid, port):
    return processes.measured_wrk(name, pid, f"http://127.0.0.1:{port}/", DURATION, CONNECTIONS,
                                  label_width=10)


def access_log_counts(api):
    """Lines written and dropped, from burr's own metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{api}/metrics", timeout=2) as r:
        text = r.read().decode()
    counts = {}
    for result in ("written", "dropped"):
        m = re.search(r'^burr_access_log_records_total\{result="%s"\} (\d+)' % result, text, re.M)
        counts[result] = int(m.group(1)) if m else 0
    return counts


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-observability.")
    processes.start_nginx_target(work, TARGET_PORT, 'return 200 "ok\\n";',
                                 bench="bench/observability")
    proxies, apis = [], {}
    for k, (name, flags, log_format) in enumerate(VARIANTS):
        burr = start_burr(work, name, BASE_PORT + k, API_BASE_PORT + k, flags, log_format)
        proxies.append((name, burr.pid, BASE_PORT + k))
        apis[name] = API_BASE_PORT + k
    for name, _, port in proxies:
        wait_until(30, lambda: answers(port), f"{name} answering")
    print(f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s, {ROUNDS} interleaved rounds, order rotated")
    for name, _, port in proxies:  # warm-up, not recorded
        processes.wrk(f"http://127.0.0.1:{port}/", 2, 4)
    runs = {name: [] for name, _, _ in proxies}
    for round_ in range(ROUNDS):
        print(f"round {round_ + 1}")
        shift = round_ % len(proxies)
        for name, pid, port in proxies[shift:] + proxies[:shift]:
            runs[name].append(run_once(name, pid, port))
    cpu = {name: statistics.median(r[1] for r in rs) for name, rs in runs.items()}
    print("\nmedians:")
    for name, rs in runs.items():
        print(f"  {name:10s} {statistics.median(r[0] for r in rs):8.0f} req/s  "
              f"CPU {cpu[name]:6.2f} µs/req  errors {sum(r[2] for r in rs)}")

    def paired(a, b):
        """The median over rounds of a's CPU over b's in the same round, and its range."""
        ratios = sorted(x[1] / y[1] for x, y in zip(runs[a], runs[b]))
        return f"{statistics.median(ratios):.3f} (paired; {ratios[0]:.3f}-{ratios[-1]:.3f})"

    print("\nCPU per request: ratio of medians, and the median of per-round ratios")
    pairs = [("hist", "bare", "1.03"), ("log-alb", "hist", "1.10"), ("log-elb", "hist", "1.10"),
             ("log-alb", "bare", None), ("log-elb", "bare", None)]
    for a, b, goal in pairs:
        if a in cpu and b in cpu:
            target = f"   (goal <= {goal})" if goal else ""
            print(f"  {a} / {b}  {cpu[a] / cpu[b]:.3f}   {paired(a, b)}{target}")
    for log in ("log-alb", "log-elb"):
        if log not in apis:
            continue
        counts = access_log_counts(apis[log])
        size = os.path.getsize(os.path.join(work, log, "access.log"))
        print(f"  {log}: {counts['written']} lines written, {counts['dropped']} dropped, "
              f"{size / 1e6:.1f} MB")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
