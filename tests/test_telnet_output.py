"""
How the telnet frontend writes: one write per client for a burst of input
(the core's outbox), and TCP_NODELAY when the nodelay option asks for it.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.telnet import build_factory
from tests.helpers import limited, make_core


class TCPStringTransport(StringTransport):
    """
    A L{StringTransport} that counts writes and records TCP_NODELAY.
    """

    nodelay = False
    writes = 0

    def setTcpNoDelay(self, enabled):
        self.nodelay = enabled

    def write(self, data):
        self.writes += 1
        super().write(data)


class UnixStringTransport(StringTransport):
    """
    A transport with Twisted's C{setTcpNoDelay} that fails, as it does on a
    Unix socket.
    """

    def setTcpNoDelay(self, enabled):
        raise OSError(95, "Operation not supported")


class TelnetOutputTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core()
        self.factory = limited(build_factory(self.core, self.core.portal, {}), self.core)

    def connect(self, name, transport_class=TCPStringTransport):
        protocol = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5555))
        transport = transport_class(peerAddress=IPv4Address("TCP", "192.0.2.7", 4242))
        protocol.makeConnection(transport)
        protocol.dataReceived(f"{name}\r\nyes\r\nsecret1\r\n".encode())
        protocol.dataReceived(b"\xff\xfd\x01")  # DO ECHO, as a client answers WILL ECHO
        protocol.dataReceived(b"secret1\r\n")
        self.assertIn(b"Exits:", transport.value())
        transport.clear()
        transport.writes = 0
        return protocol, transport

    def test_nodelay_off_by_default(self):
        _, transport = self.connect("Alice")
        self.assertFalse(transport.nodelay)

    def test_nodelay_on_tcp(self):
        self.factory = limited(build_factory(self.core, self.core.portal, {"nodelay": True}), self.core)
        _, transport = self.connect("Alice")
        self.assertTrue(transport.nodelay)

    def test_transport_without_tcp_options_works(self):
        protocol, transport = self.connect("Alice", StringTransport)
        protocol.dataReceived(b"say hi\r\n")
        self.assertEqual(transport.value(), b'You say, "hi"\r\n')

    def test_burst_of_lines_is_one_write_per_listener(self):
        alice, alice_wire = self.connect("Alice")
        bob, bob_wire = self.connect("Bob")
        alice_wire.clear()
        alice_wire.writes = 0
        bob.dataReceived(b"say one\r\nsay two\r\nsay three\r\n")
        self.assertEqual(alice_wire.writes, 1)
        self.assertEqual(
            alice_wire.value(), b'Bob says, "one"\r\nBob says, "two"\r\nBob says, "three"\r\n'
        )
        self.assertEqual(bob_wire.writes, 1)
        self.assertEqual(bob_wire.value(), b'You say, "one"\r\nYou say, "two"\r\nYou say, "three"\r\n')

    def test_overlong_line_message_keeps_its_place(self):
        alice, alice_wire = self.connect("Alice")
        too_long = b"say " + b"x" * self.core.settings.limits.max_line_bytes
        alice.dataReceived(b"say before\r\n" + too_long + b"\r\nsay after\r\n")
        self.assertEqual(
            alice_wire.value().decode().splitlines(),
            [
                'You say, "before"',
                f"That line was too long (over {self.core.settings.limits.max_line_bytes} bytes) and was ignored.",
                'You say, "after"',
            ],
        )

    def test_nodelay_refused_by_the_socket_is_no_error(self):
        self.factory = limited(build_factory(self.core, self.core.portal, {"nodelay": True}), self.core)
        protocol, transport = self.connect("Alice", UnixStringTransport)
        protocol.dataReceived(b"say hi\r\n")
        self.assertEqual(transport.value(), b'You say, "hi"\r\n')
