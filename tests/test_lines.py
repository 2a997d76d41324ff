"""
The lines frontend: greeting, line handling, closing, and logging in by
client certificate.
"""

import gc
import weakref

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import directlyProvides

from gateway import __version__
from gateway.frontends.lines import build_factory
from gateway.errors import ConfigError
from tests.certs import self_signed, x509_of
from tests.helpers import limited, make_core, sign_up
from tests.test_throttle import config_with

CERTIFICATE = x509_of(self_signed("bot")[0])
FINGERPRINT = CERTIFICATE.digest("sha256").decode()


class PeerTransport(StringTransport):
    """
    A L{StringTransport} that can answer C{getPeerCertificate}.
    """

    certificate = None

    def getPeerCertificate(self):
        return self.certificate


def tls_transport(certificate=None):
    """
    A TLS transport as the handshake gate hands it over, with the client's
    certificate.
    """
    transport = PeerTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242))
    directlyProvides(transport, ISSLTransport)
    transport.certificate = certificate
    return transport


class LinesTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)

    def connect(self, transport=None):
        protocol = build_factory(self.core, self.core.portal, {}).buildProtocol(None)
        transport = transport or PeerTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242))
        protocol.makeConnection(transport)
        return protocol, transport

    def read(self, transport):
        data = transport.value().decode("utf-8")
        transport.clear()
        return data

    def test_greeting_is_the_first_line_then_the_login(self):
        protocol, transport = self.connect()
        lines = self.read(transport).split("\r\n")
        self.assertEqual(lines[0], f"OK gateway {__version__}")
        self.assertEqual(lines[-2:], ["Name: ", ""])
        self.assertFalse(protocol.capabilities.secure)
        self.assertEqual(protocol.capabilities.protocol, "lines")
        self.assertEqual(protocol.capabilities.peer, "192.0.2.9:4242")

    def test_lf_and_crlf_lines_in_utf8(self):
        protocol, transport = self.connect()
        protocol.dataReceived(b"Zoe\nyes\r\nsecret1\nsec")
        protocol.dataReceived(b"ret1\r\n")
        self.assertIn("Welcome, Zoe! Your account has been created.\r\n", self.read(transport))
        protocol.dataReceived("say h\u00e9llo \u263a\r\n".encode())
        self.assertEqual(self.read(transport), 'You say, "h\u00e9llo \u263a"\r\n')

    def test_signup_and_chat(self):
        protocol, transport = self.connect()
        protocol.dataReceived(b"Alice\nyes\nsecret1\nsecret1\n")
        self.assertIn("Exits:", self.read(transport))
        other, _ = sign_up(self.core, "Bob")
        other.session.line_received("say hi")
        self.assertIn('Bob says, "hi"\r\n', self.read(transport))

    def test_too_long_line(self):
        protocol, transport = self.connect()
        transport.clear()
        protocol.dataReceived(b"x" * 5000 + b"\n")
        self.assertEqual(self.read(transport), "That line was too long (over 4096 bytes) and was ignored.\r\n")

    def test_close_writes_reason_then_closes(self):
        protocol, transport = self.connect()
        transport.clear()
        protocol.close("Goodbye.")
        protocol.close("Twice.")
        self.assertEqual(self.read(transport), "Goodbye.\r\n")
        self.assertTrue(transport.disconnecting)

    def test_options_refused(self):
        self.assertRaises(ConfigError, build_factory, self.core, self.core.portal, {"colour": True})

    def test_secure_over_tls(self):
        protocol, _ = self.connect(tls_transport())
        self.assertTrue(protocol.capabilities.secure)
        self.assertEqual(protocol.capabilities.certificate, "")


class CertificateLoginTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        owner, session = sign_up(self.core, "Alice")
        self.successResultOf(self.core.store.bind_certificate(session.account.id, FINGERPRINT))
        session.line_received("quit")
        owner.disconnect()

    def connect(self, transport):
        protocol = build_factory(self.core, self.core.portal, {}).buildProtocol(None)
        protocol.makeConnection(transport)
        return protocol

    def test_bound_certificate_logs_in_without_password(self):
        transport = tls_transport(CERTIFICATE)
        protocol = self.connect(transport)
        output = transport.value().decode()
        # The client is told who it is logged in as, before the room.
        self.assertTrue(
            output.startswith(f"OK gateway {__version__}\r\nLogged in as Alice by your client certificate.\r\n"), output
        )
        self.assertNotIn("Name:", output)
        self.assertIn("Exits:", output)
        self.assertEqual(protocol.session.account.name, "Alice")
        self.assertEqual(protocol.capabilities.certificate, FINGERPRINT)
        self.assertEqual(self.clock.getDelayedCalls(), [])  # no login timer

    def test_unknown_certificate_asks_for_name(self):
        other = x509_of(self_signed("other")[0])
        transport = tls_transport(other)
        protocol = self.connect(transport)
        self.assertTrue(transport.value().decode().endswith("Name: \r\n"))
        self.assertIsNone(protocol.session.account)
        self.assertEqual(protocol.capabilities.certificate, other.digest("sha256").decode())

    def test_failed_certificate_login(self):
        self.patch(self.core.portal, "login", lambda *args: fail(RuntimeError("disk on fire")))
        transport = tls_transport(CERTIFICATE)
        protocol = self.connect(transport)
        self.assertIn(
            "Sorry, logging in with your certificate went wrong on our side; it has been logged.\r\n",
            transport.value().decode(),
        )
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(protocol.session.account)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_lines_wait_for_the_certificate_login(self):
        portal = self.core.portal
        pending = []

        def login(*args):
            pending.append((Deferred(), args))
            return pending[-1][0]

        self.patch(portal, "login", login)
        transport = tls_transport(CERTIFICATE)
        protocol = self.connect(transport)
        protocol.dataReceived(b"who\n")
        self.assertIsNone(protocol.session.account)
        self.assertNotIn("online", transport.value().decode())
        [(waiting, args)] = pending
        waiting.callback(self.successResultOf(type(portal).login(portal, *args)))
        self.assertIn("1 player online:", transport.value().decode())

    def test_connection_lost_before_certificate_login(self):
        pending = Deferred()
        self.patch(self.core.portal, "login", lambda *args: pending)
        protocol = self.connect(tls_transport(CERTIFICATE))
        protocol.connectionLost(Failure(ConnectionDone()))
        pending.errback(UnauthorizedLogin())
        self.assertIsNone(protocol.session)
        self.assertEqual(self.core.sessions, set())
        self.assertEqual(self.clock.getDelayedCalls(), [])


class LinesFlowTests(TestCase):
    def test_full_queue_pauses_reading_until_drained(self):
        """
        While the session's queue of waiting commands is full, the lines
        frontend stops reading from the connection.
        """
        clock = Clock()
        core = make_core(clock, config_with(max_pending_lines=2, commands_per_second=1, command_burst=1))
        protocol = build_factory(core, core.portal, {}).buildProtocol(None)
        transport = PeerTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242))
        protocol.makeConnection(transport)
        protocol.dataReceived(b"Alice\nyes\nsecret1\nsecret1\n")
        self.assertIn(b"Your account has been created", transport.value())
        protocol.dataReceived(b"look\n" * 3)
        self.assertEqual(transport.producerState, "paused")
        clock.advance(1)
        self.assertEqual(transport.producerState, "producing")
        clock.advance(1)
        self.assertEqual(transport.value().count(b"Exits:"), 4)

    def test_one_read_is_one_write(self):
        """
        What the lines of one read make the core send leaves as one write.
        """
        core = make_core(Clock(), config_with(commands_per_second=100, command_burst=100))
        protocol = limited(build_factory(core, core.portal, {}), core).buildProtocol(IPv4Address("TCP", "192.0.2.9", 4242))
        writes = []
        transport = PeerTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242))
        protocol.makeConnection(transport)
        protocol.dataReceived(b"Alice\nyes\nsecret1\nsecret1\n")
        transport.write = writes.append
        protocol.dataReceived(b"look\nlook\nwho\n")
        self.assertEqual(len(writes), 1)
        self.assertEqual(writes[0].count(b"Exits:"), 2)

    def test_closed_connection_is_freed_without_the_garbage_collector(self):
        """
        Neither the session nor the frontend of a closed connection is held
        in a reference cycle: both are freed at once.
        """
        gc.disable()
        self.addCleanup(gc.enable)
        core = make_core(Clock())
        protocol = build_factory(core, core.portal, {}).buildProtocol(None)
        protocol.makeConnection(PeerTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242)))
        protocol.dataReceived(b"Alice\n")
        session, frontend = weakref.ref(protocol.session), weakref.ref(protocol)
        protocol.connectionLost(Failure(ConnectionDone()))
        del protocol
        self.assertIsNone(session())
        self.assertIsNone(frontend())
