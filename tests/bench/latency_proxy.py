#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that adds latency to requests (compare.sh's ttfb section).

Every connection to the proxy gets its own connection to the upstream port. What the client
sends is held DELAY ms after it arrived and then forwarded, in order; what the upstream sends
back is forwarded at once. So every HTTP request (a client->server chunk) reaches the origin
DELAY ms late: one added delay per request, as a round trip of DELAY ms would add to it. Not
modelled: the TCP handshake (connect() to the proxy completes at once, where a real round trip
of DELAY ms would add DELAY to every new connection), bandwidth, loss.

Usage: latency_proxy.py --upstream PORT [--delay-ms 20] [--port-file FILE]
The proxy listens on a free port of 127.0.0.1 and writes it to --port-file (and stdout).
"""
import argparse
import asyncio
import os
import signal
import time


async def delayed(reader, writer, delay):
    """client -> upstream: each chunk forwarded `delay` s after it arrived, in order."""
    queue = asyncio.Queue()

    async def forward():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(forward())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                break
        await sender
    finally:
        sender.cancel()


async def direct(reader, writer):
    """upstream -> client, at once."""
    while True:
        data = await reader.read(262144)
        if not data:
            if writer.can_write_eof():
                writer.write_eof()
            return
        writer.write(data)
        await writer.drain()


async def handle(client_r, client_w, upstream, delay):
    try:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        client_w.close()
        return
    tasks = [asyncio.ensure_future(delayed(client_r, up_w, delay)),
             asyncio.ensure_future(direct(up_r, client_w))]
    try:
        # both directions end (EOF each way), or an error on either side ends both
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        pass
    finally:
        for t in tasks:
            t.cancel()
            if t.done() and not t.cancelled():
                t.exception()  # retrieved: no "exception was never retrieved" warning
        for w in (up_w, client_w):
            w.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", type=int, required=True, help="port of the origin on 127.0.0.1")
    ap.add_argument("--delay-ms", type=float, default=20.0, help="delay per request (default 20)")
    ap.add_argument("--port-file", help="write the listening port here")
    args = ap.parse_args()
    delay = args.delay_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args.upstream, delay), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
