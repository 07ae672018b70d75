#!/usr/bin/env python3
"""Resident memory a proxy spends per idle keep-alive connection.

Usage: idle_conns.py --port PORT --pids "PID [PID...]" [--count 10000] ...

Steps, each bounded in time:
  1. read the proxy's RSS (VmRSS summed over the given PIDs: all NGINX processes,
     the single burr or HAProxy process, whose VmRSS already covers its threads);
  2. open --count connections to 127.0.0.1:PORT, at most --concurrency being set up at
     once (so the listen backlog never overflows), spread over the source addresses
     127.0.0.2, 127.0.0.3, ... so no single source address runs short of ports;
  3. send one GET on each and read its whole response: an accepted-but-unused socket
     costs a proxy less than a real kept-alive HTTP connection, which is what we want
     to measure;
  4. hold them all idle for --settle seconds (lets the proxy drop surplus upstream
     connections and the allocator settle), count how many the proxy still holds open,
     read RSS again;
  5. print one JSON object and close everything.

kib_per_conn = (rss_after - rss_before) / connections that completed their request.
"""

import argparse
import asyncio
import collections
import json
import resource
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: idle_conns\r\n\r\n"


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


async def read_response(reader):
    """Read one HTTP/1.1 response with a Content-Length body; fail on anything else."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "200":
        raise RuntimeError(f"status {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and "close" in value.lower():
            raise RuntimeError("proxy answered Connection: close")
    if length is None:
        raise RuntimeError("response without Content-Length")
    await reader.readexactly(length)


async def open_one(port, source, gate, timeout, held):
    async with gate:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), timeout
        )
        try:
            writer.write(REQUEST)
            await writer.drain()
            await asyncio.wait_for(read_response(reader), timeout)
        except BaseException:
            writer.close()
            raise
        held.append((reader, writer))


async def run(args):
    pids = [int(p) for p in args.pids.split()]
    sources = [f"127.0.0.{2 + i}" for i in range(args.sources)]
    gate = asyncio.Semaphore(args.concurrency)
    held = []
    errors = collections.Counter()

    before = rss_kib(pids)
    started = time.monotonic()
    tasks = [
        asyncio.ensure_future(
            open_one(args.port, sources[i % len(sources)], gate, args.timeout, held)
        )
        for i in range(args.count)
    ]
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for t in pending:
        t.cancel()
        errors["deadline"] += 1
    for t in done:
        if t.exception() is not None:
            e = t.exception()
            errors[f"{type(e).__name__}: {e}"[:80]] += 1
    opened_in = time.monotonic() - started

    await asyncio.sleep(args.settle)
    still_open = sum(1 for reader, _ in held if not reader.at_eof())
    after = rss_kib(pids)

    for _, writer in held:
        writer.close()
    ok = len(held)
    result = {
        "requested": args.count,
        "ok": ok,
        "failed": args.count - ok,
        "still_open": still_open,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_conn": round((after - before) / ok, 3) if ok else None,
        "open_seconds": round(opened_in, 2),
    }
    if errors:
        result["errors"] = dict(errors.most_common(5))
    print(json.dumps(result), flush=True)
    return 0 if ok == args.count and still_open == ok else 1


async def run_or_report(args):
    """A proxy that goes away mid-measurement yields one JSON error line, not a traceback."""
    try:
        return await run(args)
    except FileNotFoundError as e:
        print(json.dumps({"error": f"proxy process gone: {e.filename}"}), flush=True)
        return 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pids", required=True, help="space-separated PIDs whose RSS is summed")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--sources", type=int, default=10, help="source addresses 127.0.0.2...")
    p.add_argument("--timeout", type=float, default=10.0, help="per connect / per response")
    p.add_argument("--deadline", type=float, default=120.0, help="for opening them all")
    p.add_argument("--settle", type=float, default=3.0)
    args = p.parse_args()

    # One descriptor per connection plus a margin: raise the soft limit to the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return asyncio.run(run_or_report(args))


if __name__ == "__main__":
    sys.exit(main())
