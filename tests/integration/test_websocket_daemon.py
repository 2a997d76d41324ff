"""
The WebSocket frontend in a real daemon, driven by autobahn's client
beside a telnet player.
"""

import json
import textwrap
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import ProxyHandler, build_opener

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase

from tests.daemon import Daemon, LineClient, sign_up
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn

if autobahn:
    from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol

WAIT = 15


class RecordingClient(WebSocketClientProtocol if autobahn else object):
    """
    An autobahn client that records messages and lets a test wait for one.
    """

    def __init__(self):
        super().__init__()
        self.received = []
        self.opened = Deferred()
        self.closed = Deferred()
        self.pinged = Deferred()
        self._waiting = None

    def onOpen(self):
        self.opened.callback(self)

    def onPing(self, payload):
        if not self.pinged.called:
            self.pinged.callback(None)
        super().onPing(payload)

    def onMessage(self, payload, isBinary):
        self.received.append(payload.decode("utf-8"))
        self._check()

    def onClose(self, wasClean, code, reason):
        if not self.opened.called:
            self.opened.errback(ConnectionError(f"handshake failed: {reason}"))
        self.closed.callback(code)
        if self._waiting is not None:
            d, self._waiting = self._waiting[1], None
            d.errback(AssertionError(f"closed ({code}) while waiting; got {self.received!r}"))

    def _check(self):
        if self._waiting is None:
            return
        wanted, d = self._waiting
        for index, message in enumerate(self.received):
            if wanted in message:
                del self.received[:index + 1]
                self._waiting = None
                d.callback(message)
                return

    def expect(self, wanted):
        """
        Wait (with a deadline) for a message containing C{wanted}; earlier
        messages are consumed.
        """
        d = Deferred()
        self._waiting = (wanted, d)
        self._check()
        return d.addTimeout(WAIT, reactor)

    def line(self, text):
        self.sendMessage(json.dumps({"type": "line", "text": text}).encode("utf-8"))


class WebSocketDaemonTests(TestCase):
    """
    Each test runs a daemon with a telnet and a web listener.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(textwrap.dedent("""
            [listeners.telnet]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            [listeners.web]
            frontend = "websocket"
            endpoint = "tcp:0:interface=127.0.0.1"
            [listeners.web.options]
            max_message_bytes = 1024
            ping_interval = 1
        """))
        self.daemon = Daemon(directory / "var", config=config)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)
        self.web = self.daemon.ports["web"]

    @inlineCallbacks
    def client(self, origin="same", protocols=("gateway.json",)):
        """
        Open a WebSocket to the daemon; closed after the test.
        """
        if origin == "same":
            origin = f"http://127.0.0.1:{self.web}"
        factory = WebSocketClientFactory(f"ws://127.0.0.1:{self.web}/ws", origin=origin, protocols=list(protocols))
        # No client-side timers: the test's own deadlines bound every wait,
        # and trial wants the reactor clean after each test.
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        connected = Deferred()
        factory.protocol = lambda: self._track(RecordingClient(), connected)
        reactor.connectTCP("127.0.0.1", self.web, factory, timeout=WAIT)
        client = yield connected
        yield client.opened.addTimeout(WAIT, reactor)
        return client

    def _track(self, client, connected):
        connected.callback(client)

        @inlineCallbacks
        def close():
            if not client.closed.called:
                client.sendClose()
                client.transport.loseConnection()
            yield client.closed

        self.addCleanup(close)
        return client

    def telnet(self, name):
        player = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(player.close)
        sign_up(player, name)
        return player

    @inlineCallbacks
    def sign_up(self, client, name):
        yield client.expect('"prompt","text":"Name: "')
        client.line(name)
        yield client.expect("Create it? (yes/no)")
        client.line("yes")
        yield client.expect('{"type":"echo","on":false}')
        yield client.expect("Choose a password")
        client.line("secret1")
        yield client.expect("Repeat the password")
        client.line("secret1")
        yield client.expect('{"type":"echo","on":true}')
        yield client.expect("Exits:")

    @inlineCallbacks
    def test_login_say_and_hear_telnet(self):
        client = yield self.client()
        yield self.sign_up(client, "Wendy")
        player = self.telnet("Tom")
        yield client.expect('"text":"Tom has arrived."')
        # Structured data rides next to the text.
        client.line("look")
        yield client.expect('"type":"data","package":"Room.Info"')
        client.line("say hello from the web")
        # Once the server answered, the telnet player's copy is on its way
        # (the reactor does not run while the blocking telnet client waits).
        yield client.expect('You say, \\"hello from the web\\"')
        player.expect('Wendy says, "hello from the web"')
        player.send_line("say hi websocket")
        yield client.expect('{"type":"text","text":"Tom says, \\"hi websocket\\""}')
        client.sendMessage(b'{"type":"size","width":60,"height":20}')
        client.sendMessage(b"not json")
        yield client.expect('{"type":"error","text":"messages must be JSON objects"}')
        client.line("quit")
        yield client.expect('"type":"close"')
        code = yield client.closed.addTimeout(WAIT, reactor)
        self.assertEqual(code, 1000)
        player.expect("Wendy has left.")

    @inlineCallbacks
    def test_plain_text_frames(self):
        client = yield self.client(protocols=())
        prompt = yield client.expect("Name: ")
        self.assertEqual(prompt, "Name: ")
        client.sendMessage(b"Tina")
        yield client.expect("There is no account called Tina. Create it? (yes/no) ")
        for answer in (b"yes", b"secret1", b"secret1"):
            client.sendMessage(answer)
        room = yield client.expect("Exits:")
        # Plain text frames carry no markup and no escape codes.
        self.assertNotIn("|", room)
        self.assertNotIn("\x1b", room)

    @inlineCallbacks
    def test_oversized_message_closes_connection(self):
        client = yield self.client()
        yield client.expect("Name: ")
        client.line("x" * 2000)
        code = yield client.closed.addTimeout(WAIT, reactor)
        self.assertEqual(code, 1009)

    @inlineCallbacks
    def test_bad_origin_refused(self):
        factory_error = None
        try:
            yield self.client(origin="http://evil.example")
        except ConnectionError as e:
            factory_error = str(e)
        self.assertIn("403", factory_error)
        self.assertIn("origin 'http://evil.example' is not allowed", self.daemon.output())

    @inlineCallbacks
    def test_server_pings(self):
        client = yield self.client()
        yield client.pinged.addTimeout(WAIT, reactor)

    def test_page_served(self):
        # Straight to the daemon, whatever http_proxy says (package builds
        # point it at a dead port).
        urlopen = build_opener(ProxyHandler({})).open
        base = f"http://127.0.0.1:{self.web}"
        with urlopen(f"{base}/", timeout=WAIT) as page:
            self.assertIn(b'<script src="client.js"', page.read())
            self.assertIn("connect-src 'self'", page.headers["Content-Security-Policy"])
            self.assertEqual(page.headers["X-Content-Type-Options"], "nosniff")
        with urlopen(f"{base}/client.js", timeout=WAIT) as script:
            self.assertIn(b'new WebSocket(socketUrl(), ["gateway.json"])', script.read())
        e = self.assertRaises(HTTPError, urlopen, f"{base}/gateway.toml", timeout=WAIT)
        self.assertEqual(e.code, 404)
        e.close()
