"""
A telnet connection's writes: what its start and each read write leaves
as one write, in order.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.telnet import build_factory
from gateway.frontends.telnet.batch import BatchingTransport
from gateway.frontends.telnet.codes import IAC, NAWS, SB, SE, TTYPE, WILL
from tests.helpers import make_core
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
        self.protocol = build_factory(self.core, self.core.portal, {}).buildProtocol(None)
        self.wire = WriteRecorder()
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
        del self.wire.writes[:]
        with self.protocol.batching.batch():
            self.protocol.protocol.session.close("Goodbye.")
        self.assertEqual(self.wire.writes, [b"Goodbye.\r\n", "close"])


class BatchingTransportTests(SynchronousTestCase):
    def setUp(self):
        self.wire = WriteRecorder()
        self.batching = BatchingTransport(self.wire)

    def test_written_through_outside_a_batch(self):
        self.batching.write(b"a")
        self.batching.writeSequence([b"b", b"c"])
        self.assertEqual(self.wire.writes, [b"a", b"bc"])

    def test_held_until_the_outermost_batch_closes(self):
        with self.batching.batch():
            self.batching.write(b"a")
            with self.batching.batch():
                self.batching.write(b"b")
            self.assertEqual(self.wire.writes, [])
        self.assertEqual(self.wire.writes, [b"ab"])

    def test_released_when_the_batch_fails(self):
        with self.assertRaises(ZeroDivisionError):
            with self.batching.batch():
                self.batching.write(b"a")
                1 / 0
        self.assertEqual(self.wire.writes, [b"a"])

    def test_close_in_a_batch_keeps_the_order(self):
        with self.batching.batch():
            self.batching.write(b"before")
            self.batching.loseConnection()
            self.batching.write(b"after")
        self.assertEqual(self.wire.writes, [b"before", "close", b"after"])

    def test_anything_else_is_the_wrapped_transport(self):
        self.assertEqual(self.batching.getPeer(), self.wire.getPeer())


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
