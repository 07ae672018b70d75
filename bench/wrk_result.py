#!/usr/bin/env python3
"""Read the output of `wrk --latency` and print the numbers the harness needs.

Usage: wrk_result.py FILE

Prints one line, space-separated:
    requests  requests_per_s  p50_us  p99_us  non_2xx_3xx  socket_errors

wrk prints latencies with a unit (us, ms, s, m, h); every latency is converted to
microseconds so rows from different runs compare directly. A run wrk could not
complete (no "requests in" line) exits 1, so the caller notices instead of recording
zeros.
"""

import re
import sys

UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def to_us(value: str, unit: str) -> float:
    return float(value) * UNIT_US[unit]


def parse(text: str) -> dict:
    out = {}
    m = re.search(r"^\s*(\d+) requests in ", text, re.M)
    if not m:
        raise ValueError("no 'N requests in' line: wrk did not finish a run")
    out["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(rf"^\s+{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
        out[key] = to_us(m.group(1), m.group(2)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    out["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    return out


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        r = parse(text)
    except ValueError as e:
        print(f"wrk_result: {e}", file=sys.stderr)
        return 1
    print(
        f"{r['requests']} {r['rps']:.1f} {r['p50_us']:.1f} {r['p99_us']:.1f} "
        f"{r['non2xx']} {r['socket_errors']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
