#!/usr/bin/env python3
"""Staged-rollout benchmark: what a CloudFront continuous-deployment split costs burr, and how
exact its weighted draw is.

Usage: bench/canary/run     (the wrapper installs haproxy, nginx, wrk, builds burr, runs this)
       BUILD=0 ROUNDS=3 PHASES=accuracy bench/canary/run

1. CPU per request, one worker each, in front of two NGINX origins (primary and staging, each
   answering its name):
   - burr-split: a primary distribution with a SingleWeight policy (weight 0.05, session
     stickiness 300/3600 s) sending to its staging copy;
   - burr-plain: the same front end without a policy;
   - haproxy-split: one backend with the two origins as servers weighted 95/5 and
     `cookie SRV insert indirect nocache` (HAProxy's own sticky weighted split).
   Clients keep their cookie (wrk with bench/sticky.lua: the first Set-Cookie is sent back,
   replaced when the proxy sets another; wrk -t1 shares one Lua state, so all connections are
   one returning viewer). Rounds are interleaved with the order rotated; around each
   `wrk -t1 -c32` run the proxy's utime+stime is read from /proc. Reported: medians of
   requests/s and CPU µs per request, and the ratios split/plain and burr-split/haproxy-split.

2. Split accuracy: burr-split reloaded (SIGHUP) with weights 0.01, 0.05 and 0.15; wrk without a
   cookie (every request a new viewer) until at least 10^5 requests; the arms counted from
   `burr_canary_requests_total` (its total checked against wrk's request count). Reported:
   observed share, the chi-square statistic of (staging, primary) against (np, n(1-p)) with one
   degree of freedom, and its p-value (erfc(sqrt(x/2))).

Every process started here is stopped on exit; every wait is bounded.
"""

import math
import os
import re
import signal
import subprocess
import tempfile
import urllib.request

import processes
import wrk_result
from processes import interleaved_medians, procs, stop_all

HERE = os.path.dirname(os.path.abspath(__file__))
BURR = os.environ.get("BURR_BIN", "target/release/burr")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DURATION = int(os.environ.get("DURATION", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
VIEWERS = int(os.environ.get("VIEWERS", "100000"))
WEIGHTS = [float(w) for w in os.environ.get("WEIGHTS", "0.01 0.05 0.15").split()]
PRIMARY_PORT, STAGING_PORT = 19301, 19302
SPLIT_PORT, PLAIN_PORT, HAPROXY_PORT = 18301, 18303, 18305
SPLIT_API, PLAIN_API = 18881, 18882
POLICY_ID = "9c1e2c4e-0000-4000-8000-00000000be9c"
PRIMARY_ID, STAGING_ID = "EBENCHPRIMARY1", "EBENCHSTAGING1"
STICKY_LUA = os.path.join(HERE, "sticky.lua")


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/canary")


def template(name):
    with open(os.path.join(HERE, "canary", name)) as f:
        return f.read()


def distribution(id_, address, port, origin_port, policy_line):
    return template("distribution.toml").format(
        id=id_, address=address, port=port, https_port=port + 1, origin_port=origin_port,
        policy_line=policy_line)


def split_config(weight):
    return (distribution(PRIMARY_ID, "127.0.0.31", SPLIT_PORT, PRIMARY_PORT,
                         f'ContinuousDeploymentPolicyId = "{POLICY_ID}"')
            + distribution(STAGING_ID, "127.0.0.32", SPLIT_PORT, STAGING_PORT, "Staging = true")
            + template("policy.toml").format(policy_id=POLICY_ID, staging_address="127.0.0.32",
                                             weight=weight))


def plain_config():
    return distribution(PRIMARY_ID, "127.0.0.31", PLAIN_PORT, PRIMARY_PORT, "")


def start_origin(work, name, port):
    directory = os.path.join(work, name)
    os.makedirs(directory)
    processes.start_nginx_target(directory, port, f'return 200 "{name}\\n";', bench="bench/canary")


def start_burr(work, name, config_text, api):
    directory = os.path.join(work, name)
    os.makedirs(directory)
    config = os.path.join(directory, "burr.toml")
    with open(config, "w") as f:
        f.write(config_text)
    log = open(os.path.join(directory, "log"), "w")
    burr = subprocess.Popen(
        [BURR, "serve", "--config", config, "--data-dir", os.path.join(directory, "data"),
         "--api", f"127.0.0.1:{api}", "--listen-host", "127.0.0.1", "--workers", "1"],
        env=dict(os.environ, BURR_LOG="warn"), stdout=log, stderr=log)
    procs.append(burr)
    return burr, config


def start_haproxy(work):
    config = os.path.join(work, "haproxy.cfg")
    with open(config, "w") as f:
        f.write(template("haproxy.cfg").format(port=HAPROXY_PORT, primary_port=PRIMARY_PORT,
                                               staging_port=STAGING_PORT, primary_weight=95,
                                               staging_weight=5))
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", config],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(haproxy)
    return haproxy


def answers(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
        return r.status == 200 and r.read() in (b"primary\n", b"staging\n")


def metrics(api):
    with urllib.request.urlopen(f"http://127.0.0.1:{api}/metrics", timeout=5) as r:
        return r.read().decode()


def sample(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def generation(api):
    return float(re.search(r"^burr_config_generation (\S+)", metrics(api), re.M).group(1))






def wrk(port, duration, connections, lua=None):
    return processes.wrk(f"http://127.0.0.1:{port}/", duration, connections,
                         ["-s", lua] if lua else [])


def run_once(name, pid, port):
    return processes.measured_wrk(name, pid, f"http://127.0.0.1:{port}/", DURATION, CONNECTIONS,
                                  ["-s", STICKY_LUA], label_width=14)


def cpu_phase(proxies):
    print(f"CPU per request: wrk -t1 -c{CONNECTIONS} -d{DURATION}s with bench/sticky.lua, "
          f"{ROUNDS} interleaved rounds, order rotated")
    for name, _, port in proxies:  # warm-up, not recorded
        wrk(port, 2, 4, STICKY_LUA)
    median = interleaved_medians(proxies, ROUNDS, run_once, label_width=14)
    split, plain, haproxy = (median[n][1] for n in ("burr-split", "burr-plain", "haproxy-split"))
    print(f"\nCPU per request: burr-split / burr-plain {split / plain:.3f}   "
          f"burr-split / haproxy-split {split / haproxy:.3f}")


def accuracy_phase(burr, config):
    print(f"\nsplit accuracy: >= {VIEWERS} new viewers per weight (no cookie: each request draws)")
    print(f"  {'weight':>7s} {'n':>8s} {'staging':>8s} {'share':>8s} {'chi2':>8s} {'p':>8s}")
    for weight in WEIGHTS:
        before_gen = generation(SPLIT_API)
        with open(config, "w") as f:
            f.write(split_config(weight))
        burr.send_signal(signal.SIGHUP)
        wait_until(10, lambda: generation(SPLIT_API) > before_gen, f"reload to weight {weight}")
        text = metrics(SPLIT_API)
        s0 = sample(text, "burr_canary_requests_total", arm="staging")
        p0 = sample(text, "burr_canary_requests_total", arm="primary")
        sent = 0
        while sent < VIEWERS:
            sent += wrk_result.parse(wrk(SPLIT_PORT, 3, CONNECTIONS))["requests"]
        text = metrics(SPLIT_API)
        k = int(sample(text, "burr_canary_requests_total", arm="staging") - s0)
        n = k + int(sample(text, "burr_canary_requests_total", arm="primary") - p0)
        if n != sent:
            # wrk counts the responses it read before its time ran out; burr also counts the
            # requests in flight then (at most one per connection and run).
            print(f"  (burr counted {n} requests, wrk {sent} completed)")
        expected = (n * weight, n * (1 - weight))
        chi2 = sum((o - e) ** 2 / e for o, e in zip((k, n - k), expected)) if weight > 0 else float("nan")
        p = math.erfc(math.sqrt(chi2 / 2)) if weight > 0 else float("nan")
        print(f"  {weight:7.2f} {n:8d} {k:8d} {k / n:8.5f} {chi2:8.3f} {p:8.4f}", flush=True)


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-canary.")
    start_origin(work, "primary", PRIMARY_PORT)
    start_origin(work, "staging", STAGING_PORT)
    split, split_config_path = start_burr(work, "burr-split", split_config(0.05), SPLIT_API)
    plain, _ = start_burr(work, "burr-plain", plain_config(), PLAIN_API)
    haproxy = start_haproxy(work)
    proxies = [("burr-split", split.pid, SPLIT_PORT), ("burr-plain", plain.pid, PLAIN_PORT),
               ("haproxy-split", haproxy.pid, HAPROXY_PORT)]
    for name, _, port in proxies:
        wait_until(30, lambda: answers(port), f"{name} answering")
    if os.environ.get("PHASES", "cpu accuracy").find("cpu") >= 0:
        cpu_phase(proxies)
    if os.environ.get("PHASES", "cpu accuracy").find("accuracy") >= 0:
        accuracy_phase(split, split_config_path)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
