"""
The limits around every listener's factory: connection caps, new
connections per address, the unread-output cut-off, and crash isolation.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from gateway.frontends.limits import SERVER_FULL, TOO_MANY_FROM_ADDRESS, ConnectionLimiter, LimitingFactory
from gateway.frontends.telnet import build_factory
from gateway.interfaces import IRefusingFactory
from tests.helpers import make_core
from tests.test_throttle import config_with


def limits(**changes):
    return config_with(**changes).limits


class Echo(Protocol):
    def dataReceived(self, data):
        if data == b"boom":
            raise RuntimeError("handler bug")
        self.transport.write(data)


class SlowTransport(StringTransport):
    """
    A transport whose send buffer holds C{size} bytes: past that it pauses
    its producer, as TCP does, until L{drain}.
    """

    size = 1000

    def write(self, data):
        super().write(data)
        if len(self.value()) > self.size and self.producer is not None and not self.paused:
            self.paused = True
            self.producer.pauseProducing()

    def drain(self):
        self.clear()
        if self.paused:
            self.paused = False
            self.producer.resumeProducing()

    paused = False


@implementer(IPushProducer)
class RecordingProducer:
    """
    A push producer of the protocol above the limits, recording what it is
    asked.
    """

    def __init__(self):
        self.events = []

    def pauseProducing(self):
        self.events.append("pause")

    def resumeProducing(self):
        self.events.append("resume")

    def stopProducing(self):
        self.events.append("stop")


class LimitTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()

    def factory(self, protocol=Echo, **changes):
        self.limiter = ConnectionLimiter(self.clock, limits(**changes))
        wrapped = ServerFactory.forProtocol(protocol)
        return LimitingFactory(wrapped, self.limiter, "test")

    def connect(self, factory, host="192.0.2.1", port=1000, transport=StringTransport):
        address = IPv4Address("TCP", host, port)
        protocol = factory.buildProtocol(address)
        t = transport(peerAddress=address)
        protocol.makeConnection(t)
        return protocol, t


class ConnectionCapTests(LimitTestCase):
    def test_total_cap_refuses_with_a_line(self):
        factory = self.factory(max_connections=2)
        self.connect(factory, "192.0.2.1")
        self.connect(factory, "192.0.2.2")
        _, refused = self.connect(factory, "192.0.2.3")
        self.assertEqual(refused.value(), SERVER_FULL.encode() + b"\r\n")
        self.assertTrue(refused.disconnecting)
        self.assertEqual(len(self.limiter.connections), 2)

    def test_per_address_cap_and_release(self):
        factory = self.factory(max_connections_per_address=2)
        first, t1 = self.connect(factory)
        self.connect(factory)
        _, refused = self.connect(factory)
        self.assertEqual(refused.value(), TOO_MANY_FROM_ADDRESS.encode() + b"\r\n")
        # Another address is unaffected.
        _, other = self.connect(factory, "192.0.2.9")
        self.assertFalse(other.disconnecting)
        first.connectionLost(None)
        self.assertEqual(self.limiter.count("192.0.2.1"), 1)
        _, again = self.connect(factory)
        self.assertFalse(again.disconnecting)

    def test_new_connections_per_interval(self):
        factory = self.factory(max_new_connections_per_address=3, new_connection_interval=60)
        for _ in range(3):
            protocol, _ = self.connect(factory)
            protocol.connectionLost(None)
        _, refused = self.connect(factory)
        self.assertIn(b"Too many new connections from your address; try again in 60 seconds.", refused.value())
        self.clock.advance(30)
        _, refused = self.connect(factory)
        self.assertIn(b"try again in 30 seconds.", refused.value())
        self.clock.advance(30)
        _, admitted = self.connect(factory)
        self.assertFalse(admitted.disconnecting)

    def test_trusted_addresses_are_exempt(self):
        factory = self.factory(
            max_connections_per_address=1, max_new_connections_per_address=1, trusted_addresses=["192.0.2.0/24"]
        )
        for port in range(5):
            _, t = self.connect(factory, "192.0.2.7", port)
            self.assertFalse(t.disconnecting)
        self.connect(factory, "198.51.100.1")
        _, refused = self.connect(factory, "198.51.100.1")
        self.assertTrue(refused.disconnecting)

    def test_factory_can_refuse_in_its_own_protocol(self):
        refusals = []

        @implementer(IRefusingFactory)
        class Refusing(ServerFactory):
            protocol = Echo

            def refuse(self, address, message):
                refusals.append((address.host, message))
                return Protocol()

        self.limiter = ConnectionLimiter(self.clock, limits(max_connections=1))
        factory = LimitingFactory(Refusing(), self.limiter)
        self.connect(factory)
        _, refused = self.connect(factory, "192.0.2.5")
        self.assertEqual(refusals, [("192.0.2.5", SERVER_FULL)])
        self.assertEqual(refused.value(), b"")


class OutputCapTests(LimitTestCase):
    def test_client_that_stops_reading_is_cut(self):
        factory = self.factory(max_output_bytes=4096)
        protocol, transport = self.connect(factory, transport=SlowTransport)
        protocol.dataReceived(b"x" * 1001)
        self.assertTrue(transport.paused)
        for _ in range(4):
            protocol.dataReceived(b"y" * 1000)
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(b"z" * 1000)
        self.assertTrue(transport.disconnecting)
        held = len(transport.value())
        # Nothing more is buffered once cut: memory stays bounded.
        protocol.dataReceived(b"more" * 1000)
        self.assertEqual(len(transport.value()), held)

    def test_reading_client_is_never_cut(self):
        factory = self.factory(max_output_bytes=4096)
        protocol, transport = self.connect(factory, transport=SlowTransport)
        for _ in range(100):
            protocol.dataReceived(b"x" * 1500)
            transport.drain()
        self.assertFalse(transport.disconnecting)

    def test_inner_push_producer_is_paused_and_resumed(self):
        factory = self.factory()
        protocol, transport = self.connect(factory, transport=SlowTransport)
        inner = RecordingProducer()
        protocol.registerProducer(inner, True)
        protocol.write(b"x" * 2000)
        transport.drain()
        protocol.unregisterProducer()
        protocol.write(b"x" * 2000)
        transport.drain()
        self.assertEqual(inner.events, ["pause", "resume"])
        self.assertRaises(ValueError, protocol.registerProducer, object(), False)

    def test_close_unregisters_and_times_out(self):
        factory = self.factory(close_timeout=30)
        protocol, transport = self.connect(factory, transport=SlowTransport)
        protocol.write(b"x" * 2000)
        protocol.loseConnection()
        self.assertIsNone(transport.producer)
        self.assertTrue(transport.disconnecting)
        aborted = []
        transport.abortConnection = lambda: aborted.append(True)
        self.clock.advance(30)
        self.assertEqual(aborted, [True])

    def test_no_close_timer_once_lost(self):
        """
        A protocol asking to close while it is told the connection is lost
        (as TLS does) starts no timer: nothing is left to take.
        """

        class ClosingWhenLost(Protocol):
            def connectionLost(self, reason):
                self.transport.loseConnection()

        protocol, transport = self.connect(self.factory(ClosingWhenLost))
        protocol.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_close_timer_cancelled_when_closed(self):
        factory = self.factory()
        protocol, transport = self.connect(factory)
        protocol.loseConnection()
        protocol.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class CrashIsolationTests(LimitTestCase):
    def test_protocol_exception_closes_only_that_connection(self):
        factory = self.factory()
        bad, bad_transport = self.connect(factory, port=1)
        good, good_transport = self.connect(factory, port=2)
        bad.dataReceived(b"boom")
        [error] = self.flushLoggedErrors(RuntimeError)
        self.assertIn(b"Sorry, your connection failed on our side (reference ", bad_transport.value())
        self.assertTrue(bad_transport.disconnecting)
        bad.dataReceived(b"ignored")
        self.assertNotIn(b"ignored", bad_transport.value())
        good.dataReceived(b"hello")
        self.assertEqual(good_transport.value(), b"hello")
        self.assertFalse(good_transport.disconnecting)

    def test_connection_made_exception(self):
        class Broken(Protocol):
            def connectionMade(self):
                raise RuntimeError("plugin bug")

        factory = self.factory(Broken)
        _, transport = self.connect(factory)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(transport.disconnecting)

    def test_connection_lost_exception_still_releases(self):
        class Broken(Protocol):
            def connectionLost(self, reason):
                raise RuntimeError("plugin bug")

        factory = self.factory(Broken)
        protocol, _ = self.connect(factory)
        protocol.connectionLost(None)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(len(self.limiter.connections), 0)

    def test_build_protocol_exception_refuses_with_reference(self):
        class Broken(ServerFactory):
            def buildProtocol(self, addr):
                raise RuntimeError("plugin bug")

        self.limiter = ConnectionLimiter(self.clock, limits())
        factory = LimitingFactory(Broken(), self.limiter)
        _, transport = self.connect(factory)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertIn(b"Sorry, the server failed to accept you (reference ", transport.value())
        self.assertEqual(len(self.limiter.connections), 0)

    def test_close_all(self):
        factory = self.factory()
        transports = [self.connect(factory, port=p)[1] for p in range(3)]
        self.limiter.close_all()
        self.assertTrue(all(t.disconnecting and t.producer is None for t in transports))

    def test_abort_all(self):
        factory = self.factory()
        transports = [self.connect(factory, port=p)[1] for p in range(3)]
        self.assertEqual(self.limiter.abort_all(), 3)
        self.assertTrue(all(t.disconnecting for t in transports))


class TelnetFlowTests(LimitTestCase):
    def test_full_queue_pauses_reading_the_socket(self):
        core = make_core(self.clock, config_with(max_pending_lines=2, commands_per_second=1, command_burst=1))
        self.limiter = ConnectionLimiter(self.clock, core.settings.limits)
        factory = LimitingFactory(build_factory(core, None, {}), self.limiter, "telnet")
        protocol, transport = self.connect(factory)
        protocol.dataReceived(b"Alice\r\nyes\r\nsecret1\r\nsecret1\r\n")
        self.assertIn(b"Your account has been created", transport.value())
        protocol.dataReceived(b"look\r\n" * 3)
        self.assertEqual(transport.producerState, "paused")
        self.clock.advance(1)
        self.assertEqual(transport.producerState, "producing")
        self.clock.advance(1)
        self.assertEqual(transport.value().count(b"Exits:"), 4)
