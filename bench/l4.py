#!/usr/bin/env python3
"""Layer-4 benchmark: burr's TCP and UDP relays against HAProxy `mode tcp` and NGINX `stream`.

Usage: bench/l4     (the wrapper installs haproxy, nginx, libnginx-mod-stream and strace, builds
                     burr and the load tools of bench/l4-tools, runs this)

Every proxy runs one worker in front of the same targets, started from bench/l4-tools:
`tcp-target` (127.0.0.1:19401; short request/reply, upload and download) and `udp-echo`
(127.0.0.1:19402). Phases (PHASES, all by default):

- short: TCP short connections. `tcp-load --mode short`: CONNECTIONS threads, each in a loop
  connect, 100-byte request, 100-byte reply, close, for DURATION s. Per run: connections/s and
  proxy CPU µs per connection.
- bulk: BULK_BYTES (1 GiB) through one connection, client→target (up) and target→client
  (down) separately; per run: GiB/s and proxy CPU ms per GiB. Then, once per proxy and
  direction, `strace -c -f` on every thread of the proxy over a STRACE_BYTES transfer: system
  calls per GiB (and the three most frequent).
- udp: burr (`protocol = "udp"`) against NGINX (`listen ... udp; proxy_responses 1;`),
  `udp-load` with UDP_FLOWS connected sockets (flows) keeping UDP_WINDOW datagrams in flight
  each, recvmmsg/sendmmsg, for DURATION s, at each payload of UDP_SIZES. Per run: echoed
  datagrams per second (one request in and one reply out through the proxy each) and proxy CPU
  µs per echoed datagram; datagrams lost are reported as errors.
- flows: burr's RSS before and after FLOWS flows are opened (one datagram each from distinct
  source addresses 127.0.1.x and ports, answered, then left idle), divided: KiB per flow.

Rounds are interleaved (the order rotated every round), ROUNDS (5) of each; medians. CPU is
utime+stime from /proc of the proxy process (NGINX: master and worker). A run during which a
compiler was running is marked "disturbed".

Every process started here is stopped on exit; every wait and every load is bounded.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import processes
from processes import compilers_running, family_ticks, procs, stop_all

BURR = os.environ.get("BURR_BIN", "target/release/burr")
# Another burr build to compare on the TCP phases (e.g. before a change), as "burr_base".
BASELINE = os.environ.get("BASELINE_BIN", "")
TOOLS = os.environ.get("L4_TOOLS", "target/l4-tools/release")
PROXIES = os.environ.get("PROXIES", "burr haproxy nginx").split()
PHASES = os.environ.get("PHASES", "short bulk idle udp flows").split()
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DURATION = float(os.environ.get("DURATION", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "16"))
BULK_BYTES = int(os.environ.get("BULK_BYTES", str(1 << 30)))
STRACE_BYTES = int(os.environ.get("STRACE_BYTES", str(256 << 20)))
UDP_SIZES = [int(s) for s in os.environ.get("UDP_SIZES", "64 1200").split()]
UDP_FLOWS = int(os.environ.get("UDP_FLOWS", "64"))
UDP_WINDOW = int(os.environ.get("UDP_WINDOW", "8"))
FLOWS = int(os.environ.get("FLOWS", "15000"))
IDLE_CONNS = int(os.environ.get("IDLE_CONNS", "2000"))
TCP_TARGET, UDP_TARGET = "127.0.0.1:19401", "127.0.0.1:19402"
TCP_PORT = {"burr": 18401, "haproxy": 18402, "nginx": 18403, "burr_base": 18406}
UDP_PORT = {"burr": 18404, "nginx": 18405}
API_PORT = {"burr": 18790, "burr_udp": 18791, "burr_base": 18792}
CLK_TCK = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30
TOP_CALLS = int(os.environ.get("TOP_CALLS", "3"))


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/l4")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def tool(name, *args, timeout, check=True):
    """Runs one of bench/l4-tools' programs and returns its JSON line (None when it failed and
    `check` is false; otherwise a failure ends the benchmark)."""
    out = subprocess.run([os.path.join(TOOLS, name), *map(str, args)], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        if not check:
            return None
        sys.exit(f"bench/l4: {name} {' '.join(map(str, args))} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def reachable_tcp(port):
    result = tool("tcp-load", "--target", f"127.0.0.1:{port}", "--mode", "down", "--bytes", 1000, timeout=10,
                  check=False)
    return result is not None and result["complete"]


def reachable_udp(port):
    result = tool("udp-load", "--target", f"127.0.0.1:{port}", "--flows", 1, "--window", 1, "--seconds", 0.3,
                  "--count", 3, timeout=10, check=False)
    return result is not None and result["received"] > 0


# ---- processes ----------------------------------------------------------------------------

def start_targets():
    procs.append(subprocess.Popen([os.path.join(TOOLS, "tcp-target"), "--bind", TCP_TARGET, "--reply-size", "100"]))
    procs.append(subprocess.Popen([os.path.join(TOOLS, "udp-echo"), "--bind", UDP_TARGET]))


def start_burr(work, name, listener, binary=BURR):
    return processes.serve_burr(binary, os.path.join(work, name), f"""[[balancer]]
name = "l4"
address = "127.0.0.1"

{listener}
[[pool]]
name = "targets"
algorithm = "round_robin"
targets = [ {{ address = "{UDP_TARGET if "udp" in listener else TCP_TARGET}" }} ]

[pool.health_check]
enabled = false
""", API_PORT[name], name, bench="bench/l4")


def start_haproxy(work):
    cfg = os.path.join(work, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(f"""{processes.HAPROXY_GLOBAL}defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend l4
    bind 127.0.0.1:{TCP_PORT["haproxy"]}
    default_backend target
backend target
    server t {TCP_TARGET}
""")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(haproxy)
    return haproxy


def start_nginx(work):
    directory = os.path.join(work, "nginx")
    os.makedirs(directory, exist_ok=True)
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1; user root root; daemon off; pid {directory}/nginx.pid;
worker_rlimit_nofile 20000;
error_log {directory}/error.log warn;
events {{ worker_connections 9000; }}
stream {{
  server {{ listen 127.0.0.1:{TCP_PORT["nginx"]}; proxy_pass {TCP_TARGET}; proxy_half_close on; }}
  server {{ listen 127.0.0.1:{UDP_PORT["nginx"]} udp; proxy_pass {UDP_TARGET}; proxy_responses 1; }}
}}
""")
    nginx = subprocess.Popen(["nginx", "-p", directory, "-c", conf])
    procs.append(nginx)
    return nginx


# ---- phases -------------------------------------------------------------------------------

def interleaved(proxies, run_once):
    return processes.interleaved_runs(proxies, ROUNDS, run_once)


def print_table(title, med, keys, cpu_key, runs=None):
    processes.print_medians(f"{title} (medians of {ROUNDS} rounds)", med, keys, cpu_key, runs)


def phase_short(proxies):
    def run_once(name, pid, port):
        t0 = family_ticks(pid)
        r = tool("tcp-load", "--target", f"127.0.0.1:{port}", "--mode", "short", "--connections", CONNECTIONS,
                 "--seconds", DURATION, timeout=DURATION + 30)
        t1 = family_ticks(pid)
        return {"conn_per_s": r["connections"] / r["seconds"],
                "cpu_us_per_conn": (t1 - t0) * 1e6 / CLK_TCK / max(r["connections"], 1), "errors": r["errors"]}
    print(f"\n== TCP short connections: {CONNECTIONS} clients, connect + 100 B + 100 B + close, {DURATION:g} s runs")
    for name, _, port in proxies:  # warm-up, not recorded
        tool("tcp-load", "--target", f"127.0.0.1:{port}", "--mode", "short", "--connections", 4, "--seconds", 1,
             timeout=30)
    runs = interleaved(proxies, run_once)
    med = processes.run_medians(runs, ["conn_per_s", "cpu_us_per_conn"])
    print_table("TCP short connections", med, ["conn_per_s", "cpu_us_per_conn"], "cpu_us_per_conn", runs)
    print("\nSystem calls per connection (strace -c -f, 2 s of 4 clients, every thread of the proxy):")
    for name, pid, port in proxies:
        def run():
            r = tool("tcp-load", "--target", f"127.0.0.1:{port}", "--mode", "short", "--connections", 4,
                     "--seconds", 2, timeout=60)
            return max(r["connections"], 1)
        per_conn, top = strace_counts(pid, run)
        print(f"  {name:8s} {per_conn:6.1f}  ({', '.join(f'{c} {n:.2f}' for c, n in top)})")
    return med


def bulk_once(pid, port, direction, size):
    t0 = family_ticks(pid)
    r = tool("tcp-load", "--target", f"127.0.0.1:{port}", "--mode", direction, "--bytes", size, timeout=300)
    t1 = family_ticks(pid)
    return r, (t1 - t0) / CLK_TCK


def phase_bulk(proxies):
    results = {}
    for direction in ("up", "down"):
        def run_once(name, pid, port):
            r, cpu_s = bulk_once(pid, port, direction, BULK_BYTES)
            return {"gib_per_s": r["bytes"] / GIB / r["seconds"], "cpu_ms_per_gib": cpu_s * 1e3 * GIB / max(r["bytes"], 1),
                    "errors": 0 if r["complete"] else 1}
        print(f"\n== TCP bulk {direction} ({'client→target' if direction == 'up' else 'target→client'}), "
              f"{BULK_BYTES / GIB:g} GiB per run")
        runs = interleaved(proxies, run_once)
        med = processes.run_medians(runs, ["gib_per_s", "cpu_ms_per_gib"])
        print_table(f"TCP bulk {direction}", med, ["gib_per_s", "cpu_ms_per_gib"], "cpu_ms_per_gib", runs)
        results[direction] = med
    results["syscalls"] = {name: {d: strace_calls(pid, port, d) for d in ("up", "down")} for name, pid, port in proxies}
    print(f"\nSystem calls per GiB (strace -c -f over {STRACE_BYTES >> 20} MiB, every thread of the proxy):")
    for name, by_direction in results["syscalls"].items():
        for direction, (per_gib, top) in by_direction.items():
            print(f"  {name:8s} {direction:4s} {per_gib:10.0f}  ({', '.join(f'{c} {n:.0f}' for c, n in top)})")
    return results


def strace_counts(pid, run):
    return processes.strace_counts(pid, run, TOP_CALLS)


def strace_calls(pid, port, direction):
    """System calls per GiB over one STRACE_BYTES transfer."""
    def run():
        tool("tcp-load", "--target", f"127.0.0.1:{port}", "--mode", direction, "--bytes", STRACE_BYTES, timeout=300)
        return STRACE_BYTES / GIB
    return strace_counts(pid, run)


def meminfo_kib(field):
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def pipes_of(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return count


def kernel_kib_per_pipe(count=2000):
    """Kernel memory (slab) an empty pipe takes on this machine, from `count` made here."""
    before = meminfo_kib("Slab")
    made = [os.pipe() for _ in range(count)]
    after = meminfo_kib("Slab")
    for r, w in made:
        os.close(r)
        os.close(w)
    return (after - before) / count


def phase_idle(proxies):
    """burr's memory per idle TCP connection: after a short upload (copy path, no pipe) and after
    a 64 KiB one (spliced: a pipe on the client→target direction), RSS delta per connection and
    pipes per connection; the kernel memory of a pipe is measured on the spot."""
    import socket
    per_pipe = kernel_kib_per_pipe()
    print(f"\n== Idle TCP connections: {IDLE_CONNS} per case; an empty pipe costs {per_pipe:.2f} KiB of kernel slab here")
    results = {}
    for name, pid, port in proxies:
        if not name.startswith("burr"):
            continue
        # The first pass shows what the connections cost a process that had not held as many;
        # the second reuses the memory the first freed, so its RSS is a lower bound: it is there
        # for the pipes.
        for label, first in (("after 100 B", 100), ("after 64 KiB", 64 << 10)):
            before_rss, before_pipes = rss_kib(pid), pipes_of(pid)
            payload = b"U" + b"i" * first
            conns = []
            for _ in range(IDLE_CONNS):
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                c.sendall(payload)
                conns.append(c)
            time.sleep(1.5)
            rss, pipes = rss_kib(pid) - before_rss, pipes_of(pid) - before_pipes
            for c in conns:
                c.close()
            per_conn = rss / IDLE_CONNS
            pipes_per_conn = pipes / 2 / IDLE_CONNS  # two descriptors per pipe
            results[(name, label)] = (per_conn, pipes_per_conn)
            print(f"  {name:9s} {label:13s} RSS {per_conn:6.2f} KiB/conn, pipes {pipes_per_conn:.2f}/conn "
                  f"(+ {pipes_per_conn * per_pipe:.2f} KiB kernel)", flush=True)
            time.sleep(1.5)
    return results


def phase_udp(proxies):
    results = {}
    for size in UDP_SIZES:
        def run_once(name, pid, port):
            t0 = family_ticks(pid)
            r = tool("udp-load", "--target", f"127.0.0.1:{port}", "--flows", UDP_FLOWS, "--window", UDP_WINDOW,
                     "--size", size, "--seconds", DURATION, timeout=DURATION + 30)
            t1 = family_ticks(pid)
            return {"dgram_per_s": r["received"] / r["seconds"],
                    "cpu_us_per_dgram": (t1 - t0) * 1e6 / CLK_TCK / max(r["received"], 1), "errors": r["lost"]}
        print(f"\n== UDP echo, {size}-byte payloads, {UDP_FLOWS} flows × {UDP_WINDOW} in flight, {DURATION:g} s runs")
        for name, _, port in proxies:  # warm-up
            tool("udp-load", "--target", f"127.0.0.1:{port}", "--flows", UDP_FLOWS, "--size", size, "--seconds", 1,
                 timeout=30)
        runs = interleaved(proxies, run_once)
        med = processes.run_medians(runs, ["dgram_per_s", "cpu_us_per_dgram"])
        print_table(f"UDP {size} B", med, ["dgram_per_s", "cpu_us_per_dgram"], "cpu_us_per_dgram", runs)
        results[size] = med
    return results


def phase_flows(burr_udp):
    port = UDP_PORT["burr"]
    print(f"\n== UDP flow memory: {FLOWS} flows opened through burr, left idle")
    time.sleep(1)
    before = rss_kib(burr_udp.pid)
    r = tool("udp-load", "--target", f"127.0.0.1:{port}", "--open-flows", FLOWS, "--sources",
             "127.0.1.1-127.0.1.20", timeout=600)
    time.sleep(2)
    after = rss_kib(burr_udp.pid)
    fds = len(os.listdir(f"/proc/{burr_udp.pid}/fd"))
    per_flow = (after - before) / max(r["answered"], 1)
    print(f"  opened {r['opened']}, answered {r['answered']}, burr RSS {before} → {after} KiB, "
          f"{fds} descriptors open: {per_flow:.2f} KiB per flow")
    return per_flow


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-l4.")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}; compilers running: {compilers_running() or 'none'}")
    start_targets()
    running = {}
    if "burr" in PROXIES and {"short", "bulk", "idle"} & set(PHASES):
        running["burr"] = start_burr(work, "burr", f'[[balancer.listener]]\nport = {TCP_PORT["burr"]}\n'
                                                   f'protocol = "tcp"\npool = "targets"\n')
    if BASELINE and {"short", "bulk", "idle"} & set(PHASES):
        running["burr_base"] = start_burr(work, "burr_base", f'[[balancer.listener]]\nport = {TCP_PORT["burr_base"]}\n'
                                                             f'protocol = "tcp"\npool = "targets"\n', BASELINE)
    if "burr" in PROXIES and {"udp", "flows"} & set(PHASES):
        running["burr_udp"] = start_burr(work, "burr_udp", f'[[balancer.listener]]\nport = {UDP_PORT["burr"]}\n'
                                                           f'protocol = "udp"\npool = "targets"\n')
    if "haproxy" in PROXIES:
        running["haproxy"] = start_haproxy(work)
    if "nginx" in PROXIES:
        running["nginx"] = start_nginx(work)
    tcp = [(n, running[n].pid, TCP_PORT[n]) for n in ("burr", "burr_base", "haproxy", "nginx") if n in running]
    udp = [(n, running[k].pid, UDP_PORT[n]) for n, k in (("burr", "burr_udp"), ("nginx", "nginx")) if k in running]
    if {"short", "bulk", "idle"} & set(PHASES):
        for name, _, port in tcp:
            wait_until(10, lambda: reachable_tcp(port), f"{name} relaying TCP on {port}")
    if {"udp", "flows"} & set(PHASES):
        for name, _, port in udp:
            wait_until(10, lambda: reachable_udp(port), f"{name} relaying UDP on {port}")
    if "short" in PHASES:
        phase_short(tcp)
    if "bulk" in PHASES:
        phase_bulk(tcp)
    if "idle" in PHASES:
        phase_idle(tcp)
    if "udp" in PHASES:
        phase_udp(udp)
    if "flows" in PHASES and "burr_udp" in running:
        phase_flows(running["burr_udp"])
    print(f"\nload average at end {' '.join(open('/proc/loadavg').read().split()[:3])}")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
