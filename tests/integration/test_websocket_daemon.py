"""
The WebSocket frontend in a real daemon, driven by autobahn's client
beside a telnet player.
"""

import json
import signal
import ssl
import textwrap
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import HTTPSHandler, ProxyHandler, build_opener

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.ssl import Certificate, PrivateCertificate, optionsForClientTLS
from twisted.trial.unittest import TestCase

from tests.certs import self_signed
from tests.daemon import Daemon, LineClient, sign_up
from tests.integration.test_tls_integration import wait_for
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn

if autobahn:
    from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol

WAIT = 15


class RecordingClient(WebSocketClientProtocol if autobahn else object):
    """
    An autobahn client that records messages and lets a test wait for one.

    @ivar history: every message received, in order.
    """

    def __init__(self):
        super().__init__()
        self.received = []
        self.history = []
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
        self.history.append(self.received[-1])
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


@inlineCallbacks
def refused(test, **kwargs):
    """
    Open a socket with C{test.client(**kwargs)} that the daemon must
    refuse; returns why it closed.
    """
    try:
        yield test.client(**kwargs)
    except ConnectionError as e:
        return str(e)
    test.fail(f"the daemon accepted a socket with {kwargs!r}")


class WebSocketDaemonTests(TestCase):
    """
    Each test runs a daemon with a telnet and a web listener.

    @cvar tls: whether the web listener has C{tls = true}.
    """

    tls = False

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [listeners.telnet]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            [listeners.web]
            frontend = "websocket"
            endpoint = "tcp:0:interface=127.0.0.1"
            tls = {str(self.tls).lower()}
            {'client_certificates = "optional"' if self.tls else ""}
            [listeners.web.options]
            max_message_bytes = 1024
            ping_interval = 1
        """))
        self.data = directory / "var"
        self.daemon = Daemon(self.data, config=config)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)
        self.web = self.daemon.ports["web"]
        scheme = "https" if self.tls else "http"
        self.page = f"{scheme}://127.0.0.1:{self.web}"

    def endpoint(self, certificate=None):
        """
        The client endpoint of the web listener: over TLS, verifying the
        daemon's development certificate for C{127.0.0.1} against its CA,
        and presenting C{certificate} (a L{PrivateCertificate}) if given.
        """
        tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", self.web, timeout=WAIT)
        if not self.tls:
            return tcp
        trust = Certificate.loadPEM((self.data / "tls-dev-ca.pem").read_bytes())
        return wrapClientTLS(optionsForClientTLS("127.0.0.1", trustRoot=trust, clientCertificate=certificate), tcp)

    @inlineCallbacks
    def client(self, origin="same", protocols=("gateway.json",), host="127.0.0.1", certificate=None):
        """
        Open a WebSocket to the daemon; closed after the test.

        @param origin: the C{Origin} header (C{"same"}: the page's own).
        @param host: the host name in the socket's URL (and C{Host}
            header); the connection goes to 127.0.0.1 whatever it is.
        @param certificate: the client certificate to present over TLS.
        """
        if origin == "same":
            origin = self.page
        scheme = "wss" if self.tls else "ws"
        factory = WebSocketClientFactory(f"{scheme}://{host}:{self.web}/ws", origin=origin, protocols=list(protocols))
        # No client-side timers: the test's own deadlines bound every wait,
        # and trial wants the reactor clean after each test.
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        connected = Deferred()
        factory.protocol = lambda: self._track(RecordingClient(), connected)
        yield self.endpoint(certificate).connect(factory)
        client = yield connected
        yield client.opened.addTimeout(WAIT, reactor)
        return client

    def opener(self):
        """
        A URL opener straight to the daemon, whatever C{http_proxy} says
        (package builds point it at a dead port), trusting the daemon's
        development CA.
        """
        handlers = [ProxyHandler({})]
        if self.tls:
            handlers.append(HTTPSHandler(context=ssl.create_default_context(cafile=str(self.data / "tls-dev-ca.pem"))))
        return build_opener(*handlers)

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
        urlopen = self.opener().open
        base = self.page
        with urlopen(f"{base}/", timeout=WAIT) as page:
            self.assertIn(b'<script src="client.js"', page.read())
            self.assertIn("connect-src 'self'", page.headers["Content-Security-Policy"])
            self.assertEqual(page.headers["X-Content-Type-Options"], "nosniff")
        with urlopen(f"{base}/client.js", timeout=WAIT) as script:
            self.assertIn(b'new WebSocket(socketUrl(), ["gateway.json"])', script.read())
        e = self.assertRaises(HTTPError, urlopen, f"{base}/gateway.toml", timeout=WAIT)
        self.assertEqual(e.code, 404)
        e.close()


class SecureWebSocketDaemonTests(WebSocketDaemonTests):
    """
    The same over C{https://} and C{wss://} (C{tls = true}, the development
    certificate), with what only TLS has.
    """

    tls = True

    def refused(self, **kwargs):
        return refused(self, **kwargs)

    @inlineCallbacks
    def test_origins_and_hosts(self):
        # The page's own origin under another name the listener serves.
        client = yield self.client(origin=f"https://localhost:{self.web}", host="localhost")
        yield client.expect("Name: ")
        # The same host and port over plain http is another origin.
        why = yield self.refused(origin=self.page.replace("https:", "http:"))
        self.assertIn("403", why)
        why = yield self.refused(origin="https://evil.example")
        self.assertIn("403", why)
        self.assertIn("origin 'https://evil.example' is not allowed", self.daemon.output())
        # A page of a name the listener does not serve (DNS rebinding).
        why = yield self.refused(origin=f"https://evil.example:{self.web}", host="evil.example")
        self.assertIn("403", why)
        self.assertIn("host 'evil.example:", self.daemon.output())

    @inlineCallbacks
    def test_client_certificate_logs_in(self):
        certificate = PrivateCertificate.loadPEM(b"".join(self_signed("wss-bot")))
        client = yield self.client(certificate=certificate)
        yield self.sign_up(client, "Bea")
        client.line("cert add")
        yield client.expect("is now bound to your account")
        client.line("quit")
        yield client.closed.addTimeout(WAIT, reactor)
        again = yield self.client(certificate=certificate)
        yield again.expect("Logged in as Bea by your client certificate.")
        yield again.expect("Exits:")
        self.assertFalse(any("Name: " in m for m in again.history))

    def test_plain_http_is_sent_to_https(self):
        with self.opener().open(f"http://localhost:{self.web}/client.js", timeout=WAIT) as script:
            self.assertEqual(script.url, f"https://localhost:{self.web}/client.js")
            self.assertIn(b"new WebSocket(socketUrl()", script.read())
        wait_for(self.daemon, "spoke in clear, not TLS, and was answered in clear")

    @inlineCallbacks
    def test_resume_token(self):
        """
        The page's own origin gets a resume token over C{wss://} and
        resumes a dropped session with it, without a password.
        """
        client = yield self.client()
        yield self.sign_up(client, "Rhea")
        [token] = [json.loads(m) for m in client.history if m.startswith('{"type":"resume"')]
        self.assertEqual(token["name"], "Rhea")
        client.transport.abortConnection()
        yield client.closed.addTimeout(WAIT, reactor)
        player = self.telnet("Theo")
        player.send_line("say while you were away")
        player.expect('You say, "while you were away"')
        again = yield self.client()
        yield again.expect("Name: ")
        again.sendMessage(json.dumps({"type": "resume", "name": "Rhea", "token": token["token"]}).encode("utf-8"))
        yield again.expect("Welcome back. You were away")
        yield again.expect('Theo says, \\"while you were away\\"')
        again.line("say back")
        yield again.expect('You say, \\"back\\"')
        player.expect('Rhea says, "back"')
        player.send_line("who")
        listing = player.expect("idle")
        listing += player.expect("idle")
        self.assertRegex(listing, r"Rhea\s+websocket \(secure\)")
        # A fresh token for the next time.
        [fresh] = [json.loads(m) for m in again.history if m.startswith('{"type":"resume"')]
        self.assertEqual(fresh["name"], "Rhea")
        self.assertNotEqual(fresh["token"], token["token"])

    @inlineCallbacks
    def test_certificate_reload_keeps_sessions(self):
        """
        SIGHUP with a new certificate: open sockets carry on, new ones get
        the new certificate.
        """
        client = yield self.client()
        yield self.sign_up(client, "Cleo")
        old_ca = (self.data / "tls-dev-ca.pem").read_bytes()
        (self.data / "tls-dev-cert.pem").unlink()
        self.daemon.process.send_signal(signal.SIGHUP)
        deadline = reactor.seconds() + WAIT
        # Once at start, once now.
        while self.daemon.output().count("Generated a development TLS certificate") < 2:
            self.assertLess(reactor.seconds(), deadline, f"no new certificate:\n{self.daemon.output()}")
            yield deferLater(reactor, 0.05)
        self.assertNotEqual((self.data / "tls-dev-ca.pem").read_bytes(), old_ca)
        client.line("say still here")
        yield client.expect('You say, \\"still here\\"')
        player = self.telnet("Tess")
        yield client.expect("Tess has arrived.")
        fresh = yield self.client()
        yield fresh.expect("Name: ")
        player.send_line("say hello both")
        yield client.expect('Tess says, \\"hello both\\"')
