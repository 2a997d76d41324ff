"""
Every Prometheus metric the daemon exports, in one place.

The code that sees an event calls one method of the daemon's L{Metrics}
(C{core.metrics}); nothing else creates or names a metric.  Each daemon
has its own L{CollectorRegistry} (never the client's global one), so the
tests' many daemons do not see each other's figures.

Everything here is called on the reactor thread.  The metrics listener
(L{build_factory}) serves the figures with the client's Twisted
C{MetricsResource}, which collects them in the reactor's thread pool: the
client's metric objects lock for that, and the one figure kept here
(sessions by frontend and state) is published as a snapshot that is
replaced, never changed.

Labels take a small fixed set of values (frontend, listener and upstream
names from the configuration, states, reasons, results); never a
player's name or an address.
"""

from twisted.application.service import Service
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from gateway.core.durations import describe_left

#: The session states counted by L{Metrics.sessions}: in the login
#: dialogue, in the world with a connection, in the world after the
#: connection dropped (C{sessions.linger}), a second connection attached
#: to a player's session (C{sessions.per_account = "attach"}), an SSH
#: C{exec} command.
LOGGING_IN = "logging_in"
PLAYING = "playing"
LINGERING = "lingering"
ATTACHED = "attached"
COMMAND = "command"

#: The states of the players in the world.
IN_WORLD = (PLAYING, LINGERING)

#: The states of connections to upstream games
#: (C{gateway_upstream_connections}).
CONNECTING = "connecting"
CONNECTED = "connected"

#: Refusal reasons (C{gateway_connections_refused_total{reason}}).
FULL = "server_full"
PER_ADDRESS = "per_address"
RATE = "rate"
HANDSHAKE_CAP = "handshake_cap"

#: Seconds between two looks at the reactor (L{ReactorWatch}).
TICK_INTERVAL = 1.0

#: Buckets of the time histograms, in seconds: from a fast command to a
#: stalled reactor.
_TIME_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Sessions:
    """
    The sessions now, by frontend and state, as a collector: the counts
    change on the reactor thread and a scrape reads the last snapshot.
    """

    def __init__(self):
        self.counts = {}
        self.snapshot = {}

    def move(self, old, new):
        """
        One session moves from key C{old} to key C{new}
        (C{(frontend, state)}, L{None} for none).
        """
        counts = self.counts
        if old is not None:
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]
        if new is not None:
            counts[new] = counts.get(new, 0) + 1
        self.snapshot = dict(counts)

    def collect(self):
        """
        The C{gateway_sessions} gauge, from the last snapshot (called in
        the thread of a scrape).
        """
        family = GaugeMetricFamily(
            "gateway_sessions", "Sessions now, by frontend and state.", labels=("frontend", "state")
        )
        for (frontend, state), count in sorted(self.snapshot.items()):
            family.add_metric((frontend, state), count)
        yield family


class Metrics:
    """
    The daemon's metrics and the figures the game shows from them (MSSP,
    C{who}, C{stats}, systemd's status line).

    @ivar registry: the daemon's L{CollectorRegistry}.
    @ivar started_at: when the daemon started, in C{clock} seconds.
    """

    def __init__(self, clock):
        """
        @param clock: the L{twisted.internet.interfaces.IReactorTime} that
            times commands and password hashing.
        """
        self.clock = clock
        self.started_at = clock.seconds()
        self.registry = registry = CollectorRegistry()
        self._sessions = _Sessions()
        self._state = {}
        registry.register(self._sessions)
        self._upstreams = Gauge(
            "gateway_upstream_connections", "Connections to upstream games, by upstream and state "
            "(connecting, connected).", ("upstream", "state"), registry=registry,
        )
        self._upstream_state = {}
        self._upstream_failures = Counter(
            "gateway_upstream_connect_failures", "Connections to upstream games that failed or timed out.",
            ("upstream",), registry=registry,
        )
        self._upstream_bytes = Counter(
            "gateway_upstream_bytes", "Bytes exchanged with upstream games, by upstream and direction "
            "(sent, received).", ("upstream", "direction"), registry=registry,
        )
        Gauge(
            "gateway_start_time_seconds", "When the daemon started, in seconds since the epoch.", registry=registry
        ).set(self.started_at)
        self._accepted = Counter(
            "gateway_connections_accepted", "Connections admitted, by listener.", ("listener",), registry=registry
        )
        self._refused = Counter(
            "gateway_connections_refused",
            "Connections refused by the limits, by reason (server_full, per_address, rate, handshake_cap).",
            ("reason",), registry=registry,
        )
        self._handshakes = Counter(
            "gateway_tls_handshakes", "TLS handshakes by result (completed, timed_out, dropped).",
            ("result",), registry=registry,
        )
        self._ssh_auth = Counter(
            "gateway_ssh_auth_attempts", "SSH authentication attempts by method and result (ok, failed, busy).",
            ("method", "result"), registry=registry,
        )
        self._logins = Counter(
            "gateway_logins", "Password logins by result (ok, failed, busy).", ("result",), registry=registry
        )
        self._signups = Counter(
            "gateway_signups", "Account creations by result (ok, refused, closed, busy, name_taken).",
            ("result",), registry=registry,
        )
        self._throttled = Counter(
            "gateway_login_throttle_delays", "Login attempts made to wait after failures.", registry=registry
        )
        self._throttled_seconds = Counter(
            "gateway_login_throttle_delay_seconds", "Seconds of waiting imposed on login attempts.",
            registry=registry,
        )
        self._commands = Counter(
            "gateway_commands", "Commands run, by result (ok, failed).", ("result",), registry=registry
        )
        self._command_seconds = Histogram(
            "gateway_command_duration_seconds", "How long commands take, waits for the player included.",
            buckets=_TIME_BUCKETS, registry=registry,
        )
        self._cuts = Counter(
            "gateway_output_cuts", "Connections cut for leaving too much output unread.", registry=registry
        )
        self._lines_refused = Counter(
            "gateway_input_lines_refused", "Input lines refused because too many were waiting.", registry=registry
        )
        self._input_paused = Counter(
            "gateway_input_pauses", "Times a connection's reading was paused until its commands ran.",
            registry=registry,
        )
        self._hashing = Gauge(
            "gateway_password_hash_queue", "Password hashing jobs running or waiting.", registry=registry
        )
        self._hash_seconds = Histogram(
            "gateway_password_hash_seconds", "How long a password hash or check takes, waiting included.",
            buckets=_TIME_BUCKETS, registry=registry,
        )
        self._tick_seconds = Histogram(
            "python_twisted_reactor_tick_time", "How late the reactor ran a call due now, in seconds.",
            buckets=_TIME_BUCKETS, registry=registry,
        )
        self._last_seen = None
        Gauge(
            "python_twisted_reactor_last_seen", "Seconds since the reactor was last seen running.",
            registry=registry,
        ).set_function(self._since_seen)

    # Sessions

    def session_state(self, session, state):
        """
        C{session} is now in C{state} (L{LOGGING_IN}, L{PLAYING},
        L{COMMAND}, ...), or gone when C{state} is L{None}.
        """
        old = self._state.pop(session, None)
        new = None
        if state is not None:
            new = self._state[session] = (session.capabilities.protocol, state)
        if new != old:
            self._sessions.move(old, new)

    def sessions(self):
        """
        @return: C{{(frontend, state): count}} of the sessions now.
        """
        return dict(self._sessions.counts)

    def players_by_frontend(self):
        """
        @return: C{{frontend: count}} of the players in the world (playing
            or lingering); frontends without any are left out.
        """
        players = {}
        for (frontend, state), count in self._sessions.counts.items():
            if state in IN_WORLD:
                players[frontend] = players.get(frontend, 0) + count
        return players

    def players_online(self):
        """
        @return: how many players are in the world (playing or lingering).
        """
        return sum(self.players_by_frontend().values())

    def uptime(self):
        """
        @return: seconds since the daemon started.
        """
        return self.clock.seconds() - self.started_at

    # Connections

    def connection_accepted(self, listener):
        """
        The limits admitted a connection to the listener named C{listener}.
        """
        self._accepted.labels(listener).inc()

    def connection_refused(self, reason):
        """
        @param reason: L{FULL}, L{PER_ADDRESS}, L{RATE} or
            L{HANDSHAKE_CAP}.
        """
        self._refused.labels(reason).inc()

    def tls_handshake(self, result):
        """
        @param result: C{"completed"}, C{"timed_out"} or C{"dropped"}.
        """
        self._handshakes.labels(result).inc()

    def handshake_dropped(self):
        """
        The oldest unfinished TLS handshake was dropped at the cap
        (C{tls.max_handshakes}) to make room for a new connection.
        """
        self._handshakes.labels("dropped").inc()
        self._refused.labels(HANDSHAKE_CAP).inc()

    def output_cut(self):
        """
        A connection was cut for leaving too much output unread.
        """
        self._cuts.inc()

    # Upstream games

    def upstream_state(self, session, upstream, state):
        """
        The connection of C{session} to the upstream game named
        C{upstream} is now in C{state} (L{CONNECTING}, L{CONNECTED}), or
        gone when C{state} is L{None}.
        """
        old = self._upstream_state.pop(session, None)
        if old is not None:
            self._upstreams.labels(upstream, old).dec()
        if state is not None:
            self._upstream_state[session] = state
            self._upstreams.labels(upstream, state).inc()

    def upstream_failed(self, upstream):
        """
        A connection to the upstream game named C{upstream} could not be
        made.
        """
        self._upstream_failures.labels(upstream).inc()

    def counting_bytes(self, factory, upstream):
        """
        Wrap the protocol factory of a connection to the upstream game
        named C{upstream} so that the bytes each way are counted.

        @rtype: L{twisted.internet.interfaces.IProtocolFactory}
        """
        return _ByteCountingFactory(
            factory, self._upstream_bytes.labels(upstream, "sent"), self._upstream_bytes.labels(upstream, "received")
        )

    # Logging in

    def ssh_auth(self, method, result):
        """
        @param method: the SSH method name (C{password}, C{publickey}).
        @param result: C{"ok"}, C{"failed"} or C{"busy"}.
        """
        self._ssh_auth.labels(method, result).inc()

    def login(self, result):
        """
        @param result: C{"ok"}, C{"failed"} or C{"busy"}.
        """
        self._logins.labels(result).inc()

    def signup(self, result):
        """
        @param result: C{"ok"}, C{"refused"}, C{"closed"}, C{"busy"} or
            C{"name_taken"}.
        """
        self._signups.labels(result).inc()

    def throttled(self, seconds):
        """
        A login attempt is made to wait C{seconds}.
        """
        self._throttled.inc()
        self._throttled_seconds.inc(seconds)

    # Commands and input

    def timed_command(self, run, *args):
        """
        Call C{run(*args)}, which runs a command and returns a L{Deferred}
        firing with C{True} when it succeeded, and count and time the
        command.

        @return: C{run}'s L{Deferred}.
        """
        started = self.clock.seconds()

        def done(succeeded):
            self._command_seconds.observe(self.clock.seconds() - started)
            self._commands.labels("ok" if succeeded else "failed").inc()
            return succeeded

        return run(*args).addCallback(done)

    def line_refused(self):
        """
        An input line was refused: too many were waiting.
        """
        self._lines_refused.inc()

    def input_paused(self):
        """
        A connection's reading was paused until its commands ran.
        """
        self._input_paused.inc()

    # Password hashing

    def timed_hashing(self, run):
        """
        Wrap a hashing C{run(f, *args)} callable (see
        L{gateway.auth.hashing.PasswordHasher}) so that its queue and its
        times are measured.
        """

        def timed(f, *args):
            started = self.clock.seconds()
            self._hashing.inc()

            def done(result):
                self._hashing.dec()
                self._hash_seconds.observe(self.clock.seconds() - started)
                return result

            return run(f, *args).addBoth(done)

        return timed

    # The reactor

    def reactor_seen(self, late):
        """
        The reactor ran a call C{late} seconds after it was due.
        """
        self._last_seen = self.clock.seconds()
        self._tick_seconds.observe(max(late, 0.0))

    def _since_seen(self):
        seen = self._last_seen
        return 0.0 if seen is None else self.clock.seconds() - seen


class _ByteCounting(ProtocolWrapper):
    """
    Counts the bytes its protocol writes and receives.
    """

    def write(self, data):
        self.factory.sent.inc(len(data))
        super().write(data)

    def writeSequence(self, data):
        self.factory.sent.inc(sum(len(piece) for piece in data))
        super().writeSequence(data)

    def dataReceived(self, data):
        self.factory.received.inc(len(data))
        super().dataReceived(data)


class _ByteCountingFactory(WrappingFactory):
    """
    See L{Metrics.counting_bytes}.

    @ivar sent: the counter of bytes written.
    @ivar received: the counter of bytes received.
    """

    protocol = _ByteCounting

    def __init__(self, wrappedFactory, sent, received):
        super().__init__(wrappedFactory)
        self.sent = sent
        self.received = received


class ReactorWatch(Service):
    """
    Looks at the reactor L{TICK_INTERVAL} seconds after its last look and
    records how late the look came (L{Metrics.reactor_seen}): a reactor
    busy with one long piece of work shows as a late tick.
    """

    def __init__(self, metrics, clock):
        self.metrics = metrics
        self.clock = clock
        self._call = None
        self._due = None

    def startService(self):
        super().startService()
        self._due = self.clock.seconds()
        self._tick()

    def stopService(self):
        super().stopService()
        self._call.cancel()
        self._call = None

    def _tick(self):
        self.metrics.reactor_seen(self.clock.seconds() - self._due)
        self._due = self.clock.seconds() + TICK_INTERVAL
        self._call = self.clock.callLater(TICK_INTERVAL, self._tick)


def add_process_collectors(registry):
    """
    Add the client's collectors of the process's figures (CPU, memory,
    open files, garbage collections, Python version) to C{registry}.
    """
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, ProcessCollector

    ProcessCollector(registry=registry)
    for collector in (GC_COLLECTOR, PLATFORM_COLLECTOR):
        registry.register(collector)


def build_factory(core, portal, options):
    """
    The C{metrics} frontend: C{/metrics} in Prometheus's text format over
    HTTP, served with the client's Twisted C{MetricsResource}.

    @raise gateway.errors.ConfigError: for any option (it has none).
    """
    from prometheus_client.twisted import MetricsResource
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    from gateway.errors import ConfigError

    if options:
        raise ConfigError(f"the metrics frontend has no options (got {', '.join(sorted(options))})")
    root = Resource()
    root.putChild(b"metrics", MetricsResource(core.metrics.registry))
    site = Site(root)
    site.displayTracebacks = False
    return site


def describe(samples, now):
    """
    The key figures, as lines for people: C{stats} in the game and
    C{gateway-admin status} show them.

    @param samples: the samples of the daemon's metrics, objects with
        C{name}, C{labels} and C{value} (from a registry's C{collect()} or
        parsed from the text format).
    @param now: the time now, in seconds since the epoch.
    @rtype: L{list} of L{str}
    """
    figures = {}
    for sample in samples:
        figures.setdefault(sample.name, []).append((sample.labels, sample.value))

    def total(name, **match):
        return int(sum(v for labels, v in figures.get(name, ()) if all(labels.get(k) == w for k, w in match.items())))

    def by(name, label, **match):
        counts = {}
        for labels, value in figures.get(name, ()):
            if value and all(labels.get(k) == w for k, w in match.items()):
                counts[labels[label]] = counts.get(labels[label], 0) + int(value)
        return ", ".join(f"{count} {key}" for key, count in sorted(counts.items())) or "none"

    started = figures.get("gateway_start_time_seconds", [({}, now)])[0][1]
    lines = [
        f"Up for {describe_left(max(now - started, 0))}.",
        f"Players online: {total('gateway_sessions', state=PLAYING)} "
        f"({by('gateway_sessions', 'frontend', state=PLAYING)}); "
        f"lingering: {total('gateway_sessions', state=LINGERING)}; "
        f"logging in: {total('gateway_sessions', state=LOGGING_IN)}.",
        f"Connections accepted: {total('gateway_connections_accepted_total')}; "
        f"refused: {by('gateway_connections_refused_total', 'reason')}.",
        f"Logins: {by('gateway_logins_total', 'result')}; SSH: {by('gateway_ssh_auth_attempts_total', 'result')}; "
        f"sign-ups: {by('gateway_signups_total', 'result')}.",
        f"Commands run: {by('gateway_commands_total', 'result')}; output cuts: {total('gateway_output_cuts_total')}; "
        f"input lines refused: {total('gateway_input_lines_refused_total')}.",
        f"Password hashing: {total('gateway_password_hash_queue')} running or waiting.",
    ]
    if "gateway_upstream_connections" in figures:
        lines.append(
            f"Upstream games connected: {by('gateway_upstream_connections', 'upstream', state=CONNECTED)}; "
            f"connect failures: {by('gateway_upstream_connect_failures_total', 'upstream')}."
        )
    return lines
