"""
How a limited connection's output reaches the client
(L{gateway.frontends.output}): held for the reactor's turn and sent straight
to the socket, the rest through the transport's buffer, in order; or
written through the transport where it is not a plain socket.  (Over
real TCP: L{tests.integration.test_output_loopback}.)
"""

from twisted.internet import main
from twisted.internet.abstract import FileDescriptor
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides

from gateway.frontends.output import FLUSH_BYTES, Flusher, SocketOutput, TransportOutput, output_for
from tests.test_limits import LimitTestCase, RecordingProducer as Producer

PEER = IPv4Address("TCP", "192.0.2.1", 1000)


class FakeSocket:
    """
    The socket under a L{SocketTransport}.  C{send} records each call and
    takes everything, only C{room} bytes, or raises C{error}.
    """

    def __init__(self, events):
        self.events = events
        self.calls = []
        self.room = None
        self.error = None

    def send(self, data):
        self.calls.append(data)
        if self.error is not None:
            raise self.error
        taken = data[: self.room]
        self.events.append(("send", taken))
        return len(taken)


class SocketTransport(FileDescriptor):
    """
    A connected socket transport with Twisted's own buffering, producers
    and C{doWrite} (L{FileDescriptor}) over a L{FakeSocket}.  L{doWrite}
    stands for the socket becoming writable: C{writeSomeData} takes
    C{room} bytes (everything when L{None}).

    @ivar events: in order: C{("send", bytes)} taken by the socket directly,
        C{("buffer", bytes)} given to Twisted's buffer, C{("drain", bytes)}
        written from that buffer, and C{("loseConnection",)},
        C{("abortConnection",)}, C{("startTLS", context)}.
    """

    connected = 1

    def __init__(self, reactor, peerAddress=PEER):
        super().__init__(reactor)
        self.peer = peerAddress
        self.events = []
        self.socket = FakeSocket(self.events)
        self.room = None

    def received(self):
        """
        What the client gets, in order: the direct sends and the buffer's.
        """
        return b"".join(event[1] for event in self.events if event[0] in ("send", "drain"))

    def getHandle(self):
        return self.socket

    def getPeer(self):
        return self.peer

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", 4000)

    def write(self, data):
        self.events.append(("buffer", data))
        super().write(data)

    def writeSomeData(self, data):
        taken = bytes(data[: self.room])
        self.events.append(("drain", taken))
        return len(taken)

    def loseConnection(self):
        self.events.append(("loseConnection",))
        super().loseConnection()

    def abortConnection(self):
        self.events.append(("abortConnection",))

    def startTLS(self, context, normal=True):
        # As Twisted's: from now on the transport encrypts.
        self.events.append(("startTLS", context))
        directlyProvides(self, ISSLTransport)


class Connection:
    """
    Stands for the L{gateway.frontends.limits.LimitedProtocol}: records the
    unread output it is told of.
    """

    def __init__(self):
        self.unread = []

    def output_unread(self, size):
        self.unread.append(size)


def capture_log(case):
    """
    Collect every log event until the end of the test C{case}.
    """
    logged = []
    globalLogPublisher.addObserver(logged.append)
    case.addCleanup(globalLogPublisher.removeObserver, logged.append)
    return logged


class Turns:
    """
    For test cases whose C{clock} is the reactor.
    """

    def end_turn(self):
        """
        End the reactor's turn: what is due at C{callLater(0)} runs.
        """
        self.clock.advance(0)


class SocketTestCase(Turns, SynchronousTestCase):
    """
    A reactor clock for the L{Flusher} and the fake transports.
    """

    def setUp(self):
        self.clock = MemoryReactorClock()
        self.flusher = Flusher(self.clock)

    def output(self, port=1000):
        """
        A started L{SocketOutput} over a new L{SocketTransport}, told of
        unread output through a L{Connection}.
        """
        transport = SocketTransport(self.clock, IPv4Address("TCP", "192.0.2.1", port))
        output = SocketOutput(Connection(), transport, self.flusher)
        output.start()
        return output


class SocketOutputTests(SocketTestCase):
    def test_turn_sent_in_one_call(self):
        """
        Writes are held until the turn ends, then sent to the socket in one
        call, in order, without the transport watching the socket.
        """
        output = self.output()
        for data in (b"abc", b"def", b"ghi"):
            output.write(data)
        self.assertEqual(output.transport.socket.calls, [])
        self.end_turn()
        self.assertEqual(output.transport.socket.calls, [b"abcdefghi"])
        self.assertEqual(output.transport.events, [("send", b"abcdefghi")])
        self.assertEqual(self.clock.getWriters(), [])

    def test_one_call_per_turn_for_every_connection(self):
        """
        One scheduled call flushes every connection written to in a turn,
        and the next turn's writes schedule another.
        """
        outputs = [self.output(port) for port in (1, 2, 3)]
        for output in outputs:
            output.write(b"to %d;" % output.transport.peer.port)
            output.write(b"more")
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.end_turn()
        self.assertEqual([o.transport.socket.calls for o in outputs], [[b"to 1;more"], [b"to 2;more"], [b"to 3;more"]])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        outputs[0].write(b"again")
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_large_output_sent_within_the_turn(self):
        """
        Once a connection holds L{FLUSH_BYTES} in a turn, what it holds is
        sent at once, so its client reads while the turn goes on; what is
        written after waits for the end of the turn as usual.
        """
        output = self.output()
        piece = b"x" * (FLUSH_BYTES // 4)
        for _ in range(3):
            output.write(piece)
        self.assertEqual(output.transport.socket.calls, [])
        output.write(piece)
        self.assertEqual(output.transport.socket.calls, [piece * 4])
        output.write(b"tail")
        self.assertEqual(output.transport.socket.calls, [piece * 4])
        self.end_turn()
        self.assertEqual(output.transport.socket.calls, [piece * 4, b"tail"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_empty_write_is_ignored(self):
        """
        Writing nothing schedules nothing.
        """
        self.output().write(b"")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_text_refused_at_write(self):
        """
        Text (not bytes) raises L{TypeError} when written, and nothing is
        held.
        """
        output = self.output()
        self.assertRaises(TypeError, output.write, "text")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def assert_rest_waits_in_transport(self, jam):
        """
        After C{jam(sock)} makes the socket take less than a turn's
        output, the rest and every later write go through the transport's
        buffer until the transport has written everything; then writes go to
        the socket again.  The client gets everything, in order.
        """
        output = self.output()
        sock = output.transport.socket
        jam(sock)
        output.write(b"abc")
        output.write(b"def")
        self.end_turn()
        output.write(b"ghi")
        self.end_turn()
        sock.room = sock.error = None
        output.write(b"jkl")
        self.end_turn()
        self.assertEqual(sock.calls, [b"abcdef"])
        output.transport.doWrite()
        output.write(b"mno")
        self.end_turn()
        self.assertEqual(sock.calls, [b"abcdef", b"mno"])
        self.assertEqual(output.transport.received(), b"abcdefghijklmno")

    def test_partial_send(self):
        """
        What the socket does not take of a send waits in the transport,
        and later writes wait behind it.
        """

        def take_four(sock):
            sock.room = 4

        self.assert_rest_waits_in_transport(take_four)

    def test_full_socket(self):
        """
        A send refused with C{EAGAIN} waits in the transport, and later
        writes wait behind it.
        """

        def full(sock):
            sock.error = BlockingIOError()

        self.assert_rest_waits_in_transport(full)

    def test_broken_socket_left_to_transport(self):
        """
        A send failing with C{ECONNRESET} hands the data to the transport,
        which finds the error itself; nothing is raised or logged.
        """
        output = self.output()
        output.transport.socket.error = ConnectionResetError()
        output.write(b"lost")
        self.end_turn()
        self.assertEqual(output.transport.events, [("buffer", b"lost")])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_not_sent_to_socket_once_tls(self):
        """
        Held output of a transport that has become TLS goes through the
        transport, which encrypts it.
        """
        output = self.output()
        output.write(b"secret")
        directlyProvides(output.transport, ISSLTransport)
        self.end_turn()
        self.assertEqual(output.transport.socket.calls, [])
        self.assertEqual(output.transport.events, [("buffer", b"secret")])

    def test_unread_counted_while_buffer_full_until_drained(self):
        """
        What is written while the transport already holds more than its
        C{bufferSize} is reported as unread, partial writes notwithstanding,
        until the transport has written everything; one large turn alone
        is not (a reading client may take it).
        """
        output = self.output()
        transport = output.transport
        transport.socket.error = BlockingIOError()
        output.write(b"x" * (transport.bufferSize + 100))
        self.end_turn()
        self.assertEqual(output.connection.unread, [])
        output.write(b"x" * 10)
        self.end_turn()
        output.write(b"x" * 5)
        self.end_turn()
        self.assertEqual(output.connection.unread, [10, 15])
        transport.room = 1000
        transport.doWrite()
        output.write(b"x")
        self.end_turn()
        self.assertEqual(output.connection.unread, [10, 15, 16])
        transport.room = None
        transport.doWrite()
        output.write(b"x" * (transport.bufferSize + 1))
        self.end_turn()
        output.write(b"x")
        self.end_turn()
        self.assertEqual(output.connection.unread, [10, 15, 16, 1])

    def test_lost_connection_drops_held_output(self):
        """
        When the transport loses its connection, held output is dropped and
        the inner producer is stopped.
        """
        output = self.output()
        output.inner = Producer()
        output.write(b"never sent")
        output.transport.connectionLost(Failure(ConnectionLost()))
        self.end_turn()
        self.assertEqual(output.transport.events, [])
        self.assertEqual(output.inner.events, ["stop"])


class FlusherTests(SocketTestCase):
    def test_failure_logged_and_others_flushed(self):
        """
        An output failing to flush is logged; the others due in that turn
        are still flushed.
        """
        broken, other = self.output(1), self.output(2)
        broken.transport.socket.error = RuntimeError("socket bug")
        logged = capture_log(self)
        broken.write(b"one")
        other.write(b"two")
        self.end_turn()
        self.assertEqual(other.transport.socket.calls, [b"two"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual([event["peer"] for event in logged if "log_failure" in event], [broken.transport.peer])


class TransportOutputTests(SynchronousTestCase):
    def setUp(self):
        self.transport = StringTransport()
        self.output = TransportOutput(Connection(), self.transport)
        self.output.start()

    def test_registered_as_push_producer(self):
        self.assertIs(self.transport.producer, self.output)
        self.assertTrue(self.transport.streaming)

    def test_written_through_at_once(self):
        self.output.write(b"abc")
        self.output.write(b"def")
        self.assertEqual(self.transport.value(), b"abcdef")

    def test_text_refused_at_write(self):
        """
        Text (not bytes) raises L{TypeError}, before the transport sees it.
        """
        written = []
        self.transport.write = written.append
        self.assertRaises(TypeError, self.output.write, "text")
        self.assertEqual(written, [])

    def test_writes_while_paused_are_unread(self):
        """
        What is written while the transport has paused the output is
        reported as unread, counted afresh after each resume.
        """
        self.output.write(b"before")
        self.output.pauseProducing()
        self.output.write(b"abc")
        self.output.write(b"de")
        self.output.resumeProducing()
        self.output.write(b"after")
        self.output.pauseProducing()
        self.output.write(b"fg")
        self.assertEqual(self.output.connection.unread, [3, 5, 2])

    def test_producer_calls_passed_to_inner(self):
        self.output.inner = Producer()
        self.output.pauseProducing()
        self.output.resumeProducing()
        self.output.stopProducing()
        self.assertEqual(self.output.inner.events, ["pause", "resume", "stop"])

    def test_close_unregisters(self):
        self.output.close()
        self.assertIsNone(self.transport.producer)


class OutputForTests(SocketTestCase):
    def test_plain_socket(self):
        transport = SocketTransport(self.clock)
        self.assertIsInstance(output_for(Connection(), transport, self.flusher), SocketOutput)

    def test_tls_socket(self):
        transport = SocketTransport(self.clock)
        directlyProvides(transport, ISSLTransport)
        self.assertIsInstance(output_for(Connection(), transport, self.flusher), TransportOutput)

    def test_other_transport(self):
        self.assertIsInstance(output_for(Connection(), StringTransport(), self.flusher), TransportOutput)

    def test_socket_behind_a_proxy_header(self):
        """
        A connection whose peer a PROXY header named writes to its socket
        the same way.
        """
        from gateway.frontends.proxied import ProxiedTransport

        transport = SocketTransport(self.clock)
        proxied = ProxiedTransport(transport, IPv4Address("TCP", "203.0.113.9", 5555))
        output = output_for(Connection(), proxied, self.flusher)
        self.assertIsInstance(output, SocketOutput)
        self.assertIs(output.transport, transport)


class LimitedSocketTests(Turns, LimitTestCase):
    """
    A L{gateway.frontends.limits.LimitedProtocol} over a socket transport.
    """

    def setUp(self):
        self.clock = MemoryReactorClock()

    def connect_socket(self, **changes):
        """
        A limited protocol, with C{changes} to the limits, connected to a
        new L{SocketTransport}.
        """
        factory = self.factory(**changes)
        return self.connect(factory, transport=lambda peerAddress: SocketTransport(self.clock, peerAddress))

    def test_client_that_never_reads_is_cut(self):
        """
        Past C{max_output_bytes} written while the transport holds more
        than its C{bufferSize}, the connection is aborted, with a warning,
        and later output is dropped.
        """
        protocol, transport = self.connect_socket(max_output_bytes=4096)
        transport.socket.error = BlockingIOError()
        logged = capture_log(self)
        protocol.write(b"x" * (transport.bufferSize + 1))
        self.end_turn()
        protocol.write(b"x" * 4095)
        self.end_turn()
        protocol.write(b"x")
        self.end_turn()
        self.assertNotIn(("abortConnection",), transport.events)
        protocol.write(b"x")
        self.end_turn()
        self.assertEqual(transport.events[-1], ("abortConnection",))
        self.assertIn(
            "Cut 192.0.2.1:1000: it left over 4096 bytes of output unread", [formatEvent(event) for event in logged]
        )
        events = len(transport.events)
        protocol.write(b"more")
        self.end_turn()
        self.assertEqual(len(transport.events), events)

    def test_client_that_reads_is_never_cut(self):
        """
        Output the transport writes out does not count, however much passes
        through it over time; every turn's output goes to the socket first.
        """
        protocol, transport = self.connect_socket(max_output_bytes=4096)
        transport.socket.room = 7000
        written = []
        for i in range(50):
            chunk = bytes([ord("a") + i % 26]) * 20000
            written.append(chunk)
            protocol.write(chunk)
            self.end_turn()
            transport.doWrite()
        self.assertNotIn(("abortConnection",), transport.events)
        self.assertEqual(len(transport.socket.calls), 50)
        self.assertEqual(transport.received(), b"".join(written))

    def test_inner_producer_paused_and_resumed(self):
        """
        A push producer registered on the connection is paused once the
        transport holds more than its C{bufferSize}, and resumed when it has
        written everything.
        """
        protocol, transport = self.connect_socket()
        inner = Producer()
        protocol.registerProducer(inner, True)
        transport.socket.error = BlockingIOError()
        protocol.write(b"x" * transport.bufferSize)
        self.end_turn()
        self.assertEqual(inner.events, [])
        protocol.write(b"x")
        self.end_turn()
        protocol.write(b"x")
        self.end_turn()
        transport.room = 1
        transport.doWrite()
        self.assertEqual(inner.events, ["pause"])
        transport.room = None
        transport.doWrite()
        self.assertEqual(inner.events, ["pause", "resume"])

    def test_producer_registered_while_full_is_paused(self):
        """
        A producer registered while the transport's buffer is full is
        paused at once; one unregistered while paused is not resumed (nor
        is anything else) when the transport drains.
        """
        protocol, transport = self.connect_socket()
        transport.socket.error = BlockingIOError()
        protocol.write(b"x" * (transport.bufferSize + 1))
        self.end_turn()
        inner = Producer()
        protocol.registerProducer(inner, True)
        self.assertEqual(inner.events, ["pause"])
        protocol.unregisterProducer()
        transport.doWrite()
        self.assertEqual(inner.events, ["pause"])

    def test_half_close(self):
        """
        Closing the write side sends what is held and unregisters, so the
        transport then shuts down its write side.
        """
        protocol, transport = self.connect_socket()
        shut = []
        transport._closeWriteConnection = lambda: shut.append(True)
        protocol.write(b"bye")
        protocol.loseWriteConnection()
        self.assertEqual(transport.events[0], ("send", b"bye"))
        self.assertIsNone(transport.producer)
        transport.doWrite()
        self.assertEqual(shut, [True])

    def test_close_sends_held_output_first(self):
        """
        Closing sends what is held before the transport closes, and
        unregisters, so the transport closes once it has written everything.
        """
        protocol, transport = self.connect_socket()
        protocol.write(b"last words")
        protocol.loseConnection()
        self.assertEqual(transport.events, [("send", b"last words"), ("loseConnection",)])
        self.assertIsNone(transport.producer)
        self.assertIs(transport.doWrite(), main.CONNECTION_DONE)

    def test_close_waits_for_transport(self):
        """
        Closing a connection whose socket is full leaves its last output to
        the transport, which closes after writing it.
        """
        protocol, transport = self.connect_socket()
        transport.socket.error = BlockingIOError()
        protocol.write(b"last words")
        protocol.loseConnection()
        self.assertEqual(transport.events, [("buffer", b"last words"), ("loseConnection",)])
        self.assertIs(transport.doWrite(), main.CONNECTION_DONE)
        self.assertEqual(transport.received(), b"last words")

    def test_abort_drops_held_output(self):
        protocol, transport = self.connect_socket()
        protocol.write(b"never sent")
        protocol.abortConnection()
        self.end_turn()
        self.assertEqual(transport.events, [("abortConnection",)])

    def test_start_tls(self):
        """
        What was written before C{startTLS} goes to the socket first, in the
        clear; what follows goes through the transport, to be encrypted.
        """
        protocol, transport = self.connect_socket()
        protocol.write(b"clear")
        protocol.startTLS("context")
        protocol.write(b"secret")
        self.end_turn()
        self.assertEqual(transport.events, [("send", b"clear"), ("startTLS", "context"), ("buffer", b"secret")])
        # The transport (a TLS one now) has a push producer, never a pull
        # producer that TLS would ask for more in a loop.
        self.assertTrue(transport.streamingProducer)
        self.assertIsInstance(transport.producer, TransportOutput)
