"""
The load generator: N line clients in one asyncio process.

Each client logs in through the server's real dialogue, answering whatever
prompt it is shown (C{Name: }, C{Create it? (yes/no) }, C{Choose a
password...}, C{Repeat the password: }, C{Password: }) until a line
starting C{Exits:} ends the room description.  So the same generator drives
gateway (new or existing accounts) and the bare baseline server, whose
"login" is just C{Name: }.  Telnet negotiation is answered minimally.

Then K of the clients send C{say} lines, each embedding its send time, in a
burst (M lines at once) or paced (R lines per second for D seconds), and
every client counts every C{... says, "..."} line it receives and its
end-to-end latency.  With C{--storm S}, S extra clients sign up or log in
all at once while the paced chat runs.

Protocol with the caller: the generator prints C{READY} once every client
is logged in, waits for one line on standard input, runs the chat, prints
one JSON object with the results, and exits.  With C{--no-wait} it does not
wait.  Every phase has a deadline.
"""

import argparse
import asyncio
import json
import re
import resource
import sys
import time
import zlib

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, MCCP2 = 1, 3, 86

_SAYS = re.compile(rb' says, "b(\d+)"')
_PROMPTS = (
    (b"Name: ", "name"),
    (b"(yes/no) ", "yes"),
    (b"Repeat the password: ", "password"),
    (b"): ", "password"),  # "Choose a password (at least 6 characters): "
    (b"Password: ", "password"),
)


class LoginFailed(Exception):
    pass


def strip_telnet(proto, data):
    """
    Remove telnet commands from C{data}, answering WILL/DO minimally:
    accept the server's ECHO and SGA (and MCCP2 when C{proto.mccp}),
    refuse everything asked of us.  Returns the application bytes; an
    incomplete command is kept for later.  After the MCCP2 start marker
    the rest is inflated.
    """
    data = proto.pending + data
    proto.pending = b""
    out = bytearray()
    i, end = 0, len(data)
    while i < end:
        j = data.find(b"\xff", i)
        if j < 0:
            out += data[i:]
            break
        out += data[i:j]
        if j + 1 >= end:
            proto.pending = data[j:]
            break
        cmd = data[j + 1]
        if cmd == IAC:
            out.append(IAC)
            i = j + 2
        elif cmd in (WILL, WONT, DO, DONT):
            if j + 2 >= end:
                proto.pending = data[j:]
                break
            option = data[j + 2]
            if cmd == WILL:
                reply = DO if option in (ECHO, SGA) or (option == MCCP2 and proto.mccp) else DONT
                proto.transport.write(bytes([IAC, reply, option]))
            elif cmd == DO:
                proto.transport.write(bytes([IAC, WONT, option]))
            elif cmd == WONT:
                proto.transport.write(bytes([IAC, DONT, option]))
            i = j + 3
        elif cmd == SB:
            k = data.find(b"\xff\xf0", j)
            if k < 0:
                proto.pending = data[j:]
                break
            i = k + 2
            if data[j + 2] == MCCP2 and proto.inflater is None:
                proto.inflater = zlib.decompressobj()
                out += strip_telnet(proto, proto.inflater.decompress(data[i:]))
                break
        else:
            i = j + 2
    return bytes(out)


class Client(asyncio.Protocol):
    """
    One simulated player.

    @ivar latencies: end-to-end latencies (ns) of received lines.
    @cvar stamps: finds the send times (ns) in received lines.
    """

    stamps = _SAYS

    def __init__(self, name, password, record, mccp=False):
        self.mccp = mccp
        self.inflater = None
        self.name = name.encode()
        self.password = password.encode()
        self.record = record
        self.pending = b""
        self.buffer = b""
        self.logged_in = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.received = 0
        self.latencies = []
        self.times = []
        self.last_at = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.inflater is not None:
            data = self.inflater.decompress(data)
        if b"\xff" in data or self.pending:
            data = strip_telnet(self, data)
        if self.logged_in.done():
            self._chat(data)
        else:
            self._login(data)

    def _login(self, data):
        self.buffer += data
        buf = self.buffer
        at = buf.find(b"Exits:")
        if at >= 0 and (at == 0 or buf[at - 1:at] == b"\n"):
            end = buf.find(b"\n", at)
            if end < 0:
                return
            self.buffer = b""
            self.logged_in.set_result(time.monotonic())
            self._chat(buf[end + 1:])
            return
        if b"Too many failed" in buf or b"Wrong password" in buf:
            self.logged_in.set_exception(LoginFailed(buf[-200:].decode("utf-8", "replace")))
            self.transport.close()
            return
        for prompt, answer in _PROMPTS:
            if buf.endswith(prompt):
                self.buffer = b""
                value = {"name": self.name, "yes": b"yes", "password": self.password}[answer]
                self.transport.write(value + b"\r\n")
                return

    def _chat(self, data):
        data = self.buffer + data
        cut = data.rfind(b"\n") + 1
        self.buffer = data[cut:]
        if not cut:
            return
        stamps = self.stamps.findall(data, 0, cut)
        if stamps:
            now = time.monotonic_ns()
            self.received += len(stamps)
            self.last_at = now
            if self.record:
                self.latencies.extend([now - int(s) for s in stamps])
                self.times.extend([now] * len(stamps))

    def say_burst(self, count):
        now = time.monotonic_ns()
        self.transport.write(b"".join(b"say b%d\r\n" % (now,) for _ in range(count)))

    def say(self):
        self.transport.write(b"say b%d\r\n" % (time.monotonic_ns(),))

    def connection_lost(self, exc):
        if not self.logged_in.done():
            self.logged_in.set_exception(LoginFailed(f"connection lost: {exc}; saw {self.buffer[-200:]!r}"))
        if not self.closed.done():
            self.closed.set_result(None)


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def latency_summary(latencies_ns):
    ms = [v / 1e6 for v in latencies_ns]
    return {
        "p50_ms": percentile(ms, 0.50),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms) if ms else None,
        "samples": len(ms),
    }


async def connect_all(args, names, record, concurrency, deadline):
    """
    Connect and log in one client per name, C{concurrency} at a time.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    async def one(name):
        async with gate:
            _, client = await loop.create_connection(
                lambda: Client(name, args.password, record, args.mccp), args.host, args.port
            )
            await client.logged_in
            return client

    return await asyncio.wait_for(asyncio.gather(*(one(n) for n in names)), deadline - time.monotonic())


def client_names(prefix, start, count):
    return [f"{prefix}{i}" for i in range(start, start + count)]


async def paced(senders, rate, duration):
    """
    Each sender says one line every 1/rate seconds for C{duration}
    seconds, the senders spread evenly across the period.
    """
    loop = asyncio.get_running_loop()
    period = 1.0 / rate
    start = loop.time()
    sent = 0
    ticks = int(duration * rate)
    for tick in range(ticks):
        for k, sender in enumerate(senders):
            at = start + tick * period + k * period / len(senders)
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sender.say()
            sent += 1
    return sent


async def main_async(args):
    loop = asyncio.get_running_loop()
    result = {"clients": args.clients, "senders": args.senders}
    begin = time.monotonic()
    deadline = begin + args.login_timeout
    names = client_names(args.prefix, 0, args.clients)
    clients = await connect_all(args, names, True, args.concurrency, deadline)
    result["login_s"] = time.monotonic() - begin
    print("READY", flush=True)
    if not args.no_wait:
        await loop.run_in_executor(None, sys.stdin.readline)
    senders = clients[: args.senders]
    listeners = len(clients) - 1
    for c in clients:
        c.received, c.latencies, c.times = 0, [], []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    if args.rate:
        # Paced: latency is read at a few probe clients spread over the
        # arrival order (the last one included); the others leave what they
        # receive in their socket buffers until the end, then count it, so
        # the generator's own reading does not add to the latency measured.
        probes = set(range(0, len(clients), max(1, len(clients) // args.probes)))
        probes.add(len(clients) - 1)
        for i, c in enumerate(clients):
            c.record = i in probes
            if not c.record:
                c.transport.pause_reading()
        storm = None
        if args.storm:
            async def run_storm():
                await asyncio.sleep(args.duration / 4)
                s0 = time.monotonic()
                storm_names = client_names(args.storm_prefix, 0, args.storm)
                storm_clients = await connect_all(args, storm_names, False, args.storm, s0 + args.login_timeout)
                return s0, time.monotonic(), storm_clients
            storm = asyncio.ensure_future(run_storm())
        sent = await paced(senders, args.rate, args.duration)
        expected = sent * listeners
        for c in clients:
            c.transport.resume_reading()
        end = time.monotonic() + args.drain
        while sum(c.received for c in clients) < expected and time.monotonic() < end:
            await asyncio.sleep(0.05)
        if storm is not None:
            s0, s1, storm_clients = await asyncio.wait_for(storm, args.login_timeout)
            during = [
                lat for c in clients for lat, at in zip(c.latencies, c.times) if s0 * 1e9 <= at <= s1 * 1e9
            ]
            result["storm"] = dict(
                latency_summary(during),
                logins=len(storm_clients), seconds=s1 - s0, logins_per_s=len(storm_clients) / (s1 - s0),
            )
            for c in storm_clients:
                c.transport.close()
    else:
        sent = args.lines * len(senders)
        expected = sent * listeners
        for s in senders:
            s.say_burst(args.lines)
        end = t0 + args.drain
        while sum(c.received for c in clients) < expected and time.monotonic() < end:
            await asyncio.sleep(0.01)
    result.update(
        delivery_figures(clients, t0, cpu0), sent=sent, expected=expected,
        wall_s=time.monotonic() - t0,
        compressed_clients=sum(c.inflater is not None for c in clients),
    )
    await report(clients, result)


def delivery_figures(clients, t0, cpu0):
    """
    What C{clients} received since C{t0} (monotonic seconds): lines
    delivered, from C{t0} to the last delivery, their latency, and the
    generator's CPU since C{cpu0} (a C{resource.getrusage} result).
    """
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    delivered = sum(c.received for c in clients)
    last = max((c.last_at for c in clients), default=0) / 1e9
    span = (last - t0) if delivered else None
    return dict(
        delivered=delivered, span_s=span, lines_per_s=(delivered / span if span else None),
        latency=latency_summary([v for c in clients for v in c.latencies]),
        loadgen_cpu_s=(cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
    )


async def report(clients, result):
    """
    Close every client and print C{result} as the generator's one line of
    JSON.
    """
    for c in clients:
        c.transport.close()
    await asyncio.sleep(0)
    print(json.dumps(result), flush=True)


def parser():
    p = argparse.ArgumentParser(description="gateway load generator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", "-n", type=int, default=10)
    p.add_argument("--senders", "-k", type=int, default=1)
    p.add_argument("--lines", "-m", type=int, default=10, help="lines per sender in a burst")
    p.add_argument("--rate", type=float, default=0, help="paced lines/s per sender (0: burst)")
    p.add_argument("--duration", type=float, default=5, help="seconds of paced chat")
    p.add_argument("--drain", type=float, default=30, help="seconds to wait for deliveries")
    p.add_argument("--probes", type=int, default=20, help="clients whose latency is measured in paced chat")
    p.add_argument("--storm", type=int, default=0, help="clients logging in at once during paced chat")
    p.add_argument("--prefix", default="u", help="account name prefix of the chat clients")
    p.add_argument("--storm-prefix", default="s", help="account name prefix of the storm clients")
    p.add_argument("--password", default="benchpass")
    p.add_argument("--concurrency", type=int, default=100, help="logins in flight at once")
    p.add_argument("--login-timeout", type=float, default=120)
    p.add_argument("--mccp", action="store_true", help="accept MCCP2 compression when offered")
    p.add_argument("--no-wait", action="store_true", help="start chatting as soon as everyone is in")
    return p


def run(main_async, parser, argv=None):
    """
    Parse the command line with C{parser()}, raise the file-descriptor
    limit to the hard limit, and run C{main_async(args)}.
    """
    args = parser().parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main_async(args))


def main(argv=None):
    run(main_async, parser, argv)


if __name__ == "__main__":
    main()
