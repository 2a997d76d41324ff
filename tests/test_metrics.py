"""
The daemon's Prometheus metrics: each moves when its event happens, the
labels stay bounded, and the metrics listener serves the text format.
"""

from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody

from gateway.config import load_config
from gateway.core.closelog import CloseLog
from gateway.core.commands import Command, default_commands
from gateway.errors import ConfigError
from gateway.frontends.telnet.mssp import status_fields
from gateway.frontends.telnet.options import TelnetOptions
from gateway.frontends.tls.handshake import HandshakeGateFactory, HandshakeLimits
from gateway.metrics import Metrics, ReactorWatch, build_factory, describe
from tests.fakeupstream import upstream_core
from tests.helpers import RecordingTransport, connect, log_in, make_core, sign_up, with_settings
from tests.telnet_fixtures import TelnetConnection
from tests.test_limits import LimitTestCase, SlowTransport
from tests.test_session_limits import FlowTransport, logged_in
from tests.test_throttle import config_with
from tests.test_tls_handshake import FakeTLSTransport, Recorder


def sample(metrics, name, **labels):
    """
    The value of one sample of C{metrics}' registry (0 when absent).
    """
    return metrics.registry.get_sample_value(name, labels) or 0


class SessionMetricsTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core()
        self.metrics = self.core.metrics

    def test_sessions_by_frontend_and_state(self):
        transport, session = connect(self.core, "telnet")
        self.assertEqual(sample(self.metrics, "gateway_sessions", frontend="telnet", state="logging_in"), 1)
        for line in ("Alice", "yes", "secret1", "secret1"):
            session.line_received(line)
        self.assertEqual(sample(self.metrics, "gateway_sessions", frontend="telnet", state="logging_in"), 0)
        self.assertEqual(sample(self.metrics, "gateway_sessions", frontend="telnet", state="playing"), 1)
        sign_up(self.core, "Bob", protocol="ssh")
        self.assertEqual(self.metrics.sessions(), {("telnet", "playing"): 1, ("ssh", "playing"): 1})
        session.line_received("quit")
        transport.disconnect()
        self.assertEqual(self.metrics.sessions(), {("ssh", "playing"): 1})
        self.assertIsNone(self.metrics.registry.get_sample_value(
            "gateway_sessions", {"frontend": "telnet", "state": "playing"}
        ))

    def test_lingering_and_resumed(self):
        clock = Clock()
        core = make_core(clock)
        transport, _ = sign_up(core, "Alice", protocol="telnet")
        transport.disconnect()
        self.assertEqual(core.metrics.sessions(), {("telnet", "lingering"): 1})
        self.assertEqual(core.metrics.players_online(), 1)
        self.assertEqual(core.status().players, {"telnet": 1})
        transport, _ = log_in(core, "Alice", protocol="ssh")
        self.assertEqual(core.metrics.sessions(), {("ssh", "playing"): 1})
        transport.disconnect()
        clock.advance(core.settings.sessions.linger)
        self.assertEqual(core.metrics.sessions(), {})
        self.assertEqual(core.metrics.players_online(), 0)

    def test_attached_connection_is_one_player(self):
        core = make_core(config=with_settings(sessions={"per_account": "attach"}))
        first, _ = sign_up(core, "Alice")
        log_in(core, "Alice", protocol="ssh")
        self.assertEqual(core.metrics.sessions(), {("test", "playing"): 1, ("ssh", "attached"): 1})
        self.assertEqual(core.metrics.players_online(), 1)
        first.disconnect()
        self.assertEqual(core.metrics.sessions(), {("ssh", "playing"): 1})

    def test_who_and_mssp_read_the_same_count(self):
        sign_up(self.core, "Alice")
        transport, session = sign_up(self.core, "Bob")
        connect(self.core)
        self.assertEqual(self.metrics.players_online(), 2)
        session.line_received("who")
        self.assertIn("2 players online:", transport.lines())
        fields = dict(status_fields(self.core, 4000, TelnetOptions()))
        self.assertEqual(fields["PLAYERS"], ["2"])
        self.assertEqual(fields["UPTIME"], [str(int(self.metrics.started_at))])

    def test_taking_over_counts_one_player(self):
        sign_up(self.core, "Alice")
        log_in(self.core, "Alice")
        self.assertEqual(self.metrics.players_online(), 1)
        self.assertEqual(self.metrics.sessions(), {("test", "playing"): 1})

    def test_exec_session(self):
        transport = RecordingTransport("ssh")
        sign_up(self.core, "Alice")
        account = next(iter(self.core.world.online())).account
        transport.session, done = self.core.execute(transport, account, "who")
        self.assertEqual(sample(self.metrics, "gateway_sessions", frontend="ssh", state="command"), 1)
        transport.disconnect()
        self.assertEqual(sample(self.metrics, "gateway_sessions", frontend="ssh", state="command"), 0)

    def test_logins_by_result(self):
        sign_up(self.core, "Alice")
        self.assertEqual(sample(self.metrics, "gateway_signups_total", result="ok"), 1)
        log_in(self.core, "Alice")
        self.assertEqual(sample(self.metrics, "gateway_logins_total", result="ok"), 1)
        log_in(self.core, "Alice", password="wrong")
        self.assertEqual(sample(self.metrics, "gateway_logins_total", result="failed"), 1)
        self.assertEqual(sample(self.metrics, "gateway_logins_total", result="ok"), 1)

    def test_signups_refused(self):
        core = make_core(config=with_settings(accounts={"allow_registration": False}))
        transport, session = connect(core)
        session.line_received("Nobody")
        self.assertEqual(sample(core.metrics, "gateway_signups_total", result="closed"), 1)
        core = make_core(config=config_with(max_accounts_per_address=1))
        sign_up(core, "Alice")
        transport, session = connect(core)
        session.line_received("Bob")
        self.assertIn("Too many accounts have been created", transport.lines())
        self.assertEqual(sample(core.metrics, "gateway_signups_total", result="refused"), 1)

    def test_login_throttle_delay(self):
        clock = Clock()
        core = make_core(clock, config_with(login_failure_delay=2.0))
        sign_up(core, "Alice")
        transport, session = connect(core)
        session.line_received("Alice")
        session.line_received("wrong")
        self.assertEqual(sample(core.metrics, "gateway_login_throttle_delays_total"), 1)
        self.assertGreater(sample(core.metrics, "gateway_login_throttle_delay_seconds_total"), 0)


class CommandMetricsTests(SynchronousTestCase):
    def test_command_duration_observed(self):
        clock = Clock()

        def wait(session, args):
            return session.sleep(3)

        def bad(session, args):
            raise RuntimeError("bug")

        commands = default_commands() + (Command("wait", wait, "wait", "Wait."), Command("bad", bad, "bad", "Fail."))
        core = make_core(clock, commands=commands)
        transport, session = sign_up(core, "Alice")
        metrics = core.metrics
        before = sample(metrics, "gateway_command_duration_seconds_count")
        session.line_received("wait")
        self.assertEqual(sample(metrics, "gateway_command_duration_seconds_count"), before)
        clock.advance(3)
        self.assertEqual(sample(metrics, "gateway_command_duration_seconds_count"), before + 1)
        self.assertEqual(sample(metrics, "gateway_command_duration_seconds_bucket", le="2.5"), before)
        self.assertEqual(sample(metrics, "gateway_command_duration_seconds_bucket", le="5.0"), before + 1)
        self.assertEqual(sample(metrics, "gateway_commands_total", result="ok"), before + 1)
        self.flushLoggedErrors(RuntimeError)
        session.line_received("bad")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(sample(metrics, "gateway_commands_total", result="failed"), 1)

    def test_paused_and_refused_input(self):
        clock = Clock()
        core = make_core(clock, config_with(commands_per_second=1, command_burst=1, max_pending_lines=4))
        logged_in(core, "Alice", FlowTransport())
        session = logged_in(core, "Bob", RecordingTransport())
        alice = core.world.find_online("Alice")
        for n in range(10):
            alice.line_received(f"say {n}")
            session.line_received(f"say {n}")
        self.assertEqual(sample(core.metrics, "gateway_input_pauses_total"), 1)
        self.assertEqual(sample(core.metrics, "gateway_input_lines_refused_total"), 5)


class ConnectionMetricsTests(LimitTestCase):
    def test_accepted_and_refused_by_reason(self):
        factory = self.factory(max_connections=3, max_connections_per_address=1, max_new_connections_per_address=1)
        metrics = self.limiter.metrics
        self.connect(factory, "192.0.2.1")
        self.assertEqual(sample(metrics, "gateway_connections_accepted_total", listener="test"), 1)
        self.connect(factory, "192.0.2.1")
        self.assertEqual(sample(metrics, "gateway_connections_refused_total", reason="per_address"), 1)
        protocol, transport = self.connect(factory, "192.0.2.2")
        protocol.connectionLost(None)
        self.connect(factory, "192.0.2.2")
        self.assertEqual(sample(metrics, "gateway_connections_refused_total", reason="rate"), 1)
        self.connect(factory, "192.0.2.3")
        self.connect(factory, "192.0.2.4")
        self.connect(factory, "192.0.2.5")
        self.assertEqual(sample(metrics, "gateway_connections_refused_total", reason="server_full"), 1)
        self.assertEqual(sample(metrics, "gateway_connections_accepted_total", listener="test"), 4)

    def test_output_cut(self):
        factory = self.factory(max_output_bytes=4096)
        protocol, transport = self.connect(factory, transport=SlowTransport)
        protocol.dataReceived(b"x" * 1001)
        for _ in range(4):
            protocol.dataReceived(b"y" * 1000)
        self.assertEqual(sample(self.limiter.metrics, "gateway_output_cuts_total"), 0)
        protocol.dataReceived(b"z" * 1000)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(sample(self.limiter.metrics, "gateway_output_cuts_total"), 1)

    def test_shared_with_the_core(self):
        core = make_core(self.clock)
        from gateway.frontends.limits import ConnectionLimiter

        limiter = ConnectionLimiter(self.clock, core.settings.limits, core.metrics)
        self.assertIs(limiter.metrics, core.metrics)


class UpstreamMetricsTests(SynchronousTestCase):
    def test_connections_bytes_and_failures(self):
        core, endpoint = upstream_core()
        metrics = core.metrics
        player = TelnetConnection(core)
        endpoint.flush()
        self.assertEqual(sample(metrics, "gateway_upstream_connections", upstream="mud", state="connected"), 1)
        self.assertEqual(sample(metrics, "gateway_sessions", frontend="telnet", state="playing"), 1)
        sent = sample(metrics, "gateway_upstream_bytes_total", upstream="mud", direction="sent")
        received = sample(metrics, "gateway_upstream_bytes_total", upstream="mud", direction="received")
        self.assertGreater(sent, 0)
        self.assertGreater(received, 0)
        player.feed(b"look\r\n")
        endpoint.flush()
        self.assertEqual(sample(metrics, "gateway_upstream_bytes_total", upstream="mud", direction="sent"), sent + 6)
        received = sample(metrics, "gateway_upstream_bytes_total", upstream="mud", direction="received")
        endpoint.servers[0].say(b"You see nothing.")
        endpoint.flush()
        # The game compresses (MCCP2): what counts is the bytes on the wire.
        self.assertGreater(sample(metrics, "gateway_upstream_bytes_total", upstream="mud", direction="received"), received)
        player.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(sample(metrics, "gateway_upstream_connections", upstream="mud", state="connected"), 0)

        endpoint.mode = "silent"
        TelnetConnection(core)
        self.assertEqual(sample(metrics, "gateway_upstream_connections", upstream="mud", state="connecting"), 1)
        core.clock.advance(core.upstream.connect_timeout)
        self.assertEqual(sample(metrics, "gateway_upstream_connections", upstream="mud", state="connecting"), 0)
        self.assertEqual(sample(metrics, "gateway_upstream_connect_failures_total", upstream="mud"), 1)
        endpoint.mode = "refuse"
        TelnetConnection(core)
        self.assertEqual(sample(metrics, "gateway_upstream_connect_failures_total", upstream="mud"), 2)
        endpoint.mode = "up"
        TelnetConnection(core)
        samples = [s for family in metrics.registry.collect() for s in family.samples]
        self.assertEqual(describe(samples, metrics.started_at)[-1], "Upstream games connected: 1 mud; connect failures: 2 mud.")
        self.assertNotIn("Upstream", " ".join(describe(
            [s for family in make_core().metrics.registry.collect() for s in family.samples], 0
        )))


    def test_lingering_keeps_the_game_connection(self):
        clock = Clock()
        game = make_core(clock)
        owner, session = sign_up(game, "alice")
        session.line_received("quit")
        owner.disconnect()
        core, endpoint = upstream_core(game, login="gateway")

        def log_in(protocol):
            transport = RecordingTransport(protocol)
            transport.session = session = core.connect(transport)
            session.line_received("alice")
            session.line_received("secret1")
            endpoint.flush()
            return transport

        def connected():
            return sample(game.metrics, "gateway_upstream_connections", upstream="mud", state="connected")

        log_in("telnet").disconnect()
        self.assertEqual(connected(), 1)
        self.assertEqual(game.metrics.sessions(), {("telnet", "lingering"): 1})
        log_in("ssh").disconnect()
        self.assertEqual(connected(), 1)
        self.assertEqual(game.metrics.sessions(), {("ssh", "lingering"): 1})
        clock.advance(game.settings.sessions.linger)
        self.assertEqual(connected(), 0)
        self.assertEqual(game.metrics.sessions(), {})


class HandshakeMetricsTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.metrics = Metrics(self.clock)
        self.limits = HandshakeLimits(self.clock, 10, 2, CloseLog(self.clock, 0), self.metrics)

    def connect(self):
        factory = HandshakeGateFactory(Factory.forProtocol(Recorder), self.limits, "off")
        gate = factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 5555))
        transport = FakeTLSTransport()
        gate.makeConnection(transport)
        return gate, transport

    def test_completed_timed_out_dropped(self):
        gate, _ = self.connect()
        gate.handshakeCompleted()
        self.assertEqual(sample(self.metrics, "gateway_tls_handshakes_total", result="completed"), 1)
        self.connect()
        self.clock.advance(10)
        self.assertEqual(sample(self.metrics, "gateway_tls_handshakes_total", result="timed_out"), 1)
        for _ in range(3):
            self.connect()
        self.assertEqual(sample(self.metrics, "gateway_tls_handshakes_total", result="dropped"), 1)
        self.assertEqual(sample(self.metrics, "gateway_connections_refused_total", reason="handshake_cap"), 1)


class HashingMetricsTests(SynchronousTestCase):
    def test_queue_depth_and_duration(self):
        clock = Clock()
        metrics = Metrics(clock)
        pending = []

        def run(f, *args):
            d = Deferred()
            pending.append((d, f, args))
            return d

        timed = metrics.timed_hashing(run)
        results = [timed(str.upper, "a"), timed(str.upper, "b")]
        self.assertEqual(sample(metrics, "gateway_password_hash_queue"), 2)
        clock.advance(0.2)
        d, f, args = pending.pop(0)
        d.callback(f(*args))
        self.assertEqual(self.successResultOf(results[0]), "A")
        self.assertEqual(sample(metrics, "gateway_password_hash_queue"), 1)
        self.assertEqual(sample(metrics, "gateway_password_hash_seconds_count"), 1)
        self.assertEqual(sample(metrics, "gateway_password_hash_seconds_sum"), 0.2)


class ReactorWatchTests(SynchronousTestCase):
    def test_tick_time_and_last_seen(self):
        clock = Clock()
        metrics = Metrics(clock)
        watch = ReactorWatch(metrics, clock)
        watch.startService()
        self.assertEqual(sample(metrics, "python_twisted_reactor_tick_time_count"), 1)
        clock.advance(1)
        self.assertEqual(sample(metrics, "python_twisted_reactor_tick_time_bucket", le="0.0005"), 2)
        # A reactor stuck for 3 seconds runs the look 2 seconds late, and
        # the next one is due a second after that.
        clock.advance(3)
        self.assertEqual(sample(metrics, "python_twisted_reactor_tick_time_count"), 3)
        self.assertEqual(sample(metrics, "python_twisted_reactor_tick_time_sum"), 2)
        clock.advance(1.25)
        self.assertEqual(sample(metrics, "python_twisted_reactor_tick_time_count"), 4)
        self.assertEqual(sample(metrics, "python_twisted_reactor_tick_time_sum"), 2.25)
        clock.rightNow += 0.5
        self.assertEqual(sample(metrics, "python_twisted_reactor_last_seen"), 0.5)
        watch.stopService()
        self.assertEqual(clock.getDelayedCalls(), [])


class BoundedLabelTests(SynchronousTestCase):
    def test_no_names_or_addresses(self):
        core = make_core()
        sign_up(core, "Zanzibar")
        log_in(core, "Zanzibar", password="nope")
        connect(core, "telnet")
        labels = set()
        for family in core.metrics.registry.collect():
            for s in family.samples:
                labels.update((key, value) for key, value in s.labels.items() if key != "le")
        self.assertEqual(labels, {
            ("frontend", "test"), ("frontend", "telnet"), ("state", "logging_in"), ("state", "playing"),
            ("result", "ok"), ("result", "failed"),
        })


class MetricsListenerTests(TestCase):
    @inlineCallbacks
    def test_serves_text_format(self):
        core = make_core()
        sign_up(core, "Alice")
        site = build_factory(core, core.portal, {})
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/metrics".encode()
        response = yield Agent(reactor).request(b"GET", url)
        body = (yield readBody(response)).decode()
        self.assertEqual(response.code, 200)
        self.assertTrue(response.headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain; version=0.0.4"))
        self.assertIn('gateway_sessions{frontend="test",state="playing"} 1.0', body)
        self.assertIn('gateway_signups_total{result="ok"} 1.0', body)
        missing = yield Agent(reactor).request(b"GET", url.replace(b"/metrics", b"/nothing"))
        yield readBody(missing)
        self.assertEqual(missing.code, 404)

    def test_no_options(self):
        core = make_core()
        error = self.assertRaises(ConfigError, build_factory, core, core.portal, {"path": "/x"})
        self.assertIn("no options", str(error))

    def test_default_listener_is_off(self):
        listener = load_config().listeners["metrics"]
        self.assertFalse(listener.enabled)
        self.assertEqual(listener.endpoint, "tcp:9104:interface=127.0.0.1")
        self.assertTrue(load_config(overrides={"metrics": "tcp:0:interface=127.0.0.1"}).listeners["metrics"].enabled)
