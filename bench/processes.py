"""What the Python benchmarks (bench/api.py, tls.py, rules.py, canary.py) share: the processes they
start, stopped on exit, bounded waits, CPU readings and interleaved rounds. Every wait has a time
limit; a missed one ends the run with the benchmark's name and what did not happen."""

import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import wrk_result

procs = []
CLK_TCK = os.sysconf("SC_CLK_TCK")


def stop_all():
    """SIGTERM to every process started, up to 5 s of grace each, then SIGKILL."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_until(timeout, check, what, bench="bench"):
    """Polls `check` every 50 ms for at most `timeout` seconds (an OSError counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{bench}: {what} did not happen within {timeout} s")


def start_nginx_target(work, port, location, bench="bench"):
    """One NGINX worker on 127.0.0.1:`port` whose `location /` block is `location` (e.g.
    `return 200 "ok\\n";`), no access log, keep-alive without a request limit; waits until it
    answers 200."""
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; user root root; daemon off; pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; location / {{ {location} }} }} }}
""")
    procs.append(subprocess.Popen(["nginx", "-p", work, "-c", conf]))
    wait_until(10, lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200,
               "the NGINX target answering", bench)


def cpu_ticks(pid):
    """User plus system CPU of process `pid` so far, in clock ticks (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def interleaved_medians(proxies, rounds, run_once, label_width=12, unit="req"):
    """Measures every (name, pid, port) of `proxies` `rounds` times, the order rotated each round
    so no proxy always runs first or last on a machine that drifts; `run_once(name, pid, port)`
    returns (per second, CPU µs per unit, errors). Prints and returns, by name, the medians of
    the first two and the sum of the errors."""
    results = {name: [] for name, _, _ in proxies}
    for round_ in range(rounds):
        print(f"round {round_ + 1}")
        shift = round_ % len(proxies)
        for name, pid, port in proxies[shift:] + proxies[:shift]:
            results[name].append(run_once(name, pid, port))
            time.sleep(0.5)
    median = {name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                     sum(r[2] for r in runs)) for name, runs in results.items()}
    print("\nmedians:")
    for name, (per_s, cpu_us, errors) in median.items():
        print(f"  {name:{label_width}s} {per_s:8.0f} {unit}/s  CPU {cpu_us:6.2f} µs/{unit}  "
              f"errors {errors}")
    return median


def wrk(url, duration, connections, extra=()):
    """One `wrk -t1` run against `url` (HTTP/1.1 keep-alive; `extra`: more wrk arguments, e.g.
    a Lua script); its text output."""
    return subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", *extra, url],
        capture_output=True, text=True, timeout=duration + 30).stdout


def measured_wrk(name, pid, url, duration, connections, extra=(), label_width=12):
    """A `wrk` run with process `pid`'s CPU read around it. Prints and returns (requests per
    second, CPU µs per request, errors: non-2xx answers and socket errors)."""
    t0 = cpu_ticks(pid)
    out = wrk(url, duration, connections, extra)
    t1 = cpu_ticks(pid)
    result = wrk_result.parse(out)
    requests = result["requests"]
    errors = result["non2xx"] + result["socket_errors"]
    per_s = requests / duration
    cpu_us = (t1 - t0) * 1e6 / CLK_TCK / max(requests, 1)
    print(f"  {name:{label_width}s} {per_s:8.0f} req/s  CPU {cpu_us:6.2f} µs/req  errors {errors}",
          flush=True)
    return per_s, cpu_us, errors
