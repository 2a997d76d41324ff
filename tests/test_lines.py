"""
The lines frontend: greeting, line handling, closing, and logging in by
client certificate.
"""

import gc
import weakref

from twisted.internet.address import IPv4Address
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
from tests.helpers import limited, make_core
from tests.test_throttle import config_with


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

    def test_options_refused(self):
        self.assertRaises(ConfigError, build_factory, self.core, self.core.portal, {"colour": True})

    def test_secure_over_tls(self):
        protocol, _ = self.connect(tls_transport())
        self.assertTrue(protocol.capabilities.secure)
        self.assertEqual(protocol.capabilities.certificate, "")


class LinesFlowTests(TestCase):
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
