"""
The handshake gate: timeout on a L{Clock}, the cap on unfinished
handshakes, client certificate rules, and quiet failures.
"""

import gc
import weakref
from pathlib import Path

from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase
from zope.interface import implementer

from gateway.core.closelog import SUMMARY_INTERVAL, CloseLog
from gateway.frontends.limits import ConnectionLimiter, LimitingFactory
from gateway.frontends.lines import build_factory as lines_factory
from gateway.frontends.telnet import build_factory as telnet_factory
from gateway.frontends.tls.context import ServerTLS
from gateway.frontends.tls.handshake import MAX_EARLY_BYTES, HandshakeGate, HandshakeGateFactory, HandshakeLimits
from gateway.frontends.tls.wrapping import TLSFactory
from gateway.interfaces import IRefusingFactory
from tests.certs import self_signed, x509_of
from tests.helpers import make_core
from tests.test_limits import limits as limit_settings
from tests.test_tls_certificates import captured_log, config_for


@implementer(ISSLTransport)
class FakeTLSTransport(StringTransport):
    """
    Stands in for L{gateway.frontends.tls.wrapping.TLSProtocol} under the
    gate.
    """

    def __init__(self, certificate=None):
        super().__init__(peerAddress=IPv4Address("TCP", "192.0.2.7", 5555))
        self.certificate = certificate
        self.aborted = False

    def getPeerCertificate(self):
        return self.certificate

    def abortConnection(self):
        self.aborted = True
        super().abortConnection()


class Recorder(Protocol):
    """
    The frontend protocol behind the gate.
    """

    made = False

    def connectionMade(self):
        self.made = True
        self.received = []

    def dataReceived(self, data):
        self.received.append(data)

    def connectionLost(self, reason):
        self.lost = reason


class GateTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.limits = HandshakeLimits(self.clock, timeout=10, max_handshakes=2, close_log=CloseLog(self.clock, 0))
        self.messages = captured_log(self)

    def connect(self, mode="off", fingerprints=(), certificate=None, bound=None):
        factory = HandshakeGateFactory(Factory.forProtocol(Recorder), self.limits, mode, fingerprints, bound)
        gate = factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 5555))
        transport = FakeTLSTransport(certificate)
        gate.makeConnection(transport)
        return gate, transport

    def test_frontend_connects_only_after_handshake(self):
        gate, transport = self.connect()
        self.assertFalse(gate.wrappedProtocol.made)
        self.assertEqual(self.limits.handshaking, 1)
        gate.handshakeCompleted()
        self.assertTrue(gate.wrappedProtocol.made)
        # The frontend talks to the TLS transport itself.
        self.assertIs(gate.wrappedProtocol.transport, transport)
        self.assertEqual(self.limits.handshaking, 0)
        gate.dataReceived(b"look\r\n")
        self.assertEqual(gate.wrappedProtocol.received, [b"look\r\n"])
        # The timer is gone: nothing happens later.
        self.clock.advance(60)
        self.assertFalse(transport.aborted)

    def test_frontend_hands_the_connection_over(self):
        """
        Once a frontend handed its TLS transport over to another protocol
        (as an HTTP request upgraded to a WebSocket does), nothing keeps
        the gate or the old frontend alive.
        """
        gate, transport = self.connect()
        gate.handshakeCompleted()
        successor = Recorder()
        successor.makeConnection(transport)
        # The listener keeps its factory.
        factory, gone = gate.factory, weakref.ref(gate)
        del gate
        gc.collect()
        self.assertIsNone(gone())
        self.assertIsNotNone(factory)
        self.assertEqual(self.limits.handshaking, 0)
        self.clock.advance(60)
        self.assertFalse(transport.aborted)

    def test_handshake_timeout(self):
        gate, transport = self.connect()
        self.clock.advance(9.9)
        self.assertFalse(transport.aborted)
        self.clock.advance(0.1)
        self.assertTrue(transport.aborted)
        self.assertEqual(self.limits.handshaking, 0)
        self.assertFalse(gate.wrappedProtocol.made)
        self.assertIn("TLS handshake from 192.0.2.7:5555 not finished in 10 seconds; closed", self.messages)
        gate.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.limits.handshaking, 0)

    def test_cap_drops_the_oldest_unfinished_handshake(self):
        """
        At the cap the newest connection is admitted and the oldest
        unfinished handshake gives way, so stalled connections cannot keep
        a real client out.
        """
        first, first_transport = self.connect()
        second, second_transport = self.connect()
        third, third_transport = self.connect()
        self.assertTrue(first_transport.aborted)
        self.assertFalse(second_transport.aborted)
        self.assertFalse(third_transport.aborted)
        self.assertEqual(self.limits.handshaking, 2)
        self.assertIn(
            "Dropped TLS handshake from 192.0.2.7:5555: the limit of 2 unfinished handshakes "
            "(tls.max_handshakes) is reached and it is the oldest",
            self.messages,
        )
        first.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.limits.handshaking, 2)
        # The newest finishes its handshake and is connected.
        third.handshakeCompleted()
        self.assertTrue(third.wrappedProtocol.made)
        self.assertEqual(self.limits.handshaking, 1)
        # A finished handshake is never dropped; the next oldest is.
        self.connect()
        _, transport = self.connect()
        self.assertTrue(second_transport.aborted)
        self.assertFalse(third_transport.aborted)
        self.assertFalse(transport.aborted)
        # The remaining two time out.
        self.clock.advance(10)
        self.assertEqual(self.limits.handshaking, 0)

    def test_failed_handshake_is_one_log_line(self):
        gate, _ = self.connect()
        error = SSL.Error([("SSL routines", "", "wrong version number")])
        gate.connectionLost(Failure(error))
        self.assertEqual(self.limits.handshaking, 0)
        self.assertFalse(gate.wrappedProtocol.made)
        self.assertIn("TLS handshake from 192.0.2.7:5555 failed: wrong version number", self.messages)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_client_closing_during_handshake(self):
        gate, _ = self.connect()
        gate.connectionLost(Failure(ConnectionDone()))
        self.assertIn("TLS handshake from 192.0.2.7:5555 failed: the client closed the connection", self.messages)

    def test_frontend_told_of_connection_loss(self):
        gate, _ = self.connect()
        gate.handshakeCompleted()
        reason = Failure(ConnectionDone())
        gate.connectionLost(reason)
        self.assertIs(gate.wrappedProtocol.lost, reason)

    def test_certificates_not_judged_when_off(self):
        # An "off" listener does not ask for certificates, so it has none
        # to refuse.
        gate, _ = self.connect("off", certificate=x509_of(self_signed("old", expired=True)[0]))
        gate.handshakeCompleted()
        self.assertTrue(gate.wrappedProtocol.made)

    def assertRefused(self, gate, transport, message):
        gate.handshakeCompleted()
        self.assertFalse(gate.wrappedProtocol.made)
        self.assertEqual(transport.value(), message.encode() + b"\r\n")
        self.assertTrue(transport.disconnecting)
        # A client that does not read its last line is cut off in time.
        self.assertFalse(transport.aborted)
        self.clock.advance(10)
        self.assertTrue(transport.aborted)

    def test_required_without_certificate(self):
        gate, transport = self.connect("required")
        self.assertRefused(gate, transport, "This port requires a client certificate; reconnect with one.")

    def test_expired_certificate(self):
        certificate = x509_of(self_signed("old", expired=True)[0])
        gate, transport = self.connect("optional", certificate=certificate)
        expires = certificate.get_notAfter().decode()
        stamp = f"{expires[:4]}-{expires[4:6]}-{expires[6:8]} {expires[8:10]}:{expires[10:12]}:{expires[12:14]} UTC"
        self.assertRefused(
            gate, transport,
            f"Your client certificate expired on {stamp}; make a new one and bind it with 'cert add'.",
        )

    def test_certificate_not_yet_valid(self):
        certificate = x509_of(self_signed("early", future=True)[0])
        gate, transport = self.connect("optional", certificate=certificate)
        starts = certificate.get_notBefore().decode()
        stamp = f"{starts[:4]}-{starts[4:6]}-{starts[6:8]} {starts[8:10]}:{starts[10:12]}:{starts[12:14]} UTC"
        self.assertRefused(
            gate, transport,
            f"Your client certificate is not valid before {stamp}; check your clock or make a new one.",
        )

    def test_allow_list(self):
        allowed = x509_of(self_signed("allowed")[0])
        listed = [allowed.digest("sha256").decode().replace(":", "").lower()]
        gate, _ = self.connect("optional", listed, certificate=allowed)
        gate.handshakeCompleted()
        self.assertTrue(gate.wrappedProtocol.made)
        gate, transport = self.connect("optional", listed, certificate=x509_of(self_signed("other")[0]))
        self.assertRefused(gate, transport, "Your client certificate is not on this port's list of allowed certificates.")
        gate, transport = self.connect("optional", listed)
        self.assertRefused(gate, transport, "This port requires a client certificate; reconnect with one.")


    def test_required_admits_bound_certificates(self):
        certificate = x509_of(self_signed("bot")[0])
        asked = []
        gate, _ = self.connect("required", certificate=certificate, bound=lambda f: asked.append(f) or succeed(7))
        gate.handshakeCompleted()
        self.assertTrue(gate.wrappedProtocol.made)
        self.assertEqual(asked, [certificate.digest("sha256").decode()])

    def test_required_refuses_unbound_certificates(self):
        certificate = x509_of(self_signed("bot")[0])
        gate, transport = self.connect("required", certificate=certificate, bound=lambda f: succeed(None))
        self.assertRefused(
            gate, transport,
            f"Your certificate {certificate.digest('sha256').decode()} is not bound to an account. "
            "Log in on another port and run 'cert add' while connected with it.",
        )

    def test_required_with_allow_list_does_not_look_up(self):
        certificate = x509_of(self_signed("bot")[0])
        gate, _ = self.connect(
            "required", [certificate.digest("sha256").decode()], certificate=certificate, bound=self.fail,
        )
        gate.handshakeCompleted()
        self.assertTrue(gate.wrappedProtocol.made)

    def test_optional_does_not_look_up(self):
        gate, _ = self.connect("optional", certificate=x509_of(self_signed("bot")[0]), bound=self.fail)
        gate.handshakeCompleted()
        self.assertTrue(gate.wrappedProtocol.made)

    def test_data_during_the_lookup_waits_for_the_frontend(self):
        pending = Deferred()
        gate, _ = self.connect("required", certificate=x509_of(self_signed("bot")[0]), bound=lambda f: pending)
        gate.handshakeCompleted()
        gate.dataReceived(b"who\n")
        self.assertFalse(gate.wrappedProtocol.made)
        self.assertEqual(self.limits.handshaking, 1)
        pending.callback(3)
        self.assertEqual(gate.wrappedProtocol.received, [b"who\n"])
        self.assertEqual(self.limits.handshaking, 0)

    def test_too_much_data_during_the_lookup(self):
        gate, transport = self.connect(
            "required", certificate=x509_of(self_signed("bot")[0]), bound=lambda f: Deferred(),
        )
        gate.handshakeCompleted()
        gate.dataReceived(b"x" * MAX_EARLY_BYTES)
        self.assertFalse(transport.aborted)
        gate.dataReceived(b"x")
        self.assertTrue(transport.aborted)
        self.assertEqual(self.limits.handshaking, 0)

    def test_slow_lookup_times_out(self):
        gate, transport = self.connect(
            "required", certificate=x509_of(self_signed("bot")[0]), bound=lambda f: Deferred(),
        )
        gate.handshakeCompleted()
        self.clock.advance(10)
        self.assertTrue(transport.aborted)
        self.assertIn("Certificate check of TLS client 192.0.2.7:5555 not finished in 10 seconds; closed", self.messages)
        gate.connectionLost(Failure(ConnectionDone()))
        self.assertFalse(gate.wrappedProtocol.made)
        self.assertEqual(self.limits.handshaking, 0)

    def test_client_leaving_during_the_lookup(self):
        gate, _ = self.connect(
            "required", certificate=x509_of(self_signed("bot")[0]), bound=lambda f: Deferred(),
        )
        gate.handshakeCompleted()
        gate.connectionLost(Failure(ConnectionDone()))
        self.assertIn("TLS client 192.0.2.7:5555 left while its certificate was checked", self.messages)
        self.assertEqual(self.limits.handshaking, 0)

    def test_failed_lookup(self):
        gate, transport = self.connect(
            "required", certificate=x509_of(self_signed("bot")[0]), bound=lambda f: fail(RuntimeError("disk on fire")),
        )
        self.assertRefused(gate, transport, "Sorry, your certificate could not be checked on our side; it has been logged.")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class FrontendsBehindGateTests(TestCase):
    """
    The built-in frontends learn from the gate that the connection is
    encrypted and which certificate the client sent.
    """

    def setUp(self):
        self.core = make_core(Clock())
        self.limits = HandshakeLimits(Clock(), timeout=10, max_handshakes=64, close_log=CloseLog(Clock(), 0))
        self.certificate = x509_of(self_signed("bot")[0])
        self.fingerprint = self.certificate.digest("sha256").decode()

    def through_gate(self, build_factory):
        factory = HandshakeGateFactory(build_factory(self.core, self.core.portal, {}), self.limits, "optional")
        gate = factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 5555))
        transport = FakeTLSTransport(self.certificate)
        gate.makeConnection(transport)
        gate.handshakeCompleted()
        return gate, transport

    def test_telnet(self):
        gate, transport = self.through_gate(telnet_factory)
        capabilities = gate.wrappedProtocol.protocol.capabilities
        self.assertTrue(capabilities.secure)
        self.assertEqual(capabilities.certificate, self.fingerprint)
        self.assertIn(b"Name: ", transport.value())

    def test_lines(self):
        gate, transport = self.through_gate(lines_factory)
        capabilities = gate.wrappedProtocol.capabilities
        self.assertTrue(capabilities.secure)
        self.assertEqual(capabilities.certificate, self.fingerprint)
        self.assertTrue(transport.value().startswith(b"OK gateway "))

    def test_plain_telnet_is_not_secure(self):
        protocol = telnet_factory(self.core, self.core.portal, {}).buildProtocol(None)
        protocol.makeConnection(StringTransport())
        self.assertFalse(protocol.protocol.capabilities.secure)
        self.assertEqual(protocol.protocol.capabilities.certificate, "")


class RefusingFrontendTests(TestCase):
    """
    A frontend whose factory provides L{IRefusingFactory} is told why the
    client certificate rules turn a client away, to say it in its own
    protocol.
    """

    def setUp(self):
        self.clock = Clock()
        self.limits = HandshakeLimits(self.clock, timeout=10, max_handshakes=64, close_log=CloseLog(self.clock, 0))

    def refused(self, frontend):
        gate = HandshakeGateFactory(frontend, self.limits, "required").buildProtocol(None)
        transport = FakeTLSTransport()
        gate.makeConnection(transport)
        gate.handshakeCompleted()
        return gate, transport

    def test_refusal_protocol(self):
        refusal = Recorder()

        @implementer(IRefusingFactory)
        class Refusing(Factory):
            protocol = Recorder

            def refuse(self, address, message):
                self.told = (address, message)
                return refusal

        frontend = Refusing()
        gate, transport = self.refused(frontend)
        self.assertEqual(frontend.told, (transport.getPeer(), "This port requires a client certificate; reconnect with one."))
        self.assertTrue(refusal.made)
        self.assertIs(refusal.transport, transport)
        gate.dataReceived(b"GET / HTTP/1.1\r\n")
        self.assertEqual(refusal.received, [b"GET / HTTP/1.1\r\n"])
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.limits.handshaking, 0)
        gate.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(refusal.lost.check(ConnectionDone))
        self.clock.advance(10)
        self.assertFalse(transport.aborted)

    def test_browser_gets_http(self):
        try:
            from gateway.frontends.websocket import build_factory
        except ImportError as e:
            raise SkipTest(str(e))
        core = make_core(self.clock)
        gate, transport = self.refused(build_factory(core, core.portal, {}))
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 503 Service Unavailable\r\n"))
        self.assertTrue(transport.value().endswith(b"\r\n\r\nThis port requires a client certificate; reconnect with one.\n"))
        self.assertTrue(transport.disconnecting)
        # A client that does not read is cut off in time.
        self.clock.advance(10)
        self.assertTrue(transport.aborted)


class RefusalOverTLSTests(TestCase):
    """
    A client the connection limits turn away learns why over TLS.
    """

    def setUp(self):
        self.clock = Clock()
        self.limits = HandshakeLimits(self.clock, timeout=10, max_handshakes=64, close_log=CloseLog(self.clock, 0))
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        self.creator = ServerTLS(config_for(directory)).creator(False)

    def test_refusal_after_the_handshake(self):
        gates = HandshakeGateFactory(Factory.forProtocol(Recorder), self.limits, "required")
        factory = TLSFactory(self.creator, False, gates)
        protocol = factory.refuse(IPv4Address("TCP", "192.0.2.7", 5555), "Server full, try again later.")
        gate = protocol.wrappedProtocol
        self.assertIsInstance(gate, HandshakeGate)
        transport = FakeTLSTransport()
        gate.makeConnection(transport)
        gate.handshakeCompleted()
        # The limits' reason, not the certificate rules, and no frontend.
        self.assertEqual(transport.value(), b"Server full, try again later.\r\n")
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(gate.wrappedProtocol)

    def test_frontend_refusing_in_its_own_way(self):
        refusal = Recorder()

        @implementer(IRefusingFactory)
        class Refusing(Factory):
            def refuse(self, address, message):
                self.message = message
                return refusal

        frontend = Refusing()
        factory = TLSFactory(self.creator, False, HandshakeGateFactory(frontend, self.limits, "off"))
        gate = factory.refuse(IPv4Address("TCP", "192.0.2.7", 5555), "Server full.").wrappedProtocol
        gate.makeConnection(FakeTLSTransport())
        gate.handshakeCompleted()
        self.assertEqual(frontend.message, "Server full.")
        self.assertTrue(refusal.made)


class ClearTextTests(TestCase):
    """
    A client that speaks in clear, not TLS, to a TLS listener.
    """

    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.limits = HandshakeLimits(self.clock, timeout=10, max_handshakes=64, close_log=CloseLog(self.clock, 0))
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        self.creator = ServerTLS(config_for(directory)).creator(False)
        self.messages = captured_log(self)

    def connect(self, build_factory, data):
        """
        Connect to a TLS listener of the frontend of C{build_factory} and
        send C{data}; returns the TLS protocol and its transport.
        """
        frontend = build_factory(self.core, self.core.portal, {})
        factory = TLSFactory(self.creator, False, HandshakeGateFactory(frontend, self.limits, "off"))
        protocol = factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 5555))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.7", 5555))
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        return protocol, transport

    def test_browser_sent_to_https(self):
        try:
            from gateway.frontends.websocket import build_factory
        except ImportError as e:
            raise SkipTest(str(e))
        protocol, transport = self.connect(build_factory, b"GET /ws HTTP/1.1\r\nHost: localhost:4080\r\n\r\n")
        self.assertTrue(transport.value().startswith(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://localhost:4080/ws\r\n"
        ))
        self.assertTrue(transport.disconnecting)
        # What else it sends is not read, as TLS or otherwise.
        transport.clear()
        protocol.dataReceived(b"\x16\x03\x01\x00\x05hello")
        self.assertEqual(transport.value(), b"")
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.limits.handshaking, 0)
        self.assertIn(
            "TLS handshake from 192.0.2.7:5555 failed: it spoke in clear, not TLS, and was answered in clear",
            self.messages,
        )

    def test_other_frontends_answer_nothing_in_clear(self):
        protocol, transport = self.connect(lines_factory, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertNotIn(b"HTTP", transport.value())
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.limits.handshaking, 0)
        self.assertTrue(any(m.startswith("TLS handshake from 192.0.2.7:5555 failed: ") for m in self.messages))
        self.assertFalse(any("answered in clear" in m for m in self.messages))


class PreloginLogRateTests(TestCase):
    """
    The lines about TLS connections that end in their handshake fall under
    C{limits.prelogin_log_rate}, like every connection closed before
    logging in.
    """

    def setUp(self):
        self.clock = Clock()
        self.messages = captured_log(self)

    def gates(self, count, max_handshakes):
        limits = HandshakeLimits(self.clock, timeout=10, max_handshakes=max_handshakes, close_log=CloseLog(self.clock, 1))
        factory = HandshakeGateFactory(Factory.forProtocol(Recorder), limits, "off")
        for _ in range(count):
            factory.buildProtocol(None).makeConnection(FakeTLSTransport())

    def test_handshake_timeouts(self):
        self.gates(100, max_handshakes=1000)
        self.clock.advance(10)
        # Five seconds' worth at one a second, then only counted.
        self.assertEqual(len(self.messages), 5)
        self.assertIn("not finished in 10 seconds", self.messages[0])
        self.clock.advance(SUMMARY_INTERVAL)
        self.assertEqual(len(self.messages), 6)
        self.assertEqual(
            self.messages[-1],
            "95 more connections closed before logging in; not logged one by one "
            "(over limits.prelogin_log_rate, 1 a second)",
        )

    def test_handshake_cap_drops(self):
        self.gates(100, max_handshakes=10)
        self.assertEqual(len(self.messages), 5)
        self.assertIn("Dropped TLS handshake", self.messages[0])
        self.clock.advance(SUMMARY_INTERVAL)
        self.assertIn("85 more connections closed before logging in", self.messages[5])


class ClosedTLSConnectionTests(TestCase):
    """
    A TLS connection that is gone is not cut for output it did not take:
    TLS asks to close again while it tells its protocol the connection is
    lost, and that is no stalled client.
    """

    def setUp(self):
        self.clock = Clock()
        self.messages = captured_log(self)
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        tls = TLSMemoryBIOFactory(ServerTLS(config_for(directory)).creator(False), False, Factory.forProtocol(Recorder))
        self.factory = LimitingFactory(tls, ConnectionLimiter(self.clock, limit_settings()), "tls")

    def test_lost_during_the_handshake(self):
        protocol = self.factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 5555))
        protocol.makeConnection(StringTransport())
        protocol.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(3600)
        self.assertEqual([m for m in self.messages if m.startswith("Cut ")], [])
