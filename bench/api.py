#!/usr/bin/env python3
"""Control-plane benchmark: the Classic ELB API through the real boto3, against a running burr.

Usage: bench/api            (the wrapper installs nginx, wrk and boto3, builds burr, runs this)

Measures, on one balancer with one HTTP listener in front of an NGINX target:
  1. CALLS calls each of CreateLBCookieStickinessPolicy and SetLoadBalancerPoliciesOfListener
     (policy i has CookieExpirationPeriod 60+i; the previous one is deleted afterwards, outside
     the timing, since a balancer holds at most 50 policies): median and p99 latency of each
     call, calls per second over both, and how long after SetLoadBalancerPoliciesOfListener
     returned the data plane first answered with the new policy (an AWSELB cookie whose
     Max-Age is 60+i), polled on a kept-alive connection.
  2. CHANGES policy changes (an LB cookie policy, an app-cookie policy, none, in turn, one every
     CHANGE_GAP_S) while wrk loads the listener: wrk's request count, non-2xx/3xx responses and
     socket errors (the goal is 0 failed requests).
  3. ELBv2: on an application load balancer whose listener has a path rule, CALLS ModifyRule
     calls (rule i answers a fixed response "v<i>"): median and p99 latency of the call, and how
     long after the answer the data plane first answered "v<i>" on a kept-alive connection
     (the goal: within 50 ms at p99).

Every process started here is stopped on exit; every wait is bounded.
"""

import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

import processes
from processes import procs, stop_all

BURR = os.environ.get("BURR_BIN", "target/release/burr")
CALLS = int(os.environ.get("CALLS", "1000"))
CHANGES = int(os.environ.get("CHANGES", "100"))
CHANGE_GAP_S = float(os.environ.get("CHANGE_GAP_S", "0.1"))
API_PORT = int(os.environ.get("API_PORT", "18790"))
LB_PORT = int(os.environ.get("LB_PORT", "18095"))
TARGET_PORT = int(os.environ.get("TARGET_PORT", "19101"))
VISIBLE_TIMEOUT_S = 2.0

KEY, SECRET = "BURRBENCHKEY0000", "bench-secret-not-for-production"


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/api")


def start_target(work):
    processes.start_nginx_target(work, TARGET_PORT, 'add_header Set-Cookie "app=v1; Path=/"; return 200 "ok\\n";', bench="bench/api")


def start_burr(work):
    env = dict(os.environ, BURR_ACCESS_KEY_ID=KEY, BURR_SECRET_ACCESS_KEY=SECRET, BURR_LOG="warn")
    procs.append(subprocess.Popen(
        [BURR, "serve", "--data-dir", os.path.join(work, "data"), "--api", f"127.0.0.1:{API_PORT}",
         "--address-pool", "127.0.3.0/24", "--workers", "1"], env=env))
    wait_until(10, lambda: urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/healthz", timeout=1).status == 200,
               "burr answering /healthz")


def max_age_seen(conn):
    """The Max-Age of the AWSELB cookie in one response through the listener, or None."""
    conn.request("GET", "/")
    response = conn.getresponse()
    response.read()
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("AWSELB="):
            m = re.search(r"Max-Age=(\d+)", header)
            return int(m.group(1)) if m else -1
    return None


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-api.")
    start_target(work)
    start_burr(work)
    elb = boto3.client("elb", endpoint_url=f"http://127.0.0.1:{API_PORT}", region_name="us-east-1",
                       aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    lb = "bench"
    dns = elb.create_load_balancer(LoadBalancerName=lb, Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": LB_PORT, "InstanceProtocol": "HTTP", "InstancePort": TARGET_PORT}])["DNSName"]
    elb.register_instances_with_load_balancer(LoadBalancerName=lb, Instances=[{"InstanceId": "127.0.0.1"}])
    conn = http.client.HTTPConnection(dns, LB_PORT, timeout=5)
    wait_until(10, lambda: max_age_seen(conn) is None, "traffic through the new listener")

    create_ms, set_ms, visible_ms = [], [], []
    started = time.perf_counter()
    for i in range(1, CALLS + 1):
        period = 60 + i
        t0 = time.perf_counter()
        elb.create_lb_cookie_stickiness_policy(LoadBalancerName=lb, PolicyName=f"p{i}", CookieExpirationPeriod=period)
        t1 = time.perf_counter()
        elb.set_load_balancer_policies_of_listener(LoadBalancerName=lb, LoadBalancerPort=LB_PORT, PolicyNames=[f"p{i}"])
        t2 = time.perf_counter()
        create_ms.append((t1 - t0) * 1e3)
        set_ms.append((t2 - t1) * 1e3)
        while max_age_seen(conn) != period:
            if time.perf_counter() - t2 > VISIBLE_TIMEOUT_S:
                sys.exit(f"bench/api: policy p{i} not visible on the data plane after {VISIBLE_TIMEOUT_S} s")
        visible_ms.append((time.perf_counter() - t2) * 1e3)
        if i > 1:
            elb.delete_load_balancer_policy(LoadBalancerName=lb, PolicyName=f"p{i - 1}")
    elapsed = time.perf_counter() - started
    api_s = (sum(create_ms) + sum(set_ms)) / 1e3
    print(f"api calls: {CALLS} x CreateLBCookieStickinessPolicy + {CALLS} x SetLoadBalancerPoliciesOfListener")
    print(f"  create  median {statistics.median(create_ms):.2f} ms  p99 {pct(create_ms, 0.99):.2f} ms")
    print(f"  set     median {statistics.median(set_ms):.2f} ms  p99 {pct(set_ms, 0.99):.2f} ms")
    print(f"  calls/s {2 * CALLS / api_s:.0f} (time inside the two calls; {elapsed:.1f} s wall with checks and deletes)")
    print(f"  visible on the data plane after the answer: median {statistics.median(visible_ms):.2f} ms, "
          f"p99 {pct(visible_ms, 0.99):.2f} ms, max {max(visible_ms):.2f} ms (goal: within 50 ms)")

    # Phase 2: policy changes under load.
    elb.create_app_cookie_stickiness_policy(LoadBalancerName=lb, PolicyName="app", CookieName="app")
    cycle = [[f"p{CALLS}"], ["app"], []]
    duration = int(CHANGES * CHANGE_GAP_S + 6)
    wrk = subprocess.Popen(["wrk", "-t1", "-c32", f"-d{duration}s", f"http://{dns}:{LB_PORT}/"],
                           stdout=subprocess.PIPE, text=True)
    procs.append(wrk)
    time.sleep(2)
    for n in range(CHANGES):
        elb.set_load_balancer_policies_of_listener(LoadBalancerName=lb, LoadBalancerPort=LB_PORT,
                                                   PolicyNames=cycle[n % len(cycle)])
        time.sleep(CHANGE_GAP_S)
    out, _ = wrk.communicate(timeout=duration + 30)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(g) for g in m.groups()) if m else 0
    print(f"under load: {CHANGES} policy changes during {requests} requests: "
          f"{non_2xx} non-2xx/3xx, {socket_errors} socket errors (goal: 0 failed)")
    rule_changes()


def body_of(conn, path):
    conn.request("GET", path)
    response = conn.getresponse()
    return response.read().decode()


def rule_changes():
    """Phase 3: ModifyRule on an ALB, and when the data plane follows the answer."""
    elbv2 = boto3.client("elbv2", endpoint_url=f"http://127.0.0.1:{API_PORT}", region_name="us-east-1",
                         aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    lb = elbv2.create_load_balancer(Name="bench-alb", Subnets=["subnet-a"])["LoadBalancers"][0]
    fixed = lambda body: [{"Type": "fixed-response", "FixedResponseConfig": {  # noqa: E731
        "StatusCode": "200", "ContentType": "text/plain", "MessageBody": body}}]
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                                     Port=LB_PORT + 1, DefaultActions=fixed("default"))["Listeners"][0]
    rule = elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=10, Actions=fixed("v0"),
                             Conditions=[{"Field": "path-pattern", "Values": ["/rule/*"]}])["Rules"][0]
    conn = http.client.HTTPConnection(lb["DNSName"], LB_PORT + 1, timeout=5)
    wait_until(10, lambda: body_of(conn, "/rule/x") == "v0", "traffic through the ALB listener")
    call_ms, visible_ms = [], []
    for i in range(1, CALLS + 1):
        t0 = time.perf_counter()
        elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=fixed(f"v{i}"))
        t1 = time.perf_counter()
        call_ms.append((t1 - t0) * 1e3)
        while body_of(conn, "/rule/x") != f"v{i}":
            if time.perf_counter() - t1 > VISIBLE_TIMEOUT_S:
                sys.exit(f"bench/api: rule change {i} not visible on the data plane after {VISIBLE_TIMEOUT_S} s")
        visible_ms.append((time.perf_counter() - t1) * 1e3)
    print(f"elbv2: {CALLS} x ModifyRule  median {statistics.median(call_ms):.2f} ms  p99 {pct(call_ms, 0.99):.2f} ms")
    print(f"  visible on the data plane after the answer: median {statistics.median(visible_ms):.2f} ms, "
          f"p99 {pct(visible_ms, 0.99):.2f} ms, max {max(visible_ms):.2f} ms (goal: within 50 ms at p99)")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
