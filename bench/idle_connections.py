#!/usr/bin/env python3
"""Opens N keep-alive connections to a proxy, sends one request on each and reads the answer
(so every connection is a real, used keep-alive connection), then holds them idle and prints
"READY <n>" on stdout; it keeps them open until stdin closes or the hold time ends.

Spreads connections over source addresses 127.0.0.2, 127.0.0.3, ... (10,000 per address at most)
so the ephemeral port range is never the limit.
"""
import asyncio
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


async def open_one(port, source, held):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(REQUEST)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head[:40])
    await reader.readexactly(length)
    held.append(writer)


async def main(port, count, hold_seconds):
    held = []
    batch = 500
    for start in range(0, count, batch):
        tasks = []
        for i in range(start, min(start + batch, count)):
            source = f"127.0.0.{2 + i // 10000}"
            tasks.append(open_one(port, source, held))
        await asyncio.gather(*tasks)
    print(f"READY {len(held)}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([stdin_closed, asyncio.ensure_future(asyncio.sleep(hold_seconds))],
                       return_when=asyncio.FIRST_COMPLETED)
    for w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 120))
