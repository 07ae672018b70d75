"""What the Python benchmarks (bench/api.py, tls.py, rules.py, canary.py, l4.py, workloads.py) share:
the processes they start, stopped on exit, bounded waits, CPU readings, system-call counts and
interleaved rounds. Every wait has a time
limit; a missed one ends the run with the benchmark's name and what did not happen."""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import wrk_result

procs = []
CLK_TCK = os.sysconf("SC_CLK_TCK")


# The global section every bench's HAProxy runs with: one thread (one core's worth, as burr's
# one worker and NGINX's one process), room for the idle-connection phases' connections.
HAPROXY_GLOBAL = """global
    nbthread 1
    maxconn 20000
    no strict-limits
"""


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


def serve_burr(binary, directory, config_text, api_port, name, bench="bench"):
    """Starts `binary` with `config_text` as its config file in `directory` (log and data dir
    there too): one worker, loopback listeners, the API on `api_port`; waits for /healthz."""
    os.makedirs(directory, exist_ok=True)
    conf = os.path.join(directory, "burr.toml")
    with open(conf, "w") as f:
        f.write(config_text)
    log = open(os.path.join(directory, "log"), "w")
    burr = subprocess.Popen([binary, "serve", "--config", conf, "--data-dir", os.path.join(directory, "data"),
                             "--api", f"127.0.0.1:{api_port}", "--workers", "1", "--listen-host", "127.0.0.1"],
                            stdout=log, stderr=log, env=dict(os.environ, BURR_LOG="warn"))
    procs.append(burr)
    wait_until(30, lambda: urllib.request.urlopen(f"http://127.0.0.1:{api_port}/healthz", timeout=1).status == 200,
               f"{name} answering /healthz", bench)
    return burr


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


def children(pid):
    """The PIDs of `pid`'s children (NGINX's workers)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def family_ticks(pid):
    """CPU of `pid` and its children (NGINX's master and worker), in clock ticks."""
    return cpu_ticks(pid) + sum(cpu_ticks(child) for child in children(pid))


def compilers_running():
    """Names of compilers (and perf) running on the machine: a run they overlap is disturbed."""
    out = subprocess.run(["pgrep", "-l", "-x", "cargo|rustc|cc|cc1|ld|perf"], capture_output=True, text=True).stdout
    return sorted({line.split()[1] for line in out.splitlines() if line.strip()})


def strace_counts(pid, run, top_calls=3):
    """System calls of process `pid` (every thread, and every thread of its children: NGINX's
    worker) while `run()` works, per unit of the work `run()` returns: (the total per unit, the
    `top_calls` most frequent calls with theirs). strace is attached before `run()` starts and
    detached after it returns, so the count covers exactly that work plus the proxy's own
    timers over those seconds."""
    threads = []
    for p in [pid] + children(pid):
        threads += [int(t) for t in os.listdir(f"/proc/{p}/task")]
    fd, out = tempfile.mkstemp(prefix="burr-bench-strace.")
    os.close(fd)
    strace = subprocess.Popen(["strace", "-c", "-f", "-o", out] + [a for t in threads for a in ("-p", str(t))],
                              stderr=subprocess.DEVNULL)
    procs.append(strace)
    time.sleep(1.0)  # attached (strace prints nothing on attach we could wait for)
    try:
        units = run()
    finally:
        strace.send_signal(signal.SIGINT)
        try:
            strace.wait(10)
        except subprocess.TimeoutExpired:
            strace.kill()
            strace.wait(5)
    rows = []
    total = 0
    with open(out) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[0].replace(".", "").isdigit() and fields[3].isdigit():
                if fields[-1] == "total":
                    total = int(fields[3])
                else:
                    rows.append((fields[-1], int(fields[3])))
    os.unlink(out)
    units = max(units, 1e-9)
    top = sorted(rows, key=lambda r: -r[1])[:top_calls]
    return total / units, [(c, n / units) for c, n in top]


def interleaved_runs(proxies, rounds, run_once):
    """Every (name, pid, port) of `proxies` `rounds` times, the order rotated each round so no
    proxy always runs first or last on a machine that drifts; the runs by name. `run_once`
    returns a dict of figures; each gets "disturbed": the compilers that ran meanwhile."""
    runs = {name: [] for name, _, _ in proxies}
    for round_ in range(rounds):
        print(f"round {round_ + 1}", flush=True)
        shift = round_ % len(proxies)
        for name, pid, port in proxies[shift:] + proxies[:shift]:
            busy = compilers_running()
            result = run_once(name, pid, port)
            busy = sorted(set(busy) | set(compilers_running()))
            result["disturbed"] = "+".join(busy)
            runs[name].append(result)
            print(f"  {name:13s} " + "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                               for k, v in result.items() if v != ""), flush=True)
            time.sleep(0.3)
    return runs


def run_medians(runs, keys):
    """By name: the median of each of `keys` over the runs, their (min, max) as "range", the
    errors summed and how many runs were disturbed."""
    return {name: {k: statistics.median(r[k] for r in rs) for k in keys} | {
        "errors": sum(r.get("errors", 0) for r in rs),
        "disturbed": sum(1 for r in rs if r["disturbed"]),
        "range": {k: (min(r[k] for r in rs), max(r[k] for r in rs)) for k in keys}} for name, rs in runs.items()}


def print_medians(title, med, keys, cpu_key, runs=None):
    """The medians of `run_medians`, then the ratios of `cpu_key`: burr over each other burr build
    (names starting with "burr", e.g. burr_base), and every burr build over each other proxy and
    over the best of them. With `runs` (of `interleaved_runs`), each ratio also as the median of
    the ratios paired by round, with their min-max: a drift of the machine between rounds moves
    both sides of a pair alike."""
    print(f"\n{title}")
    for name, m in med.items():
        lo, hi = m["range"][cpu_key]
        print(f"  {name:13s} " + "  ".join(f"{k} {m[k]:.4g}" for k in keys) +
              f"  ({cpu_key} {lo:.4g}-{hi:.4g})  errors {m['errors']}" +
              (f"  disturbed runs {m['disturbed']}" if m["disturbed"] else ""))

    def ratio(a, b):
        line = f"  {a}/{b}: {cpu_key} {med[a][cpu_key] / med[b][cpu_key]:.2f}"
        if runs:
            paired = [x[cpu_key] / y[cpu_key] for x, y in zip(runs[a], runs[b])]
            line += (f"  (paired by round: median {statistics.median(paired):.3f}, "
                     f"{min(paired):.3f}-{max(paired):.3f})")
        print(line)

    builds = [n for n in med if n.startswith("burr")]
    others = [n for n in med if not n.startswith("burr")]
    for build in builds:
        if build != "burr" and "burr" in med:
            ratio("burr", build)
    for build in builds:
        for other in others:
            ratio(build, other)
        if len(others) > 1:
            best = min(others, key=lambda n: med[n][cpu_key])
            print(f"  {build}/best ({best}): {cpu_key} {med[build][cpu_key] / med[best][cpu_key]:.2f}")


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
