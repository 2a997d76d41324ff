"""
Processes for a benchmark run: the two servers under test, the load
generator, and the scenarios that drive them.

Every scenario runs once against gateway and once against the bare
baseline server (L{bench.baseline_server}) and returns rows of
C{(metric, gateway figure, baseline figure)}.  Every process wait has a
deadline, so a run always ends.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import argon2
import psutil

from bench.gatewayd import cheap_hasher
from tests.daemon import ROOT, Daemon

PYTHON = sys.executable
BENCH = ROOT / "bench"
ENDPOINT = "tcp:0:interface=127.0.0.1:backlog=1024"
PASSWORD = "benchpass"

#: What the benchmarks change in etc/gateway.toml.  Every client comes from
#: 127.0.0.1, so the per-address caps and throttles would stop all but a
#: few; the fan-out burst sends 100 commands at once, which the per-session
#: command rate would spread over ten seconds (measuring the throttle, not
#: the fan-out); and the scale scenario needs more than the default total.
BENCH_SETTINGS = {
    "trusted_addresses = []": 'trusted_addresses = ["127.0.0.1"]',
    "max_connections = 5000": "max_connections = 20000",
    "commands_per_second = 10": "commands_per_second = 1000",
    "command_burst = 20": "command_burst = 1000",
}


class BenchError(Exception):
    """
    A server or the generator did not behave; the message says which.
    """


class Measured:
    """
    What both servers offer: a port, and the process's memory and CPU.
    """

    def rss(self):
        """
        Resident memory of the server process, in bytes.
        """
        return self.ps.memory_info().rss

    def cpu(self):
        """
        User + system CPU seconds the server process has used.
        """
        t = self.ps.cpu_times()
        return t.user + t.system


class BaselineServer(Measured):
    """
    The bare Twisted broadcast server in its own process.
    """

    name = "baseline"

    def __init__(self, script="baseline_server.py", args=()):
        """
        @param script: the server in L{BENCH} to run (L{bench.tls_baseline}
            for the TLS scenario).
        @param args: its command line arguments.
        """
        self.script = script
        self.args = list(args)

    def start(self, timeout=30):
        self.process = subprocess.Popen(
            [PYTHON, str(BENCH / self.script)] + self.args, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        line = _readline(self.process, timeout)
        if not line.startswith("PORT "):
            self.stop()
            raise BenchError(f"baseline server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.ps = psutil.Process(self.process.pid)
        return self

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _BenchDaemon(Daemon):
    """
    L{Daemon} started through L{bench.gatewayd} (raised fd limit, optional
    cheap hashing).
    """

    def __init__(self, data_dir, cheap_hash, count_metrics=True, **kwargs):
        super().__init__(data_dir, **kwargs)
        self.cheap_hash = cheap_hash
        self.count_metrics = count_metrics

    def command(self):
        twistd = super().command()[3:]  # after: python -c "...run()"
        options = (["--cheap-hash"] if self.cheap_hash else []) + ([] if self.count_metrics else ["--no-metrics"])
        return [PYTHON, str(BENCH / "gatewayd.py")] + options + ["--"] + twistd


class GatewayServer(Measured):
    """
    The real daemon on its default configuration, one telnet listener on
    an ephemeral loopback port, with accounts created beforehand.

    @ivar accounts: names of accounts to create before start, all with the
        password L{PASSWORD}.
    @ivar cheap_hash: whether the daemon hashes with L{bench.gatewayd.CHEAP_HASH}
        (the accounts are then created with it too) or the real defaults.
    """

    name = "gateway"

    def __init__(self, accounts=(), cheap_hash=True, nodelay=False, listener="telnet", metrics=None, extra=""):
        """
        @param listener: the one configured listener to serve (on an
            ephemeral port): C{"telnet"}, or C{"telnet-tls"} for the TLS
            scenario, or one that C{extra} adds.
        @param metrics: L{None} for the daemon as it is; C{True} to serve
            the metrics listener too (its port in C{metrics_port});
            C{False} for a daemon whose metrics count nothing (see
            L{bench.gatewayd.without_metrics}).
        @param extra: TOML tables added to the configuration.
        """
        self.accounts = list(accounts)
        self.cheap_hash = cheap_hash
        self.nodelay = nodelay
        self.listener = listener
        self.metrics = metrics
        self.extra = extra

    def start(self, timeout=60):
        self._tmp = tempfile.TemporaryDirectory(prefix="gateway-bench-")
        data = Path(self._tmp.name) / "data"
        hasher = cheap_hasher() if self.cheap_hash else argon2.PasswordHasher()
        create_accounts(data, self.accounts, hasher.hash(PASSWORD))
        listen = [f"{self.listener}={ENDPOINT}"] + ([f"metrics={ENDPOINT}"] if self.metrics else [])
        self.daemon = _BenchDaemon(
            data, self.cheap_hash, self.metrics is not False, config=self._config(Path(self._tmp.name)), listen=listen,
        )
        self.daemon.start(expect=len(listen), timeout=timeout)
        self.metrics_port = self.daemon.ports.get("metrics")
        self.data_dir = data
        self.port = self.daemon.ports[self.listener]
        self.ps = psutil.Process(self.daemon.process.pid)
        return self

    def _config(self, directory):
        """
        etc/gateway.toml as shipped, written into C{directory}, but for
        L{BENCH_SETTINGS} and the telnet listener's C{nodelay} option, with
        C{extra} at its end.
        """
        shipped = ROOT / "etc" / "gateway.toml"
        text = shipped.read_text(encoding="utf-8")
        changes = dict(BENCH_SETTINGS)
        changes['file = "world.toml"'] = f'file = "{shipped.parent / "world.toml"}"'
        changes["nodelay = false"] = f"nodelay = {'true' if self.nodelay else 'false'}"
        for old, new in changes.items():
            if old not in text:
                raise BenchError(f"{shipped} no longer has {old!r}; update bench.harness.BENCH_SETTINGS")
            text = text.replace(old, new, 1)
        path = directory / "gateway.toml"
        path.write_text(text + self.extra, encoding="utf-8")
        return path

    def stop(self):
        self.daemon.stop()
        self._tmp.cleanup()


def create_accounts(data_dir, names, password_hash):
    """
    Create the accounts C{names} in the daemon's database under C{data_dir}
    directly through the store functions, all in one transaction and all
    with the same C{password_hash}, so that a benchmark measures sessions,
    not account creation.
    """
    from gateway.service import DATABASE_NAME, prepare_data_dir
    from gateway.store import accounts
    from gateway.store.schema import open_database

    prepare_data_dir(data_dir)
    connection = open_database(data_dir / DATABASE_NAME)
    try:
        with connection:
            cursor = connection.cursor()
            for name in names:
                accounts.create(cursor, name, password_hash)
    finally:
        connection.close()


def _readline(process, timeout):
    """
    One line of C{process}'s standard output, or C{""} after C{timeout}
    seconds (the process is then killed) or at its end.
    """
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        return process.stdout.readline()
    finally:
        timer.cancel()


def generate(server, timeout, at_ready=None, generator="loadgen.py", **options):
    """
    Run the load generator against C{server} and return its results, plus
    the server's CPU seconds during the chat (C{server_cpu_s}).

    @param at_ready: called with C{server} once every client is logged in,
        before the chat starts; what it returns is stored as C{at_ready}.
    @param generator: the generator in L{BENCH}: L{bench.loadgen}, or
        L{bench.relaygen} for the relay scenario.
    @param options: the generator's options (C{clients=500} becomes
        C{--clients 500}; C{True} is a bare flag).
    """
    args = [PYTHON, str(BENCH / generator), "--port", str(server.port)]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + timeout
    try:
        ready = _readline(process, timeout)
        if ready.strip() != "READY":
            raise BenchError(f"load generator failed before READY against {server.name} ({options})")
        extra = at_ready(server) if at_ready else None
        cpu0 = server.cpu()
        process.stdin.write("go\n")
        process.stdin.flush()
        line = _readline(process, max(1.0, deadline - time.monotonic()))
        cpu1 = server.cpu()
        if not line:
            raise BenchError(f"load generator gave no result against {server.name} ({options})")
        result = json.loads(line)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    result["server_cpu_s"] = cpu1 - cpu0
    result["at_ready"] = extra
    return result


@dataclass
class Row:
    """
    One line of the results table.

    @ivar higher_is_better: how to read the ratio.
    """

    scenario: str
    metric: str
    unit: str
    gateway: float
    baseline: float
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self):
        if self.gateway is None or not self.baseline:
            return None
        return self.gateway / self.baseline


@dataclass
class Profile:
    """
    The sizes of one run: L{FULL} for the published figures, L{SMOKE} for
    the test that keeps the harness working.
    """

    burst: dict
    paced: dict
    sweep: list
    idle: int
    scale: dict
    storm: dict
    tls: dict
    ssh: dict
    relay: dict
    timeout: float = 300


FULL = Profile(
    burst=dict(clients=500, senders=10, lines=100),
    paced=dict(clients=500, senders=10, rate=5, duration=10),
    sweep=[50, 200, 500, 1000],
    idle=2000,
    scale=dict(clients=10000, senders=2, rate=1, duration=10, concurrency=200),
    storm=dict(clients=100, senders=10, rate=5, duration=20, storm=200),
    tls=dict(workers=8, duration=10),
    ssh=dict(workers=2, clients=4, duration=10),
    relay=dict(clients=500, rate=10, duration=10, lines=1000),
)

SMOKE = Profile(
    burst=dict(clients=4, senders=2, lines=3),
    paced=dict(clients=4, senders=2, rate=5, duration=0.5),
    sweep=[3],
    idle=4,
    scale=dict(clients=6, senders=1, rate=4, duration=0.5, concurrency=3),
    storm=dict(clients=3, senders=1, rate=4, duration=1, storm=2),
    tls=dict(workers=1, duration=0.5),
    ssh=dict(workers=1, clients=1, duration=0.5),
    relay=dict(clients=3, rate=5, duration=0.5, lines=5),
    timeout=60,
)


def both(profile, make_gateway, body):
    """
    Run C{body(server)} against a fresh gateway (from C{make_gateway()})
    and a fresh baseline server; returns C{(gateway result, baseline result)}.
    """
    results = []
    for server in (make_gateway(), BaselineServer()):
        server.start()
        try:
            results.append(body(server))
        finally:
            server.stop()
    return tuple(results)


def names(count, prefix="u"):
    return [f"{prefix}{i}" for i in range(count)]


def chat_scenarios(profile, log):
    """
    Fan-out burst, paced chat, and both swept over N, on one gateway and
    one baseline server.

    @return: C{(rows, sweep)} where C{sweep} maps server name to a list of
        C{(N, lines/s, p50 ms, p99 ms)}.
    """
    most = max([profile.burst["clients"], profile.paced["clients"]] + profile.sweep)
    rows, sweep = [], {}

    def body(server):
        # The headline figures are the better of two runs each, to damp
        # the interference of other processes on the machine.
        out = {}
        bursts = [generate(server, profile.timeout, **profile.burst) for _ in range(2)]
        out["burst"] = max(bursts, key=lambda r: r["lines_per_s"])
        log(f"{server.name} burst: " + "; ".join(_brief(r) for r in bursts))
        paced = [generate(server, profile.timeout, **profile.paced) for _ in range(2)]
        out["paced"] = min(paced, key=lambda r: r["latency"]["p99_ms"])
        log(f"{server.name} paced: " + "; ".join(_brief(r) for r in paced))
        points = []
        for n in profile.sweep:
            b = generate(server, profile.timeout, **dict(profile.burst, clients=n))
            p = generate(server, profile.timeout, **dict(profile.paced, clients=n))
            log(f"{server.name} N={n}: burst {_brief(b)}; paced {_brief(p)}")
            points.append((n, b["lines_per_s"], p["latency"]["p50_ms"], p["latency"]["p99_ms"]))
        sweep[server.name] = points
        return out

    g, b = both(profile, lambda: GatewayServer(names(most)), body)
    burst = "fan-out burst N={clients} K={senders} M={lines}".format(**profile.burst)
    rows.append(Row(burst, "delivered lines/s", "lines/s", g["burst"]["lines_per_s"], b["burst"]["lines_per_s"]))
    rows.append(Row(burst, "server CPU per 1000 deliveries", "ms",
                    1e6 * g["burst"]["server_cpu_s"] / g["burst"]["delivered"],
                    1e6 * b["burst"]["server_cpu_s"] / b["burst"]["delivered"], False))
    rows.append(Row(burst, "load generator CPU", "s", g["burst"]["loadgen_cpu_s"], b["burst"]["loadgen_cpu_s"], False,
                    "the generator's own CPU during the burst"))
    paced = "paced N={clients} K={senders} at {rate:g} lines/s".format(**profile.paced)
    for q in ("p50", "p99"):
        rows.append(Row(paced, f"latency {q}", "ms", g["paced"]["latency"][f"{q}_ms"], b["paced"]["latency"][f"{q}_ms"], False))
    rows.append(Row(paced, "delivered / expected", "%", 100 * g["paced"]["delivered"] / g["paced"]["expected"],
                    100 * b["paced"]["delivered"] / b["paced"]["expected"]))
    return rows, sweep


def idle_scenario(profile, log):
    """
    Resident memory per logged-in idle session: RSS after N sessions minus
    RSS after a few warm-up sessions came and went, over N.
    """
    n = profile.idle

    def body(server):
        generate(server, profile.timeout, clients=min(10, n), senders=1, lines=1, prefix="w")
        before = server.rss()
        result = generate(server, profile.timeout, at_ready=lambda s: s.rss(), clients=n, senders=1, lines=1)
        per = (result["at_ready"] - before) / n
        log(f"{server.name} idle: {per:.0f} bytes/session (RSS {before} -> {result['at_ready']})")
        return per

    g, b = both(profile, lambda: GatewayServer(names(n) + names(10, "w")), body)
    return [Row(f"idle memory, N={n} logged-in sessions", "RSS per session", "KB", g / 1024, b / 1024, False)]


def scale_scenario(profile, log):
    """
    N concurrent logged-in sessions with a paced chat still flowing.
    """
    spec = profile.scale
    n = spec["clients"]

    def body(server):
        result = generate(server, profile.timeout, at_ready=lambda s: s.rss(), probes=20, **spec)
        log(f"{server.name} scale: {_brief(result)}; RSS {result['at_ready']}")
        return result

    g, b = both(profile, lambda: GatewayServer(names(n)), body)
    title = "{clients} concurrent sessions, K={senders} at {rate:g} lines/s".format(**spec)
    return [
        Row(title, "sessions logged in", "", g["clients"], b["clients"]),
        Row(title, "logins per second (cheap hash)", "logins/s", n / g["login_s"], n / b["login_s"],
            note="accounts pre-created; gateway hashes with bench.gatewayd.CHEAP_HASH"),
        Row(title, "chat delivered / expected", "%", 100 * g["delivered"] / g["expected"], 100 * b["delivered"] / b["expected"]),
        Row(title, "chat latency p99", "ms", g["latency"]["p99_ms"], b["latency"]["p99_ms"], False),
        Row(title, "server RSS", "MB", g["at_ready"] / 2**20, b["at_ready"] / 2**20, False),
    ]


def storm_scenario(profile, log):
    """
    A paced chat while many new accounts sign up at once with the real
    Argon2 parameters; the chat's latency during the storm.
    """
    spec = profile.storm

    def body(server):
        result = generate(server, profile.timeout, **spec)
        log(f"{server.name} storm: {_brief(result)}; storm {result.get('storm')}")
        return result

    g, b = both(profile, lambda: GatewayServer(names(spec["clients"]), cheap_hash=False), body)
    title = "login storm: {storm} sign-ups during paced N={clients} K={senders} at {rate:g} lines/s".format(**spec)
    return [
        Row(title, "chat latency p99 during storm", "ms", g["storm"]["p99_ms"], b["storm"]["p99_ms"], False),
        Row(title, "storm logins per second", "logins/s", g["storm"]["logins_per_s"], b["storm"]["logins_per_s"],
            note="gateway: real Argon2id sign-ups (hash_threads=2); baseline: no password at all"),
    ]


def nodelay_scenario(profile, log):
    """
    TCP_NODELAY on and off (the telnet listener's C{nodelay} option): the
    paced chat's latency and the server's CPU, at a small N and at the
    paced scenario's N.  Here the "baseline" column is gateway with
    C{nodelay = false}.
    """
    rows = []
    small = dict(profile.paced, clients=max(2, profile.paced["clients"] // 10))
    results = {}
    for nodelay in (True, False):
        server = GatewayServer(names(profile.paced["clients"]), nodelay=nodelay)
        server.start()
        try:
            for spec in (small, profile.paced):
                result = generate(server, profile.timeout, **spec)
                log(f"gateway nodelay={nodelay} N={spec['clients']}: {_brief(result)}")
                results[nodelay, spec["clients"]] = result
        finally:
            server.stop()
    for spec in (small, profile.paced):
        on, off = results[True, spec["clients"]], results[False, spec["clients"]]
        title = "TCP_NODELAY on (gateway column) vs off (baseline column), paced N={clients}".format(**spec)
        rows.append(Row(title, "latency p50", "ms", on["latency"]["p50_ms"], off["latency"]["p50_ms"], False))
        rows.append(Row(title, "latency p99", "ms", on["latency"]["p99_ms"], off["latency"]["p99_ms"], False))
        rows.append(Row(title, "server CPU per 1000 deliveries", "ms", 1e6 * on["server_cpu_s"] / on["delivered"],
                        1e6 * off["server_cpu_s"] / off["delivered"], False))
    return rows


class Scraper:
    """
    Fetches a gateway's C{/metrics} every L{SCRAPE_INTERVAL} seconds in a
    thread, as Prometheus would (more often than its usual 15 seconds).

    @ivar scrapes: how many scrapes succeeded.
    """

    def __init__(self, server):
        self.url = f"http://127.0.0.1:{server.metrics_port}/metrics"
        self.scrapes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(SCRAPE_INTERVAL):
            with urllib.request.urlopen(self.url, timeout=10) as response:
                response.read()
            self.scrapes += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


#: Seconds between two scrapes of the metrics scenario.
SCRAPE_INTERVAL = 1.0


def _on_off_rows(title, on, off):
    """
    The rows comparing one gateway with a feature on (gateway column) and
    off (baseline column).

    @param on: the (burst, paced) results with the feature on.
    @param off: the same with it off.
    """
    (on_b, on_p), (off_b, off_p) = on, off
    return [
        Row(title, "burst delivered lines/s", "lines/s", on_b["lines_per_s"], off_b["lines_per_s"]),
        Row(title, "burst server CPU per 1000 deliveries", "ms", 1e6 * on_b["server_cpu_s"] / on_b["delivered"],
            1e6 * off_b["server_cpu_s"] / off_b["delivered"], False),
        Row(title, "paced server CPU per 1000 deliveries", "ms", 1e6 * on_p["server_cpu_s"] / on_p["delivered"],
            1e6 * off_p["server_cpu_s"] / off_p["delivered"], False),
        Row(title, "paced latency p99", "ms", on_p["latency"]["p99_ms"], off_p["latency"]["p99_ms"], False),
    ]


def metrics_scenario(profile, log):
    """
    The cost of the metrics: the fan-out burst and the paced chat on a
    gateway that counts everything and serves C{/metrics}, scraped every
    second (the "gateway" column), and on one whose metrics count nothing
    (the "baseline" column; see L{bench.gatewayd.without_metrics}).  As in
    the chat scenarios, each figure is the better of two runs.
    """
    out = {}

    def chat(server):
        bursts = [generate(server, profile.timeout, **profile.burst) for _ in range(2)]
        paced = [generate(server, profile.timeout, **profile.paced) for _ in range(2)]
        return bursts, paced

    for metrics in (True, False):
        server = GatewayServer(names(max(profile.burst["clients"], profile.paced["clients"])), metrics=metrics)
        server.start()
        try:
            if metrics:
                with Scraper(server) as scraper:
                    bursts, paced = chat(server)
                scraped = f"; {scraper.scrapes} scrapes"
            else:
                bursts, paced = chat(server)
                scraped = ""
            log(f"gateway metrics {'on' if metrics else 'off'}: burst " + "; ".join(_brief(r) for r in bursts)
                + "; paced " + "; ".join(_brief(r) for r in paced) + scraped)
            out[metrics] = (
                max(bursts, key=lambda r: r["lines_per_s"]), min(paced, key=lambda r: r["latency"]["p99_ms"])
            )
        finally:
            server.stop()
    title = "metrics on and scraped every second (gateway column) vs off (baseline column), N={clients}".format(
        **profile.burst
    )
    return _on_off_rows(title, out[True], out[False])


def mccp_scenario(profile, log):
    """
    The cost of MCCP2 compression: the fan-out burst and the paced chat on
    one gateway, with every client accepting MCCP2 and with none.  Here the
    "baseline" column is gateway without compression.
    """
    out = {}
    server = GatewayServer(names(max(profile.burst["clients"], profile.paced["clients"])))
    server.start()
    try:
        for mccp in (True, False):
            extra = {"mccp": True} if mccp else {}
            burst = generate(server, profile.timeout, **profile.burst, **extra)
            paced = generate(server, profile.timeout, **profile.paced, **extra)
            log(f"gateway MCCP2 {'on' if mccp else 'off'}: burst {_brief(burst)}; paced {_brief(paced)}; "
                f"{burst['compressed_clients']} clients compressed")
            if mccp and burst["compressed_clients"] != burst["clients"]:
                raise BenchError(f"MCCP2 was not in use on every client: {burst['compressed_clients']}")
            out[mccp] = burst, paced
    finally:
        server.stop()
    title = "MCCP2 on (gateway column) vs off (baseline column), N={clients}".format(**profile.burst)
    return _on_off_rows(title, out[True], out[False])


def handshakes(server, timeout, workers, duration):
    """
    Run L{bench.handshakes} against C{server}; its results plus the
    server's CPU seconds meanwhile (C{server_cpu_s}).
    """
    args = [PYTHON, str(BENCH / "handshakes.py"), "--port", str(server.port),
            "--workers", str(workers), "--duration", str(duration)]
    cpu0 = server.cpu()
    try:
        process = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"TLS handshake client did not finish in {timeout}s against {server.name}")
    cpu1 = server.cpu()
    if process.returncode:
        raise BenchError(f"TLS handshake client failed against {server.name}")
    result = json.loads(process.stdout)
    result["server_cpu_s"] = cpu1 - cpu0
    return result


def tls_scenario(profile, log):
    """
    Full TLS handshakes per second: gateway's C{telnet-tls} listener
    against the bare Twisted TLS echo server (L{bench.tls_baseline})
    serving the same certificate and key (the development certificate
    gateway generated at start).  The two are measured in turn, twice, and
    each server's better run is kept, to damp other processes on the machine.
    """
    spec = profile.tls
    runs = {"gateway": [], "baseline": []}
    gateway = GatewayServer(listener="telnet-tls").start()
    try:
        certificate, key = gateway.data_dir / "tls-dev-cert.pem", gateway.data_dir / "tls-dev-key.pem"
        baseline = BaselineServer("tls_baseline.py", ["--certificate", str(certificate), "--key", str(key)]).start()
        try:
            for _ in range(2):
                for server in (gateway, baseline):
                    runs[server.name].append(handshakes(server, profile.timeout, **spec))
        finally:
            baseline.stop()
    finally:
        gateway.stop()
    for server, results in runs.items():
        log(f"{server} TLS: " + "; ".join(
            f"{r['handshakes']} handshakes ({r['protocol']}, {r['cipher']}) in {r['seconds']:.1f}s, "
            f"{r['handshakes_per_s']:.0f}/s, {r['errors']} errors, server CPU {r['server_cpu_s']:.2f}s, "
            f"client CPU {r['client_cpu_s']:.2f}s" for r in results))
        if not all(r["handshakes"] for r in results):
            raise BenchError(f"no TLS handshake completed against {server}")
    g, b = (max(runs[name], key=lambda r: r["handshakes_per_s"]) for name in ("gateway", "baseline"))
    title = "TLS handshakes, {workers} clients for {duration:g} s, better of two".format(**spec)
    return [
        Row(title, "handshakes per second", "/s", g["handshakes_per_s"], b["handshakes_per_s"],
            note="full handshake + first byte; same certificate (ECDSA P-256)"),
        Row(title, "server CPU per handshake", "ms", 1e3 * g["server_cpu_s"] / g["handshakes"],
            1e3 * b["server_cpu_s"] / b["handshakes"], False),
        Row(title, "client CPU per handshake", "ms", 1e3 * g["client_cpu_s"] / g["handshakes"],
            1e3 * b["client_cpu_s"] / b["handshakes"], False, "the handshake client's own CPU"),
    ]


def ssh_scenario(profile, log):
    """
    SSH logins per second (L{bench.sshlogins}, asyncssh clients): key
    exchange, password login, C{exec who}, close.  There is no bare
    baseline; the client's CPU is reported beside the server's.  Accounts
    are pre-created and the daemon hashes with L{bench.gatewayd.CHEAP_HASH},
    so the figure is SSH's cost, not Argon2's.  Skipped (no rows) without
    asyncssh.
    """
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        log("SSH logins: not measured, asyncssh is not installed (pip install -r bench/requirements.txt)")
        return []
    spec = profile.ssh
    accounts = names(spec["workers"] * spec["clients"], "s")
    server = GatewayServer(accounts, listener="ssh").start()
    try:
        args = [PYTHON, str(BENCH / "sshlogins.py"), "--port", str(server.port), "--password", PASSWORD]
        for key, value in spec.items():
            args += ["--" + key, str(value)]
        for name in accounts:
            args += ["--account", name]
        cpu0 = server.cpu()
        try:
            process = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=profile.timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"SSH login client did not finish in {profile.timeout}s")
        cpu = server.cpu() - cpu0
    finally:
        server.stop()
    if process.returncode:
        raise BenchError("SSH login client failed")
    r = json.loads(process.stdout)
    log(f"gateway SSH: {r['logins']} logins in {r['seconds']:.1f}s, {r['logins_per_s']:.1f}/s, {r['errors']} errors "
        f"({r['last_error']}), server CPU {cpu:.2f}s, client CPU {r['client_cpu_s']:.2f}s")
    if not r["logins"]:
        raise BenchError(f"no SSH login completed: {r['last_error']}")
    title = "SSH logins (password + exec who), {workers}x{clients} clients for {duration:g} s".format(**spec)
    return [
        Row(title, "logins per second", "/s", r["logins_per_s"], None, note="no bare baseline; cheap hash"),
        Row(title, "server CPU per login", "ms", 1e3 * cpu / r["logins"], None, False),
        Row(title, "client CPU per login", "ms", 1e3 * r["client_cpu_s"] / r["logins"], None, False,
            "the asyncssh client's own CPU"),
    ]


#: The game and the gateway listener relaying to it, for the relay scenario.
RELAY_CONFIG = """
[upstreams.bench]
endpoint = "tcp:127.0.0.1:{port}"
client_address = "none"

[listeners.relay]
frontend = "telnet"
endpoint = "tcp:0:interface=127.0.0.1"
upstream = "bench"
"""


#: How many paced runs and floods each relay gets, in turn with the other.
RELAY_ROUNDS = 3


def relay_scenario(profile, log):
    """
    Relaying a game (L{bench.relay_upstream}) to N telnet clients: gateway
    on an upstream listener against Twisted's bare port forwarder
    (L{bench.forwarder}), both in front of the same game process and
    running side by side.  Paced lines (R a second per session) give the
    latency and the relay's CPU; a flood (M lines to every session at once)
    the throughput; the RSS at N sessions, less the RSS after ten warm-up
    sessions came and went, the memory per relayed session.  The runs
    alternate between the two relays, L{RELAY_ROUNDS} of each kind on each,
    and the better is kept, so that what other processes on the machine do
    meanwhile falls on both alike.
    """
    spec = profile.relay
    n = spec["clients"]
    paced = dict(clients=n, rate=spec["rate"], duration=spec["duration"])
    flood = dict(clients=n, lines=spec["lines"])
    game = BaselineServer("relay_upstream.py").start()
    servers = []
    try:
        for make in (
            lambda: GatewayServer(listener="relay", extra=RELAY_CONFIG.format(port=game.port)),
            lambda: BaselineServer("forwarder.py", ["--to", str(game.port)]),
        ):
            servers.append(make())
            servers[-1].start()
        runs = {server.name: {"paced": [], "flood": []} for server in servers}
        before = {}
        for server in servers:
            generate(server, profile.timeout, generator="relaygen.py", clients=min(10, n), lines=1)
            before[server.name] = server.rss()
        for _ in range(RELAY_ROUNDS):
            for server in servers:
                runs[server.name]["paced"].append(
                    generate(server, profile.timeout, at_ready=lambda s: s.rss(), generator="relaygen.py", **paced))
        for _ in range(RELAY_ROUNDS):
            for server in servers:
                runs[server.name]["flood"].append(generate(server, profile.timeout, generator="relaygen.py", **flood))
    finally:
        for server in servers:
            server.stop()
        game.stop()
    results = []
    for server in servers:
        paced_runs, floods = runs[server.name]["paced"], runs[server.name]["flood"]
        memory = (paced_runs[0]["at_ready"] - before[server.name]) / n
        log(f"{server.name} relay: paced " + "; ".join(_brief(r) for r in paced_runs) + "; floods "
            + "; ".join(_brief(r) for r in floods)
            + f"; {memory:.0f} bytes/session (RSS {before[server.name]} -> {paced_runs[0]['at_ready']})")
        results.append({
            "paced": min(paced_runs, key=lambda r: r["latency"]["p99_ms"]),
            "flood": max(floods, key=lambda r: r["lines_per_s"] or 0),
            "memory": memory,
        })
    g, b = results
    title = "relay to a game, N={clients} sessions at {rate:g} lines/s, floods of {lines}".format(**spec)
    return [
        Row(title, "paced latency p50", "ms", g["paced"]["latency"]["p50_ms"], b["paced"]["latency"]["p50_ms"], False),
        Row(title, "paced latency p99", "ms", g["paced"]["latency"]["p99_ms"], b["paced"]["latency"]["p99_ms"], False),
        Row(title, "paced delivered / expected", "%", 100 * g["paced"]["delivered"] / g["paced"]["expected"],
            100 * b["paced"]["delivered"] / b["paced"]["expected"]),
        Row(title, "paced server CPU per 1000 lines", "ms", 1e6 * g["paced"]["server_cpu_s"] / g["paced"]["delivered"],
            1e6 * b["paced"]["server_cpu_s"] / b["paced"]["delivered"], False),
        Row(title, "flood lines/s to clients", "lines/s", g["flood"]["lines_per_s"], b["flood"]["lines_per_s"]),
        Row(title, "flood server CPU per 1000 lines", "ms", 1e6 * g["flood"]["server_cpu_s"] / g["flood"]["delivered"],
            1e6 * b["flood"]["server_cpu_s"] / b["flood"]["delivered"], False),
        Row(title, "RSS per relayed session", "KB", g["memory"] / 1024, b["memory"] / 1024, False,
            "gateway: a session, its client connection and its game connection"),
    ]


def _brief(result):
    lat = result.get("latency") or {}
    lps = result.get("lines_per_s")
    return (f"{result['delivered']}/{result['expected']} lines, {lps or 0:.0f}/s, "
            f"p50 {lat.get('p50_ms') or 0:.1f} ms, p99 {lat.get('p99_ms') or 0:.1f} ms, "
            f"server CPU {result['server_cpu_s']:.2f}s, generator CPU {result['loadgen_cpu_s']:.2f}s")
