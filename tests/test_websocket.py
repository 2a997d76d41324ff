"""
The WebSocket frontend: the origin policy and the JSON message format (the
real daemon with autobahn's client is in
L{tests.integration.test_websocket_daemon}).
"""

import ipaddress
import json

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from zope.interface import directlyProvides

from gateway.core import markup
from gateway.core.capabilities import Capabilities
from gateway.core.throttle import Trusted
from gateway.errors import ConfigError
from gateway.frontends import messages
from gateway.frontends.forwarded import Forwarding, forwarding
from gateway.frontends.limits import TOO_MANY_FROM_ADDRESS, ConnectionLimiter, LimitingFactory
from gateway.interfaces import IClearTextAnswer, IForwardingFactory, IRefusingFactory
from tests.helpers import make_core
from tests.test_limits import limits

try:
    from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
except ImportError:
    autobahn = None
else:
    autobahn = True
    from gateway.frontends.websocket import (
        LOOPBACK_NAMES, WebSocketFrontend, build_factory, host_allowed, https_redirect, normalize_origin,
        origin_allowed,
    )

NEEDS_AUTOBAHN = "autobahn is not installed (pip install 'gateway[websocket]' or apt install python3-autobahn)"


class RecordingSession:
    """
    Records what L{messages.deliver} passes on.
    """

    def __init__(self):
        self.lines = []
        self.changes = 0

    def line_received(self, text):
        self.lines.append(text)

    def capabilities_changed(self):
        self.changes += 1


class MessageTests(TestCase):
    def deliver(self, raw):
        session, capabilities = RecordingSession(), Capabilities(protocol="test")
        messages.deliver(raw, session, capabilities, 20)
        return session, capabilities

    def test_line(self):
        session, _ = self.deliver('{"type": "line", "text": "say hi"}')
        self.assertEqual(session.lines, ["say hi"])

    def test_lines_split_and_control_characters_dropped(self):
        session, _ = self.deliver(json.dumps({"type": "line", "text": "say \x1b[31mred\r\nlook\tnow"}))
        self.assertEqual(session.lines, ["say [31mred", "look now"])

    def test_too_long_line_refused_whole(self):
        session = RecordingSession()
        raw = json.dumps({"type": "line", "text": "look\n" + "é" * 11})
        e = self.assertRaises(messages.MessageError, messages.deliver, raw, session, None, 20)
        self.assertEqual(str(e), "That line was too long (over 20 bytes) and was ignored.")
        self.assertEqual(session.lines, [])
        session, _ = self.deliver(json.dumps({"type": "line", "text": "é" * 10}))
        self.assertEqual(session.lines, ["é" * 10])

    def test_empty_line(self):
        session, _ = self.deliver('{"type": "line", "text": ""}')
        self.assertEqual(session.lines, [""])

    def test_size(self):
        session, capabilities = self.deliver('{"type": "size", "width": 50, "height": 30}')
        self.assertEqual((capabilities.width, capabilities.height, session.changes), (50, 30, 1))

    def test_invalid(self):
        for raw, error in [
            ("look", "messages must be JSON objects"),
            ("[1]", "messages must be JSON objects"),
            ('{"type": "line", "text": 5}', "a line message needs a text string"),
            ('{"type": "size", "width": 0, "height": 30}', "a size message needs width between 1 and 1000"),
            ('{"type": "size", "width": 80, "height": true}', "a size message needs height between 1 and 1000"),
            ('{"type": "shout"}', "unknown message type 'shout' (expected 'line', 'size', 'data' or 'resume')"),
            ('{"type": "line", "text": "a\\ud800b"}', "text may not hold unpaired surrogates (\\ud800 to \\udfff)"),
            ("[" * 3000 + "]" * 3000, "messages may not be nested that deeply"),
        ]:
            e = self.assertRaises(messages.MessageError, self.deliver, raw)
            self.assertEqual(str(e), error)

    def test_server_messages(self):
        self.assertEqual(json.loads(messages.text_message('a "b"\nc')), {"type": "text", "text": 'a "b"\nc'})
        self.assertEqual(json.loads(messages.prompt_message("Name: ")), {"type": "prompt", "text": "Name: "})
        self.assertEqual(json.loads(messages.echo_message(False)), {"type": "echo", "on": False})
        self.assertEqual(json.loads(messages.close_message(None)), {"type": "close", "reason": ""})
        self.assertEqual(json.loads(messages.error_message("no")), {"type": "error", "text": "no"})
        self.assertEqual(
            json.loads(messages.data_message("Room.Info", {"name": "Hall"})),
            {"type": "data", "package": "Room.Info", "data": {"name": "Hall"}},
        )

    def test_markup_rendered_or_removed(self):
        self.assertEqual(json.loads(messages.text_message("|rred|n ok"))["text"], "red ok")
        self.assertEqual(json.loads(messages.text_message("|rred|n", markup.ANSI_16))["text"], "\x1b[31mred\x1b[0m")
        self.assertEqual(json.loads(messages.prompt_message("|hName|n: "))["text"], "Name: ")


class OriginTests(TestCase):
    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def test_normalize(self):
        self.assertEqual(normalize_origin("HTTPS://Play.Example.org:443"), "https://play.example.org")
        self.assertEqual(normalize_origin("http://example.org:8080/"), "http://example.org:8080")
        self.assertEqual(normalize_origin("http://[::1]:4080"), "http://[::1]:4080")
        for bad in ("null", "file://x", "ftp://example.org", "http://", "http://x:99999", "http://x/path"):
            self.assertIsNone(normalize_origin(bad), bad)

    def test_same_origin_allowed(self):
        self.assertTrue(origin_allowed("http://127.0.0.1:4080", "127.0.0.1:4080", False, frozenset()))
        self.assertTrue(origin_allowed("https://play.example.org", "play.example.org:443", True, frozenset()))

    def test_scheme_must_match_the_connection(self):
        self.assertFalse(origin_allowed("http://play.example.org", "play.example.org", True, frozenset()))
        self.assertFalse(origin_allowed("https://play.example.org", "play.example.org", False, frozenset()))

    def test_other_origins_refused_unless_listed(self):
        self.assertFalse(origin_allowed("http://evil.example", "127.0.0.1:4080", False, frozenset()))
        self.assertFalse(origin_allowed("null", "127.0.0.1:4080", False, frozenset()))
        listed = frozenset(["https://play.example.org"])
        self.assertTrue(origin_allowed("https://Play.example.org:443", "127.0.0.1:4080", False, listed))
        self.assertTrue(origin_allowed("http://evil.example", "127.0.0.1:4080", False, frozenset(["*"])))

    def test_no_origin_is_not_a_browser(self):
        self.assertTrue(origin_allowed(None, "127.0.0.1:4080", False, frozenset()))
        # autobahn's handshake passes an absent Origin as "".
        self.assertTrue(origin_allowed("", "127.0.0.1:4080", False, frozenset()))

    def test_host_names(self):
        loopback = frozenset(LOOPBACK_NAMES)
        for host in ("127.0.0.1:4080", "localhost", "LOCALHOST.:4080", "[::1]:4080", "[::1]"):
            self.assertTrue(host_allowed(host, loopback), host)
        for host in ("rebind.evil.example:4080", "", "127.0.0.1:x", "[::1", "10.0.0.1"):
            self.assertFalse(host_allowed(host, loopback), host)
        self.assertTrue(host_allowed("play.example.org:443", frozenset(["play.example.org"])))
        self.assertTrue(host_allowed("anything", frozenset(["*"])))

    def test_options_validated(self):
        core = make_core()
        for options, error in [
            ({"allowed_origins": ["example.org"]}, "options.allowed_origins must be a list of origins"),
            ({"allowed_origins": "*"}, "options.allowed_origins must be an array"),
            ({"max_message_bytes": 10}, "options.max_message_bytes must be a number of at least 64"),
            ({"ping_timeout": 0}, "options.ping_timeout must be a number greater than 0"),
            ({"pings": 1}, "unknown key options.pings"),
            ({"host_names": ["http://example.org"]}, "options.host_names must be a list of host names"),
            ({"trusted_proxies": ["proxy.example"]}, "options.trusted_proxies must be a list of IP addresses"),
            ({"forwarded_header": "x-real-ip"}, "options.forwarded_header must be one of 'x-forwarded-for', 'forwarded'"),
        ]:
            e = self.assertRaises(ConfigError, build_factory, core, core.portal, options)
            self.assertIn(error, str(e))


class SiteTests(TestCase):
    """
    The listener's web site, over a L{StringTransport}.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def request(self, data, clock=None):
        core = make_core(clock)
        channel = build_factory(core, core.portal, {}).buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = StringTransport()
        transport.protocol = channel
        channel.makeConnection(transport)
        channel.dataReceived(data)
        return transport

    def test_request_head_has_one_deadline(self):
        # One byte every 3 s would keep restarting an idle timer; the head
        # as a whole must arrive within handshake_timeout (10 s).
        clock = Clock()
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        transport = self.request(head[:1], clock)
        channel = transport.protocol
        for byte in head[1:4]:
            clock.advance(3)
            channel.dataReceived(bytes([byte]))
        self.assertFalse(transport.disconnecting)
        clock.advance(1.5)
        self.assertTrue(transport.disconnecting)

    def test_request_head_in_time(self):
        clock = Clock()
        transport = self.request(b"GET /missing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", clock)
        self.assertIn(b"404", transport.value().split(b"\r\n")[0])
        # The next request head has a deadline of its own, from the end of
        # the previous request.
        for part in (b"GET /missing", b" HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n"):
            clock.advance(3)
            transport.protocol.dataReceived(part)
        self.assertFalse(transport.disconnecting)
        clock.advance(1.5)
        self.assertTrue(transport.disconnecting)

    def test_refusal_and_failure_are_http(self):
        core = make_core()
        site = build_factory(core, core.portal, {})
        self.assertTrue(IRefusingFactory.providedBy(site))
        refusal = site.refuse(IPv4Address("TCP", "127.0.0.1", 5000), "The server is full.")
        transport = StringTransport()
        refusal.makeConnection(transport)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 503 Service Unavailable\r\n"))
        self.assertTrue(transport.value().endswith(b"\r\n\r\nThe server is full.\n"))
        self.assertTrue(transport.disconnecting)

    def test_large_request_body_disconnects(self):
        transport = self.request(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 20000
        )
        self.assertTrue(transport.disconnecting)

    def test_small_request_body_allowed(self):
        transport = self.request(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
        self.assertIn(b"405", transport.value().split(b"\r\n")[0])
        self.assertFalse(transport.disconnecting)


class PlainHTTPOnTLSTests(TestCase):
    """
    A browser sent to C{http://} on a listener with C{tls = true} is sent
    to C{https://}.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def test_redirect_to_the_same_address(self):
        core = make_core()
        site = build_factory(core, core.portal, {})
        self.assertTrue(IClearTextAnswer.providedBy(site))
        answer = site.answer_in_clear(b"GET /client.js?v=2 HTTP/1.1\r\nHost: Play.example.org:8443\r\n\r\n")
        head, body = answer.split(b"\r\n\r\n")
        self.assertEqual(
            head.split(b"\r\n")[:2],
            [b"HTTP/1.1 307 Temporary Redirect", b"Location: https://Play.example.org:8443/client.js?v=2"],
        )
        self.assertEqual(body, b"This address serves HTTPS only: https://Play.example.org:8443/client.js?v=2\n")
        answer = https_redirect(b"GET / HTTP/1.1\r\nhost: [::1]\r\n")
        self.assertIn(b"\r\nLocation: https://[::1]/\r\n", answer)

    def test_no_usable_host(self):
        for data in (b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\nHost: evil\"<b>\r\n\r\n"):
            answer = https_redirect(data)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer)
            self.assertNotIn(b"Location", answer)
            self.assertTrue(answer.endswith(b"\r\n\r\nThis address serves HTTPS only: use https:// in the address.\n"))

    def test_not_http(self):
        for data in (b"\x16\x03\x01\x02\x00", b"hello\r\n", b"GET"):
            self.assertIsNone(https_redirect(data))


class HandshakeTests(TestCase):
    """
    L{WebSocketFrontend.onConnect} on a transport that is or is not TLS.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def handshake(self, origin, protocols, secure, host="play.example.org"):
        frontend = WebSocketFrontend(make_core(), frozenset(), frozenset(["play.example.org"]))
        frontend.transport = StringTransport()
        if secure:
            directlyProvides(frontend.transport, ISSLTransport)
            frontend.transport.getPeerCertificate = lambda: None
        request = ConnectionRequest(
            "tcp4:192.168.1.1:54321", {"host": host, "user-agent": "Test\x07Browser"},
            "play.example.org", "/ws", {}, 13, origin, protocols, [],
        )
        return frontend, frontend.onConnect(request)

    def test_secure_structured(self):
        frontend, protocol = self.handshake("https://play.example.org", ["gateway.json", "gateway.text"], True)
        self.assertEqual(protocol, "gateway.json")
        self.assertTrue(frontend.structured)
        self.assertEqual(
            frontend.capabilities,
            Capabilities(
                protocol="websocket", secure=True, ansi=True, xterm256=True, truecolor=True, structured=True,
                peer="192.168.1.1:54321", client="TestBrowser",
            ),
        )

    def test_plain_text(self):
        frontend, protocol = self.handshake("http://play.example.org", ["gateway.text"], False)
        self.assertEqual(protocol, "gateway.text")
        self.assertFalse(frontend.structured)
        self.assertEqual((frontend.capabilities.secure, frontend.capabilities.ansi), (False, False))
        self.assertIsNone(self.handshake(None, [], False)[1])

    def test_page_over_http_refused_on_tls(self):
        e = self.assertRaises(ConnectionDeny, self.handshake, "http://play.example.org", ["gateway.json"], True)
        self.assertEqual(e.code, 403)

    def test_host_not_served_refused(self):
        # A DNS-rebinding page: its own origin, a host name this listener
        # does not serve.
        e = self.assertRaises(ConnectionDeny, self.handshake, "http://evil.example", [], False, "evil.example")
        self.assertEqual((e.code, e.reason), (403, "This host name is not served here."))
        self.assertIsNone(self.handshake(None, [], False, "Play.Example.org.:80")[1])


class ForwardingHeaderTests(TestCase):
    """
    L{forwarding} reads the client from C{X-Forwarded-For} and
    C{X-Forwarded-Proto} or from C{Forwarded}.
    """

    trusted = Trusted(["127.0.0.1", "10.0.0.0/8"])

    def xff(self, headers):
        return forwarding(headers, self.trusted, "x-forwarded-for")

    def rfc(self, header):
        return forwarding({"forwarded": header, "x-forwarded-for": "198.51.100.7"}, self.trusted, "forwarded")

    def test_x_forwarded_for(self):
        # The right-most address that is not a trusted proxy: what the
        # client wrote itself (198.51.100.7) stays to its left.
        result = self.xff(
            {"x-forwarded-for": "198.51.100.7, 203.0.113.5:4242,10.0.0.2", "x-forwarded-proto": "https",
             "forwarded": "for=192.0.2.1"}
        )
        self.assertEqual((str(result.address), result.secure, result.peer()), ("203.0.113.5", True, "203.0.113.5"))
        result = self.xff({"x-forwarded-for": "2001:db8::1", "x-forwarded-proto": "http"})
        self.assertEqual((result.peer(), result.secure), ("[2001:db8::1]", False))
        self.assertEqual(self.xff({"forwarded": "for=192.0.2.1;proto=https"}), Forwarding())

    def test_all_trusted_gives_the_left_most(self):
        result = self.xff({"x-forwarded-for": "10.1.1.1, 127.0.0.1"})
        self.assertEqual((str(result.address), result.secure), ("10.1.1.1", None))

    def test_proto_per_address(self):
        headers = {"x-forwarded-for": "203.0.113.5, 10.0.0.2", "x-forwarded-proto": "https, http"}
        self.assertEqual(self.xff(headers).secure, True)
        self.assertEqual(self.xff({"x-forwarded-proto": "https"}), Forwarding(None, True))

    def test_rfc_7239(self):
        # Only Forwarded is read: the X-Forwarded-For is a client's.
        result = self.rfc('for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711";PROTO=https, '
                          "for=10.0.0.2")
        self.assertEqual((result.peer(), result.secure), ("[2001:db8:cafe::17]", True))
        self.assertEqual(self.rfc("for=unknown;proto=https"), Forwarding(None, True))
        self.assertEqual(self.rfc('for="_hidden", for=10.0.0.3'), Forwarding())
        self.assertEqual(self.rfc("proto=https"), Forwarding(None, True))
        self.assertEqual(forwarding({"x-forwarded-for": "192.0.2.1"}, self.trusted, "forwarded"), Forwarding())

    def test_client_junk_never_read(self):
        # What a client wrote stays left of what the proxies appended.
        result = self.xff({"x-forwarded-for": "not an address, 203.0.113.5, 10.0.0.2"})
        self.assertEqual(result, Forwarding(ipaddress.ip_address("203.0.113.5")))
        result = self.rfc('garbage"; for=, for=203.0.113.5;proto=https')
        self.assertEqual(result, Forwarding(ipaddress.ip_address("203.0.113.5"), True))

    def test_malformed(self):
        for header, headers, kept, why in [
            ("forwarded", {"forwarded": "for"}, Forwarding(), "Forwarded is not a list of name=value pairs at 'for'"),
            ("forwarded", {"forwarded": 'for="[::1]'}, Forwarding(),
             "Forwarded is not a list of name=value pairs at 'for=\"[::1]'"),
            ("forwarded", {"forwarded": "for=example.org"}, Forwarding(),
             "Forwarded names 'example.org', which is not an IP address"),
            ("forwarded", {"forwarded": 'for="[::1]:x"'}, Forwarding(),
             "Forwarded names '[::1]:x', which is not an IP address"),
            ("forwarded", {"forwarded": "for=192.0.2.1;proto=gopher"}, Forwarding(ipaddress.ip_address("192.0.2.1")),
             "the forwarded scheme 'gopher' is not http or https"),
            ("x-forwarded-for", {"x-forwarded-for": "203.0.113.5:http", "x-forwarded-proto": "https"},
             Forwarding(None, True), "X-Forwarded-For names '203.0.113.5:http', which is not an IP address"),
            ("x-forwarded-for", {"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "gopher"},
             Forwarding(ipaddress.ip_address("203.0.113.5")), "the forwarded scheme 'gopher' is not http or https"),
            ("x-forwarded-for", {"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https, http"},
             Forwarding(ipaddress.ip_address("203.0.113.5")), "X-Forwarded-Proto lists 2 schemes for 1 addresses"),
        ]:
            result = forwarding(headers, self.trusted, header)
            self.assertEqual((result.address, result.secure), (kept.address, kept.secure), headers)
            self.assertEqual(result.problems, (why,))

    def test_empty(self):
        for header in ("forwarded", "x-forwarded-for"):
            self.assertEqual(forwarding({"forwarded": " ", "x-forwarded-for": ""}, self.trusted, header), Forwarding())
        # An empty element names no client.
        self.assertEqual(self.rfc("for=203.0.113.5,,for=10.0.0.2"), Forwarding())


class ProxiedHandshakeTests(TestCase):
    """
    A handshake forwarded by a reverse proxy in the listener's
    C{trusted_proxies}, through the connection limits.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def setUp(self):
        self.limiter = ConnectionLimiter(Clock(), limits(max_connections_per_address=1))
        self.factory = LimitingFactory(ServerFactory.forProtocol(Protocol), self.limiter, "web", proxies=["127.0.0.1"])

    def handshake(self, headers, proxy="127.0.0.1", origin="https://play.example.org", header="x-forwarded-for"):
        frontend = WebSocketFrontend(
            make_core(), frozenset(), frozenset(["play.example.org"]), Trusted(["127.0.0.1", "10.0.0.0/8"]), header
        )
        address = IPv4Address("TCP", proxy, 40000)
        limited = self.factory.buildProtocol(address)
        limited.makeConnection(StringTransport(peerAddress=address))
        frontend.transport = limited
        request = ConnectionRequest(
            f"tcp4:{proxy}:40000", dict(headers, host="play.example.org"),
            "play.example.org", "/ws", {}, 13, origin, ["gateway.json"], [],
        )
        return frontend, frontend.onConnect(request)

    def test_client_address_and_scheme_believed(self):
        frontend, protocol = self.handshake({"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https"})
        self.assertEqual(protocol, "gateway.json")
        caps = frontend.capabilities
        self.assertEqual((caps.peer, caps.host, caps.secure), ("203.0.113.5", "203.0.113.5", True))
        # The page's own https origin: it gets and may use resume tokens.
        self.assertTrue(frontend.same_origin)
        # The limits count the client, not the proxy.
        self.assertEqual((self.limiter.count("203.0.113.5"), self.limiter.count("127.0.0.1")), (1, 0))

    def test_per_address_cap_counts_the_client(self):
        # The proxy's own connections are exempt; its clients are not.
        self.handshake({"forwarded": "for=203.0.113.5;proto=https"}, header="forwarded")
        self.handshake({"forwarded": "for=203.0.113.6;proto=https"}, header="forwarded")
        e = self.assertRaises(
            ConnectionDeny, self.handshake, {"forwarded": "for=203.0.113.5;proto=https"}, header="forwarded"
        )
        self.assertEqual((e.code, e.reason), (503, TOO_MANY_FROM_ADDRESS))
        self.assertEqual(
            [self.limiter.count(host) for host in ("203.0.113.5", "203.0.113.6", "127.0.0.1")], [1, 1, 1]
        )

    def test_closing_releases_the_client(self):
        frontend, _ = self.handshake({"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https"})
        frontend.transport.connectionLost(None)
        self.assertEqual(self.limiter.count("203.0.113.5"), 0)
        self.handshake({"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https"})

    def test_untrusted_peer_ignored(self):
        headers = {"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https"}
        # The https page is not this plain connection's own origin.
        e = self.assertRaises(ConnectionDeny, self.handshake, headers, "192.0.2.9")
        self.assertEqual(e.code, 403)
        frontend, _ = self.handshake(headers, "192.0.2.10", "http://play.example.org")
        caps = frontend.capabilities
        self.assertEqual((caps.peer, caps.secure), ("192.0.2.10:40000", False))
        self.assertEqual((self.limiter.count("192.0.2.10"), self.limiter.count("203.0.113.5")), (1, 0))

    def test_malformed_headers_ignored(self):
        frontend, _ = self.handshake({"x-forwarded-for": "203.0.113.5; drop table"}, origin="http://play.example.org")
        self.assertEqual((frontend.capabilities.peer, frontend.capabilities.secure), ("127.0.0.1:40000", False))

    def test_site_declares_its_proxies(self):
        core = make_core()
        site = build_factory(core, core.portal, {"trusted_proxies": ["10.0.0.0/8"]})
        self.assertTrue(IForwardingFactory.providedBy(site))
        self.assertEqual(site.trusted_proxies, ["10.0.0.0/8"])
