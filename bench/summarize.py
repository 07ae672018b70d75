#!/usr/bin/env python3
"""Print the tables of a benchmark run from its raw CSV files.

Usage:
    summarize.py throughput RUNS.csv   medians per proxy over rounds, then burr's ratios
    summarize.py memory MEMORY.csv     RSS growth per idle keep-alive connection
    summarize.py sticky STICKY.csv     medians of the sticky phase, then what stickiness costs
                                       burr (sticky / non-sticky) and burr's ratios to HAProxy,
                                       as ratios of medians and as medians of ratios paired by
                                       round

Medians, not means: the machine is shared and noisy, and one disturbed round should
not move the figure. The min-max spread of each proxy's CPU per request is printed
too, so a reader can see how much the rounds disagreed.
"""

import csv
import statistics
import sys


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def medians_table(rows):
    """Prints one line of medians per proxy; returns (proxies in run order, medians)."""
    proxies = list(dict.fromkeys(r["proxy"] for r in rows))  # in run order
    med = {}
    print(f"{'proxy':<13} {'runs':>4} {'req/s':>10} {'p50 µs':>9} {'p99 µs':>9} "
          f"{'CPU µs/req':>11}  {'(min-max)':<14} {'errors':>6}")
    for p in proxies:
        rs = [r for r in rows if r["proxy"] == p]
        col = lambda k: [float(r[k]) for r in rs]  # noqa: E731
        m = {k: statistics.median(col(k)) for k in ("rps", "p50_us", "p99_us", "cpu_us_per_req")}
        med[p] = m
        cpu = col("cpu_us_per_req")
        errors = sum(int(r["non2xx"]) + int(r["socket_errors"]) for r in rs)
        spread = f"({min(cpu):.2f}-{max(cpu):.2f})"
        print(f"{p:<13} {len(rs):>4} {m['rps']:>10.0f} {m['p50_us']:>9.0f} {m['p99_us']:>9.0f} "
              f"{m['cpu_us_per_req']:>11.2f}  {spread:<14} {errors:>6}")
    disturbed = [r for r in rows if r.get("disturbed_by")]
    if disturbed:
        names = sorted({n for r in disturbed for n in r["disturbed_by"].split("+")})
        print(f"note: {len(disturbed)} of {len(rows)} runs had a compiler running "
              f"({', '.join(names)}): their figures are disturbed.")
    return proxies, med


def print_ratios(pairs, med):
    print(f"{'':<26} {'CPU µs/req':>11} {'req/s':>8} {'p99':>8}")
    for a, b in pairs:
        x, y = med[a], med[b]
        ratio = lambda k: x[k] / y[k] if y[k] else float("nan")  # noqa: E731
        print(f"{a + '/' + b:<26} {ratio('cpu_us_per_req'):>11.3f} "
              f"{ratio('rps'):>8.3f} {ratio('p99_us'):>8.3f}")


def throughput(path):
    proxies, med = medians_table(read_rows(path))
    if "burr" in med:
        others = [p for p in proxies if p != "burr"]
        if others:
            print()
            print("Ratios of medians (burr / other; CPU per request: lower is better for burr,")
            print("req/s: higher is better for burr):")
            print_ratios([("burr", o) for o in others], med)


def paired_cpu_ratios(rows, a, b):
    """CPU per request of `a` over `b`, one ratio per round in which both ran."""
    by_round = {}
    for r in rows:
        by_round.setdefault(r["round"], {})[r["proxy"]] = float(r["cpu_us_per_req"])
    return [x[a] / x[b] for x in by_round.values() if a in x and b in x and x[b] > 0]


def print_paired(pairs, rows):
    print(f"{'':<26} {'median':>7} {'(min-max)':<15} {'rounds':>6}")
    for a, b in pairs:
        ratios = paired_cpu_ratios(rows, a, b)
        if ratios:
            spread = f"({min(ratios):.3f}-{max(ratios):.3f})"
            print(f"{a + '/' + b:<26} {statistics.median(ratios):>7.3f} {spread:<15} "
                  f"{len(ratios):>6}")


def sticky(path):
    rows = read_rows(path)
    proxies, med = medians_table(rows)
    # burr_bytes is the control: no stickiness, ALB-sized cookies set by the backends.
    variants = [p for p in proxies if p.startswith("burr_") and p != "burr_bytes"]
    sections = [
        ("burr", variants, "What stickiness costs burr (sticky / non-sticky; goal: CPU ≤ 1.05)"),
        ("burr_bytes", ["burr_alb"] if "burr_alb" in med else [],
         "ALB stickiness / burr without stickiness relaying cookies of the same size (what\n"
         "the sticky work costs beyond the bytes ALB's two cookies put on the wire)"),
        ("burr", ["burr_bytes"] if "burr_bytes" in med else [],
         "What those bytes alone cost (control / non-sticky)"),
        ("haproxy", variants,
         "burr with LB-cookie stickiness / HAProxy cookie insert (goal: CPU ≤ 1.0)"),
    ]
    for baseline, compared, title in sections:
        if baseline in med and compared:
            pairs = [(v, baseline) for v in compared]
            print()
            print(f"{title}:")
            print_ratios(pairs, med)
            print("CPU per request paired by round (each run over the same round's baseline):")
            print_paired(pairs, rows)


def memory(path):
    rows = read_rows(path)
    print(f"{'proxy':<9} {'conns ok':>8} {'failed':>6} {'held':>6} {'RSS before':>11} "
          f"{'RSS after':>11} {'KiB/conn':>9}")
    for r in rows:
        per = r["kib_per_conn"]
        per = f"{float(per):.2f}" if per not in ("", "None") else "-"
        print(f"{r['proxy']:<9} {r['ok']:>8} {r['failed']:>6} {r['still_open']:>6} "
              f"{r['rss_before_kib'] + ' KiB':>11} {r['rss_after_kib'] + ' KiB':>11} {per:>9}")


def main():
    modes = {"throughput": throughput, "memory": memory, "sticky": sticky}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    modes[sys.argv[1]](sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
