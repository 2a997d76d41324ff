"""
One output path for every listener: what a connection's start and each
read make its protocol write leaves as one write, in order (the limits
wrapper, L{gateway.frontends.limits.LimitedProtocol}, and the L{HeldWrites}
it and the TLS layer hold a read's writes in).
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.output import HeldWrites
from gateway.frontends.telnet import build_factory
from gateway.frontends.telnet.codes import DO, ECHO, IAC, NAWS, SB, SE, TTYPE, WILL
from tests.helpers import limited, make_core
from tests.telnet_fixtures import BANNER, OFFERS
from tests.test_tls_certificates import captured_log


class WriteRecorder(StringTransport):
    """
    A transport recording each write separately, and closes among them.
    """

    def __init__(self):
        super().__init__(peerAddress=IPv4Address("TCP", "192.0.2.4", 40000))
        self.writes = []

    def write(self, data):
        self.writes.append(data)
        super().write(data)

    def loseConnection(self):
        self.writes.append("close")
        super().loseConnection()


class StartAndReadTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        factory = limited(build_factory(self.core, self.core.portal, {}), self.core)
        self.wire = WriteRecorder()
        self.protocol = factory.buildProtocol(self.wire.getPeer())
        self.protocol.makeConnection(self.wire)

    def test_start_is_one_write(self):
        """
        The option offers, banner and name prompt of a new connection are
        one write (under TLS, one record).
        """
        self.assertEqual(self.wire.writes, [OFFERS + BANNER])

    def test_read_is_one_write(self):
        """
        The negotiation replies and the dialogue's answer to one read leave
        together.
        """
        del self.wire.writes[:]
        self.protocol.dataReceived(
            IAC + WILL + TTYPE + IAC + WILL + NAWS + IAC + SB + NAWS + b"\x00\x50\x00\x18" + IAC + SE + b"Alice\r\n"
        )
        self.assertEqual(len(self.wire.writes), 1)
        self.assertIn(b"Create it? (yes/no) ", self.wire.writes[0])

    def test_close_during_a_read_sends_its_output_first(self):
        """
        A connection closed while a read is handled gets what was written
        before the close.
        """
        self.protocol.dataReceived(b"Alice\r\nyes\r\nsecret1\r\n" + IAC + DO + ECHO + b"secret1\r\n")
        del self.wire.writes[:]
        self.protocol.dataReceived(b"say bye\r\nquit\r\n")
        self.assertEqual(self.wire.writes[1:], ["close"])
        self.assertTrue(self.wire.writes[0].endswith(b"Goodbye.\r\n"))

    def test_lines_frontend_read_is_one_write(self):
        """
        A protocol that knows nothing of batching (the lines frontend, or a
        plugin's) gets the same: one write per read.
        """
        from gateway.frontends.lines import build_factory as lines_factory

        factory = limited(lines_factory(self.core, self.core.portal, {}), self.core)
        protocol = factory.buildProtocol(self.wire.getPeer())
        wire = WriteRecorder()
        protocol.makeConnection(wire)
        del wire.writes[:]
        protocol.dataReceived(b"Bob\nyes\n")
        self.assertEqual(len(wire.writes), 1)


class HeldWritesTests(SynchronousTestCase):
    def setUp(self):
        self.writes = []
        self.held = HeldWrites(self.writes.append)

    def test_written_through_outside_a_hold(self):
        self.held.write(b"a")
        self.held.write(b"b")
        self.assertEqual(self.writes, [b"a", b"b"])

    def test_held_until_the_outermost_hold_ends(self):
        with self.held.holding():
            self.held.write(b"a")
            with self.held.holding():
                self.held.write(b"b")
            self.assertEqual(self.writes, [])
        self.assertEqual(self.writes, [b"ab"])

    def test_released_when_the_read_fails(self):
        with self.assertRaises(ZeroDivisionError):
            with self.held.holding():
                self.held.write(b"a")
                1 / 0
        self.assertEqual(self.writes, [b"a"])

    def test_release_before_a_close_keeps_the_order(self):
        with self.held.holding():
            self.held.write(b"before")
            self.held.release()
            self.writes.append("close")
            self.held.write(b"after")
        self.assertEqual(self.writes, [b"before", "close", b"after"])

    def test_discarded_when_cut(self):
        with self.held.holding():
            self.held.write(b"lost")
            self.held.discard()
        self.assertEqual(self.writes, [])


class ConnectionLogTests(SynchronousTestCase):
    def test_one_line_per_connection_at_disconnect(self):
        """
        A connection is logged once, when it ends: who it was, how long it
        stayed and why it ended.
        """
        messages = captured_log(self)
        clock = Clock()
        core = make_core(clock)
        protocol = build_factory(core, core.portal, {}).buildProtocol(None)
        protocol.makeConnection(WriteRecorder())
        clock.advance(50)
        self.assertEqual([message for message in messages if "<Session" in message], [])
        protocol.connectionLost(Failure(ConnectionDone()))
        [line] = [message for message in messages if "disconnected" in message]
        self.assertRegex(line, r"^<Session \d+ \(logging in\) telnet 192\.0\.2\.4:40000> disconnected after 50s: ")
        self.assertIn("Connection was closed cleanly.", line)
