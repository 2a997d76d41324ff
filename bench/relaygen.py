"""
The relay benchmark's clients: N telnet clients in one asyncio process,
connected through a relay (gateway on an upstream listener, or the bare
port forwarder) to L{bench.relay_upstream}.

Each client waits for the game's C{welcome}; then the generator prints
C{READY}, waits for one line on standard input, and runs one phase:

  - paced (C{--rate R --duration D}): every client asks the game for R
    lines a second for D seconds; latency (game send to client receipt)
    is read at C{--probes} clients, the others leave what they receive in
    their socket buffers and count it at the end, so that the generator's
    own reading is not most of what is measured;
  - flood (C{--lines M}): every client asks for M lines at once; the
    throughput is lines delivered over the time from the request to the
    last delivery.

It prints one JSON object with the results and exits.  Telnet negotiation
is answered as L{bench.loadgen} does.  Every phase has a deadline.
"""

import argparse
import asyncio
import re
import resource
import sys
import time

from bench.loadgen import Client, delivery_figures, report, run

_STAMP = re.compile(rb"t(\d+) ")


class RelayedClient(Client):
    """
    One relayed player: a L{Client} whose login is the game's C{welcome}
    and whose lines carry the game's send time.
    """

    stamps = _STAMP

    def __init__(self):
        super().__init__("", "", True)

    def _login(self, data):
        self.buffer += data
        at = self.buffer.find(b"welcome\r\n")
        if at >= 0:
            rest, self.buffer = self.buffer[at + len(b"welcome\r\n"):], b""
            self.logged_in.set_result(time.monotonic())
            self._chat(rest)


async def connect_all(args, deadline):
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(args.concurrency)

    async def one():
        async with gate:
            _, client = await loop.create_connection(RelayedClient, args.host, args.port)
            await client.logged_in
            return client

    return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(args.clients))), deadline - time.monotonic())


async def main_async(args):
    loop = asyncio.get_running_loop()
    begin = time.monotonic()
    clients = await connect_all(args, begin + args.connect_timeout)
    result = {"clients": len(clients), "connect_s": time.monotonic() - begin}
    print("READY", flush=True)
    if not args.no_wait:
        await loop.run_in_executor(None, sys.stdin.readline)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    if args.rate:
        probes = set(range(0, len(clients), max(1, len(clients) // args.probes)))
        expected = int(args.rate * args.duration) * len(clients)
        for i, c in enumerate(clients):
            c.record = i in probes
            c.transport.write(b"tick %g %g\r\n" % (args.rate, args.duration))
            if not c.record:
                c.transport.pause_reading()
        await asyncio.sleep(args.duration + 1.0 / args.rate)
        for c in clients:
            c.transport.resume_reading()
    else:
        expected = args.lines * len(clients)
        for c in clients:
            c.transport.write(b"flood %d\r\n" % (args.lines,))
    end = time.monotonic() + args.drain
    while sum(c.received for c in clients) < expected and time.monotonic() < end:
        await asyncio.sleep(0.01)
    result.update(delivery_figures(clients, t0, cpu0), expected=expected)
    await report(clients, result)


def parser():
    p = argparse.ArgumentParser(description="relay benchmark clients")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", "-n", type=int, default=10)
    p.add_argument("--rate", type=float, default=0, help="paced lines/s per client (0: flood)")
    p.add_argument("--duration", type=float, default=5, help="seconds of paced lines")
    p.add_argument("--lines", "-m", type=int, default=100, help="lines per client in a flood")
    p.add_argument("--probes", type=int, default=20, help="clients whose latency is measured when paced")
    p.add_argument("--drain", type=float, default=30, help="seconds to wait for deliveries")
    p.add_argument("--concurrency", type=int, default=100, help="connections being opened at once")
    p.add_argument("--connect-timeout", type=float, default=120)
    p.add_argument("--no-wait", action="store_true", help="start as soon as every client is in")
    return p


def main(argv=None):
    run(main_async, parser, argv)


if __name__ == "__main__":
    main()
