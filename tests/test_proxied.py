"""
Listeners behind a proxy (L{gateway.frontends.proxied}) and the PROXY
header reader (L{gateway.upstream.proxy.read_header}).
"""

import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from gateway.config import load_config
from gateway.errors import ConfigError

from gateway.frontends.limits import TOO_MANY_FROM_ADDRESS, ConnectionLimiter, LimitingFactory
from gateway.frontends.plugin import available_frontends
from gateway.frontends.proxied import HEADER_TIMEOUT, ProxiedFactory
from gateway.frontends.telnet import build_factory as telnet_factory
from gateway.service import build_listeners
from gateway.shutdown import ShutdownService
from gateway.upstream.proxy import V1_PREFIX, V2_SIGNATURE, Header, InvalidHeader, proxy_header, read_header
from gateway.upstream.relay import NAMES_WAIT
from tests.fakeupstream import upstream_core
from tests.helpers import make_core, sign_up
from tests.test_limits import limits
from tests.test_proxy_header import HAPROXY_V1, HAPROXY_V2

PROXY = IPv4Address("TCP", "10.0.0.5", 50000)
LISTENER = IPv4Address("TCP", "10.0.0.1", 4000)
CLIENT = IPv4Address("TCP", "172.19.0.1", 42578)


class ReadHeaderTests(SynchronousTestCase):
    """
    L{read_header} reads what the specification writes, and nothing else.
    """

    def test_haproxy_headers(self):
        expected = Header(CLIENT, IPv4Address("TCP", "172.19.0.3", 80), len(HAPROXY_V1))
        self.assertEqual(read_header(HAPROXY_V1 + b"hello"), expected)
        self.assertEqual(read_header(HAPROXY_V2 + b"hello"), Header(expected.source, expected.destination, 28))

    def test_round_trip(self):
        """
        What L{proxy_header} writes, L{read_header} reads back.
        """
        pairs = [
            (IPv6Address("TCP", "2001:db8::7", 1), IPv6Address("TCP", "2001:db8::1", 65535)),
            (IPv4Address("TCP", "192.0.2.7", 0), IPv4Address("TCP", "127.0.0.1", 4000)),
        ]
        for version in (1, 2):
            for source, destination in pairs:
                header = proxy_header(version, source, destination)
                self.assertEqual(read_header(header), Header(source, destination, len(header)))

    def test_mapped_addresses_read_as_ipv4(self):
        header = proxy_header(2, IPv6Address("TCP", "2001:db8::7", 1), IPv4Address("TCP", "192.0.2.1", 2))
        self.assertEqual(read_header(header).destination, IPv4Address("TCP", "192.0.2.1", 2))

    def test_no_address(self):
        """
        C{UNKNOWN}, C{LOCAL} and UNIX-socket headers name no address; the
        rest of a C{PROXY UNKNOWN} line is ignored, as specified.
        """
        local = proxy_header(2, UNIXAddress(None), None)
        unix = V2_SIGNATURE + b"\x21\x31\x00\xd8" + bytes(216)
        for header in (b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", local, unix):
            self.assertEqual(read_header(header + b"x"), Header(None, None, len(header)))

    def test_incomplete(self):
        """
        Every proper prefix of a header asks for more.
        """
        for header in (HAPROXY_V1, HAPROXY_V2):
            for end in range(len(header)):
                self.assertIsNone(read_header(header[:end]), header[:end])

    def test_invalid(self):
        bad = [
            b"GET / HTTP/1.1\r\n",
            b"\xff\xfd\x18",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nx\r\n",
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
            b"PROXY " + b"1" * 101,
            V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12),
            V2_SIGNATURE + b"\x22\x11\x00\x0c" + bytes(12),
            V2_SIGNATURE + b"\x21\x11\x00\x08" + bytes(8),
            V2_SIGNATURE + b"\x21\x12\x00\x0c" + bytes(12),
            V2_SIGNATURE + b"\x21\x11\xff\xff",
        ]
        for data in bad:
            self.assertRaises(InvalidHeader, read_header, data)

    def test_line_feed_alone_waits(self):
        """
        A version 1 header ends with CRLF only: a bare LF leaves it
        incomplete (the length limit or the timeout then ends it).
        """
        self.assertIsNone(read_header(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"))

    def test_tlvs_skipped(self):
        """
        Type-length-value records after the addresses belong to the header.
        """
        tlv = b"\x01\x00\x02h2"
        header = HAPROXY_V2[:14] + b"\x00\x11" + HAPROXY_V2[16:] + tlv
        self.assertEqual(read_header(header + b"x").length, len(header))
        self.assertEqual(read_header(header).source, CLIENT)


class Recorder(Protocol):
    """
    Records its address, what it receives and its end.
    """

    def __init__(self, address):
        self.address = address
        self.received = b""
        self.lost = False

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost = True


class RecordingFactory(ServerFactory):
    def __init__(self):
        self.built = []

    def buildProtocol(self, address):
        protocol = Recorder(address)
        self.built.append(protocol)
        return protocol


class ProxiedFactoryTests(SynchronousTestCase):
    """
    L{ProxiedFactory}: trusted proxies must send a header, which names the
    peer; others must not.
    """

    def setUp(self):
        self.clock = Clock()
        self.inner = RecordingFactory()
        self.factory = ProxiedFactory(self.inner, ["10.0.0.0/8"], self.clock, "behind-haproxy")
        self.logged = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def connect(self, peer=PROXY):
        protocol = self.factory.buildProtocol(peer)
        transport = StringTransport(peerAddress=peer, hostAddress=LISTENER)
        protocol.makeConnection(transport)
        return protocol, transport

    def messages(self):
        return [e["log_format"].format(**e) for e in self.logged if e.get("log_level") == LogLevel.info]

    def test_header_names_the_peer(self):
        """
        The client named in the header is the address the listener's
        factory is given and the peer its protocol's transport reports;
        what follows the header is the client's.
        """
        for header in (HAPROXY_V1, HAPROXY_V2):
            protocol, transport = self.connect()
            protocol.dataReceived(header + b"look\r\n")
            inner = self.inner.built[-1]
            self.assertEqual(inner.address, CLIENT)
            self.assertEqual(inner.transport.getPeer(), CLIENT)
            self.assertEqual(inner.transport.getHost(), LISTENER)
            self.assertEqual(inner.received, b"look\r\n")
            inner.transport.write(b"hi")
            self.assertEqual(transport.value(), b"hi")
            protocol.dataReceived(b"more")
            self.assertEqual(inner.received, b"look\r\nmore")
            protocol.connectionLost(None)
            self.assertTrue(inner.lost)
            self.assertFalse(transport.disconnecting)

    def test_split_header(self):
        """
        A header arriving one byte at a time is read whole; nothing is
        built before it is complete.
        """
        for header in (HAPROXY_V1, HAPROXY_V2):
            built = len(self.inner.built)
            protocol, transport = self.connect()
            for i in range(len(header)):
                self.assertEqual(len(self.inner.built), built)
                protocol.dataReceived(header[i : i + 1])
            self.assertEqual(self.inner.built[-1].address, CLIENT)
            self.assertEqual(self.inner.built[-1].received, b"")
            self.assertFalse(transport.disconnecting)

    def test_header_and_data_across_reads(self):
        protocol, _ = self.connect()
        protocol.dataReceived(HAPROXY_V1[:20])
        protocol.dataReceived(HAPROXY_V1[20:] + b"ab")
        protocol.dataReceived(b"c")
        self.assertEqual(self.inner.built[0].received, b"abc")

    def test_local_keeps_the_proxy_address(self):
        """
        A header naming no client (a health check's C{LOCAL}) leaves the
        proxy's own address.
        """
        protocol, _ = self.connect()
        protocol.dataReceived(proxy_header(2, None, None))
        self.assertEqual(self.inner.built[0].address, PROXY)
        self.assertEqual(self.inner.built[0].transport.getPeer(), PROXY)

    def test_trusted_without_header_closed(self):
        protocol, transport = self.connect()
        protocol.dataReceived(b"\xff\xfd\x18hello\r\n")
        self.assertTrue(transport.disconnected)
        self.assertEqual(self.inner.built, [])
        self.assertEqual(len(self.messages()), 1)
        self.assertIn("closed 10.0.0.5:50000: the connection did not start with a PROXY header", self.messages()[0])
        protocol.dataReceived(HAPROXY_V1)
        protocol.connectionLost(None)
        self.assertEqual(self.inner.built, [])

    def test_oversize_closed(self):
        for data in (b"PROXY TCP4 " + b"1" * 200, V2_SIGNATURE + b"\x21\x11\x10\x00"):
            protocol, transport = self.connect()
            protocol.dataReceived(data)
            self.assertTrue(transport.disconnected)
        self.assertEqual(self.inner.built, [])
        self.assertIn("longer than 107 bytes", self.messages()[0])
        self.assertIn("over 4096", self.messages()[1])

    def test_header_timeout(self):
        protocol, transport = self.connect()
        protocol.dataReceived(HAPROXY_V1[:10])
        self.clock.advance(HEADER_TIMEOUT - 0.5)
        self.assertFalse(transport.disconnected)
        self.clock.advance(0.5)
        self.assertTrue(transport.disconnected)
        self.assertIn("no complete PROXY header within 10 seconds", self.messages()[0])
        protocol.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timer_stopped(self):
        protocol, _ = self.connect()
        protocol.dataReceived(HAPROXY_V2)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        protocol, _ = self.connect()
        protocol.connectionLost(None)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_untrusted_served_directly(self):
        """
        A client from any other address gets its protocol at once, on its
        own transport, and its bytes as they come, those that may start a
        header once it is clear they do not.
        """
        client = IPv4Address("TCP", "192.0.2.7", 1234)
        protocol, transport = self.connect(client)
        inner = self.inner.built[0]
        self.assertIs(inner.transport, transport)
        protocol.dataReceived(b"\r\n")
        self.assertEqual(inner.received, b"")
        protocol.dataReceived(b"PROXY")
        self.assertEqual(inner.received, b"\r\nPROXY")
        protocol.dataReceived(b"P")
        self.assertEqual(inner.received, b"\r\nPROXYP")
        protocol.connectionLost(None)
        self.assertTrue(inner.lost)

    def test_untrusted_short_prefix_released(self):
        protocol, _ = self.connect(IPv4Address("TCP", "192.0.2.7", 1234))
        protocol.dataReceived(b"PR")
        protocol.dataReceived(b"OXIMITY")
        self.assertEqual(self.inner.built[0].received, b"PROXIMITY")

    def test_untrusted_header_refused(self):
        """
        A PROXY header from an address that is not trusted closes the
        connection, with a log line, even split over reads.
        """
        for chunks in ([HAPROXY_V1], [HAPROXY_V2], [b"PRO", b"XY TCP4"], [V2_SIGNATURE[:5], V2_SIGNATURE[5:]]):
            protocol, transport = self.connect(IPv6Address("TCP", "2001:db8::7", 1234))
            for chunk in chunks:
                protocol.dataReceived(chunk)
            self.assertTrue(transport.disconnected)
            self.assertEqual(self.inner.built[-1].received, b"")
            protocol.connectionLost(None)
            self.assertTrue(self.inner.built[-1].lost)
        self.assertEqual(len(self.messages()), 4)
        self.assertIn(
            "closed [2001:db8::7]:1234: it sent a PROXY header but is not in the listener's trusted_proxies",
            self.messages()[0],
        )

    def test_nothing_after_a_refused_header(self):
        protocol, transport = self.connect(CLIENT)
        protocol.dataReceived(b"PROXY TCP4")
        protocol.dataReceived(b"look\r\n")
        self.assertTrue(transport.disconnected)
        self.assertEqual(self.inner.built[-1].received, b"")

    def test_limits_count_the_client(self):
        """
        Outside the connection limits, the per-address cap counts the
        client the header names, not the proxy.
        """
        limiter = ConnectionLimiter(self.clock, limits(max_connections_per_address=1))
        limited = LimitingFactory(self.inner, limiter, "behind-haproxy")
        self.factory = ProxiedFactory(limited, ["10.0.0.5"], self.clock, "behind-haproxy")
        first, _ = self.connect()
        first.dataReceived(HAPROXY_V1)
        other, other_transport = self.connect()
        other.dataReceived(proxy_header(1, IPv4Address("TCP", "192.0.2.9", 1), LISTENER))
        self.assertEqual((limiter.count("172.19.0.1"), limiter.count("192.0.2.9")), (1, 1))
        self.assertEqual(limiter.count("10.0.0.5"), 0)
        again, again_transport = self.connect()
        again.dataReceived(HAPROXY_V2)
        self.assertEqual(again_transport.value(), TOO_MANY_FROM_ADDRESS.encode() + b"\r\n")
        self.assertEqual(other_transport.value(), b"")
        self.assertEqual(self.inner.built[0].transport.getPeer(), CLIENT)


class ListenerConfigTests(SynchronousTestCase):
    """
    C{trusted_proxies} on a listener: checked by the configuration, and
    wrapping the listener's factory outside its limits.
    """

    def load(self, text):
        path = FilePath(self.mktemp())
        path.setContent(text.encode("utf-8"))
        return load_config(path.path)

    def test_listener_wrapped(self):
        config = self.load(
            '[listeners.plain]\nfrontend = "telnet"\nendpoint = "tcp:0"\n'
            '[listeners.haproxy]\nfrontend = "telnet"\nendpoint = "tcp:0"\ntrusted_proxies = ["10.0.0.0/8"]\n'
        )
        services = []
        parent = types.SimpleNamespace(addService=services.append)
        build_listeners(config, make_core(config=config), MemoryReactor(), parent, available_frontends())
        factories = {service.listener: service.factory for service in services}
        self.assertIsInstance(factories["plain"], LimitingFactory)
        self.assertIsInstance(factories["haproxy"], ProxiedFactory)
        self.assertIsInstance(factories["haproxy"].wrappedFactory, LimitingFactory)
        self.assertIs(factories["haproxy"].waiting, factories["haproxy"].wrappedFactory.limiter.waiting)
        self.assertIn("10.1.2.3", factories["haproxy"].trusted)

    def test_bad_value_refused(self):
        for value in ('"10.0.0.1"', '["proxy.example.org"]', "[1]"):
            error = self.assertRaises(
                ConfigError, self.load,
                f'[listeners.haproxy]\nfrontend = "telnet"\nendpoint = "tcp:0"\ntrusted_proxies = {value}\n',
            )
            self.assertIn("listeners.haproxy.trusted_proxies must be", str(error))


class FrontendBehindProxyTests(SynchronousTestCase):
    """
    A real frontend behind a trusted proxy: its session's peer is the
    client the header named.
    """

    def test_telnet_session_peer(self):
        clock = Clock()
        core = make_core(clock)
        limited = LimitingFactory(telnet_factory(core, None, {}), ConnectionLimiter(clock, limits()), "telnet")
        factory = ProxiedFactory(limited, ["127.0.0.1"], clock, "telnet")
        proxy = IPv4Address("TCP", "127.0.0.1", 40000)
        protocol = factory.buildProtocol(proxy)
        transport = StringTransport(peerAddress=proxy)
        protocol.makeConnection(transport)
        self.assertEqual(transport.value(), b"")
        protocol.dataReceived(b"PROXY TCP6 2001:db8::7 ::1 41000 4000\r\nAlice\r\n")
        self.assertIn(b"Alice", transport.value())
        [session] = core.sessions
        self.assertEqual(session.capabilities.peer, "[2001:db8::7]:41000")
        self.assertEqual(session.capabilities.host, "2001:db8::7")


class UpstreamBehindProxyTests(SynchronousTestCase):
    """
    gateway behind HAProxy in front of a game: the game is told the
    address the inbound PROXY header named.
    """

    def relayed_game(self, **settings):
        core, endpoint = upstream_core(**settings)
        factory = ProxiedFactory(telnet_factory(core, None, {}), ["10.0.0.0/8"], core.clock, "mud")
        protocol = factory.buildProtocol(PROXY)
        protocol.makeConnection(StringTransport(peerAddress=PROXY))
        protocol.dataReceived(HAPROXY_V1)
        endpoint.flush()
        # The telnet client never names itself: the game is answered once
        # the relay stops waiting for it.
        core.clock.advance(NAMES_WAIT)
        endpoint.flush()
        return endpoint.servers[0]

    def test_mnes_names_the_client(self):
        self.assertEqual(self.relayed_game().environment[b"IPADDRESS"], b"172.19.0.1")

    def test_proxy_header_names_the_client(self):
        game = self.relayed_game(client_address="proxy-v1")
        self.assertEqual(game.received[0], b"PROXY TCP4 172.19.0.1 127.0.0.1 42578 4000")


class ShutdownTests(SynchronousTestCase):
    """
    Connections from a trusted proxy still waiting for their header when
    the daemon stops are closed with the others, not left to their
    header timeout or the end of the process.
    """

    def setUp(self):
        self.clock = Clock()
        core = self.core = make_core(self.clock)
        self.limiter = ConnectionLimiter(self.clock, limits())
        self.inner = RecordingFactory()
        self.factory = ProxiedFactory(LimitingFactory(self.inner, self.limiter, "behind-haproxy"), ["10.0.0.5"],
                                      self.clock, "behind-haproxy", limiter=self.limiter)
        self.shutdown = ShutdownService(core, self.limiter, core.settings.shutdown, self.clock)
        self.shutdown.startService()

    def connect(self):
        protocol = self.factory.buildProtocol(PROXY)
        transport = StringTransport(peerAddress=PROXY, hostAddress=LISTENER)
        protocol.makeConnection(transport)
        return protocol, transport

    def test_waiting_connection_closed(self):
        protocol, transport = self.connect()
        protocol.dataReceived(HAPROXY_V1[:10])
        self.shutdown.stopService()
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        protocol.dataReceived(HAPROXY_V1[10:] + b"look\r\n")
        self.assertEqual(self.inner.built, [])

    def test_waiting_connection_cut_after_the_grace(self):
        """
        A connection that has not closed when the shutdown's grace is over
        (the sessions have not all closed either) is cut with the others.
        """
        sign_up(self.core, "Alice")
        protocol, transport = self.connect()
        self.shutdown.stopService()
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)
        self.clock.advance(self.shutdown.settings.grace)
        self.assertTrue(transport.disconnected)

    def test_waiting_until_handed_over_or_lost(self):
        done, _ = self.connect()
        done.dataReceived(HAPROXY_V2)
        self.assertEqual(self.limiter.waiting, set())
        refused, _ = self.connect()
        refused.dataReceived(b"hello")
        expired, _ = self.connect()
        self.clock.advance(HEADER_TIMEOUT)
        self.assertEqual(self.limiter.waiting, {refused, expired})
        refused.connectionLost(None)
        expired.connectionLost(None)
        self.assertEqual(self.limiter.waiting, set())
        self.assertEqual(len(self.limiter.connections), 1)


_IPV4 = st.ip_addresses(v=4).map(lambda ip: IPv4Address("TCP", str(ip), 0))
_IPV6 = st.ip_addresses(v=6).filter(lambda ip: ip.ipv4_mapped is None).map(lambda ip: IPv6Address("TCP", str(ip), 0))
_PORTS = st.integers(0, 65535)


@st.composite
def _address_pairs(draw):
    family = draw(st.sampled_from([_IPV4, _IPV6]))
    source, destination = draw(family), draw(family)
    return (
        type(source)("TCP", source.host, draw(_PORTS)),
        type(destination)("TCP", destination.host, draw(_PORTS)),
    )


def _splits(data, cuts):
    """
    C{data} cut at the positions C{cuts} (taken modulo its length).
    """
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
#: Bytes that start like a header, or are one with something changed.
_HEADERISH = st.one_of(
    st.binary(max_size=120),
    st.builds(lambda tail: b"PROXY " + tail, st.binary(max_size=110)),
    st.builds(lambda tail: V2_SIGNATURE + tail, st.binary(max_size=60)),
    st.builds(lambda pair, version, position, byte: _changed(proxy_header(version, *pair), position, byte),
              _address_pairs(), st.sampled_from([1, 2]), st.integers(0, 200), st.integers(0, 255)),
)


def _changed(data, position, byte):
    position %= len(data)
    return data[:position] + bytes([byte]) + data[position + 1:]


class ReadHeaderFuzz(SynchronousTestCase):
    """
    The header reader given arbitrary bytes in arbitrary reads: valid
    headers are read whole from any split, anything else is refused, and
    nothing raises.
    """

    def setUp(self):
        self.clock = Clock()
        self.inner = RecordingFactory()
        self.factory = ProxiedFactory(self.inner, ["10.0.0.5"], self.clock, "behind-haproxy")

    def feed(self, chunks):
        protocol = self.factory.buildProtocol(PROXY)
        transport = StringTransport(peerAddress=PROXY, hostAddress=LISTENER)
        protocol.makeConnection(transport)
        for chunk in chunks:
            protocol.dataReceived(chunk)
        return transport

    @_FUZZ
    @given(_address_pairs(), st.sampled_from([1, 2]), st.binary(max_size=20), st.lists(st.integers(0, 200), max_size=6))
    def test_valid_header_in_any_split(self, pair, version, rest, cuts):
        header = proxy_header(version, *pair)
        self.assertEqual(read_header(header + rest), Header(pair[0], pair[1], len(header)))
        transport = self.feed(_splits(header + rest, cuts))
        self.assertFalse(transport.disconnecting)
        inner = self.inner.built[-1]
        self.assertEqual((inner.address, inner.received), (pair[0], rest))

    @_FUZZ
    @given(_HEADERISH, st.lists(st.integers(0, 200), max_size=6))
    def test_anything_else_refused(self, data, cuts):
        try:
            header = read_header(data)
        except InvalidHeader:
            header = "refused"
        built = len(self.inner.built)
        transport = self.feed(_splits(data, cuts))
        if header == "refused":
            self.assertTrue(transport.disconnected)
            self.assertEqual(len(self.inner.built), built)
        elif header is None:
            self.assertFalse(transport.disconnecting)
            self.assertEqual(len(self.inner.built), built)
        else:
            self.assertEqual(self.inner.built[-1].received, data[header.length:])
            self.assertEqual(read_header(data[:header.length]), header)

    @_FUZZ
    @given(_HEADERISH, st.lists(st.integers(0, 200), max_size=6))
    def test_untrusted_gets_everything_but_a_header(self, data, cuts):
        """
        From an address that is not trusted, what does not start with a
        PROXY header reaches the listener's protocol unchanged, in any
        split; what does is refused.
        """
        protocol = self.factory.buildProtocol(CLIENT)
        transport = StringTransport(peerAddress=CLIENT, hostAddress=LISTENER)
        protocol.makeConnection(transport)
        for chunk in _splits(data, cuts):
            protocol.dataReceived(chunk)
        inner = self.inner.built[-1]
        if data.startswith(V1_PREFIX) or data.startswith(V2_SIGNATURE):
            self.assertTrue(transport.disconnected)
            self.assertEqual(inner.received, b"")
        elif V1_PREFIX.startswith(data) or V2_SIGNATURE.startswith(data):
            self.assertFalse(transport.disconnecting)
            self.assertEqual(inner.received, b"")
        else:
            self.assertFalse(transport.disconnecting)
            self.assertEqual(inner.received, data)
