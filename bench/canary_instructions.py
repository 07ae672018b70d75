"""Instructions per request of burr's canary split, counted by callgrind, for when timings are
too noisy to tell a few per cent (bench/canary.py's CPU ratios straddle the 1.05 goal on a shared
machine; instruction counts repeat to a fraction of a per cent).

For each front end of bench/canary.py (the primary with a SingleWeight 0.05 sticky policy, and
the same front end without a policy), burr (BURR_BIN, a release build) runs under
`valgrind --tool=callgrind`; one keep-alive client that keeps its session cookie, as
bench/sticky.lua does, sends WARM_UP requests, the counters are zeroed (`callgrind_control
--zero`), REQUESTS more requests are sent, and the counters are dumped: the dump holds the
instructions of those requests only, in every thread of burr (the clock thread included).
Reported: instructions per request of each, and their ratio (the goal of issue 16: ≤ 1.05).

Run from the repository root: `python3 bench/canary_instructions.py` (needs valgrind and nginx).
"""

import glob
import http.client
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary  # noqa: E402
import processes  # noqa: E402
from processes import procs, stop_all  # noqa: E402

WARM_UP = int(os.environ.get("WARM_UP", "500"))
REQUESTS = int(os.environ.get("REQUESTS", "5000"))


def start_under_callgrind(work, name, config_text, api):
    directory = os.path.join(work, name)
    os.makedirs(directory)
    config = os.path.join(directory, "burr.toml")
    with open(config, "w") as f:
        f.write(config_text)
    out = os.path.join(directory, "callgrind.out")
    log = open(os.path.join(directory, "log"), "w")
    burr = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--compress-strings=no", f"--callgrind-out-file={out}",
         canary.BURR, "serve", "--config", config, "--data-dir", os.path.join(directory, "data"),
         "--api", f"127.0.0.1:{api}", "--listen-host", "127.0.0.1", "--workers", "1"],
        env=dict(os.environ, BURR_LOG="warn"), stdout=log, stderr=log)
    procs.append(burr)
    return burr, out


def requests(port, count, cookie):
    """Sends `count` GETs on one connection, keeping the session cookie; returns the cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        headers = {"Cookie": cookie} if cookie else {}
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"bench/canary_instructions: status {response.status}")
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            cookie = set_cookie.split(";", 1)[0]
    connection.close()
    return cookie


def dumped_instructions(out, pid):
    """The `Ir` total of the dump callgrind_control made of process `pid`."""
    dumps = sorted(glob.glob(f"{out}.*"), key=os.path.getmtime)
    if not dumps:
        raise SystemExit(f"bench/canary_instructions: no callgrind dump of {pid} ({out}.*)")
    total = 0
    for dump in dumps:
        with open(dump) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = max(total, int(line.split()[1]))
                    break
    return total


def measure(work, name, config_text, port, api):
    burr, out = start_under_callgrind(work, name, config_text, api)
    processes.wait_until(120, lambda: canary.answers(port), f"{name} answering under callgrind",
                         bench="bench/canary_instructions")
    cookie = requests(port, WARM_UP, None)
    subprocess.run(["callgrind_control", "--zero", str(burr.pid)], check=True,
                   capture_output=True, timeout=60)
    requests(port, REQUESTS, cookie)
    subprocess.run(["callgrind_control", "--dump", str(burr.pid)], check=True,
                   capture_output=True, timeout=60)
    time.sleep(1)
    instructions = dumped_instructions(out, burr.pid)
    burr.terminate()
    burr.wait(timeout=60)
    per_request = instructions / REQUESTS
    print(f"  {name:11s} {per_request:10.0f} instructions/request ({REQUESTS} requests)", flush=True)
    return per_request


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-canary-instr.")
    canary.start_origin(work, "primary", canary.PRIMARY_PORT)
    canary.start_origin(work, "staging", canary.STAGING_PORT)
    print(f"callgrind, one keep-alive client keeping its cookie, {WARM_UP} requests of warm-up, "
          f"{REQUESTS} counted")
    split = measure(work, "burr-split", canary.split_config(0.05), canary.SPLIT_PORT,
                    canary.SPLIT_API)
    plain = measure(work, "burr-plain", canary.plain_config(), canary.PLAIN_PORT,
                    canary.PLAIN_API)
    print(f"\ninstructions per request: split / plain {split / plain:.3f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
