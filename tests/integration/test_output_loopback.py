"""
Output over real TCP on the loopback interface: a limited connection whose
socket cannot take a large write at once still delivers everything, whole
and in order.
"""

import socket

from twisted.internet import defer, reactor
from twisted.internet.protocol import ClientCreator, Protocol, ServerFactory
from twisted.trial.unittest import TestCase

from gateway.frontends.limits import ConnectionLimiter, LimitingFactory
from tests.test_limits import limits


class Writer(Protocol):
    """
    On connection, writes all of C{chunks} but the last, and the last in a
    later turn, then closes.  Its socket's send buffer is made small, so
    most of a large chunk has to wait in the transport.

    @ivar queued: what the transport held for the client when closing.
    """

    def __init__(self, chunks, lost):
        self.chunks = chunks
        self.lost = lost

    def connectionMade(self):
        self.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        for chunk in self.chunks[:-1]:
            self.transport.write(chunk)
        reactor.callLater(0, self.finish)

    def finish(self):
        self.transport.write(self.chunks[-1])
        self.transport.loseConnection()
        self.queued = self.transport._output.queued

    def connectionLost(self, reason):
        self.lost.callback(self)


class Collector(Protocol):
    """
    Collects what it receives until the connection closes, then fires
    C{received} with it.
    """

    def __init__(self):
        self.chunks = []
        self.received = defer.Deferred()

    def dataReceived(self, data):
        self.chunks.append(data)

    def connectionLost(self, reason):
        self.received.callback(b"".join(self.chunks))


class LoopbackTests(TestCase):
    """
    A limited connection over real TCP on the loopback interface.
    """

    timeout = 30

    @defer.inlineCallbacks
    def test_large_output_arrives_whole_and_in_order(self):
        large = b"".join(b"%08d" % i for i in range(2**19))
        chunks = [b"one;", b"two;", b"three;", large, b";end"]
        server_lost = defer.Deferred()
        wrapped = ServerFactory()
        wrapped.protocol = lambda: Writer(chunks, server_lost)
        # The 4 MiB written in one turn counts as unread at once: room for it.
        limiter = ConnectionLimiter(reactor, limits(max_output_bytes=2**26))
        port = reactor.listenTCP(0, LimitingFactory(wrapped, limiter, "test"), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client = yield ClientCreator(reactor, Collector).connectTCP("127.0.0.1", port.getHost().port)
        self.addCleanup(client.transport.abortConnection)
        received = yield client.received
        writer = yield server_lost
        self.assertGreater(writer.queued, 0)
        expected = b"".join(chunks)
        self.assertEqual(len(received), len(expected))
        self.assertTrue(received == expected, "the output arrived out of order")
