"""
Resuming a lingering session from the web client with a resume token:
given after login to the page's own origin only, good once, for one
account, while the session lasts, and never logged.
"""

import json

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from tests.helpers import make_core, sign_up, with_settings

try:
    from autobahn.twisted.websocket import WebSocketServerFactory
except ImportError:
    autobahn = None
else:
    autobahn = True
    from gateway.frontends.websocket import WebSocketFrontend

OWN = "http://play.example.org"
OTHER = "https://friend.example.org"


def server_frames(data):
    """
    The payloads of the unmasked text frames in C{data}, after the HTTP
    response head.
    """
    data = data[data.index(b"\r\n\r\n") + 4:]
    frames = []
    while data:
        length, start = data[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(data[2:10], "big"), 10
        if data[0] & 0x0F == 1:
            frames.append(json.loads(data[start:start + length]))
        data = data[start + length:]
    return frames


class Browser:
    """
    One WebSocket connection of the web client, driven byte by byte.
    """

    def __init__(self, core, origin=OWN, allowed=(), protocol="gateway.json"):
        factory = WebSocketServerFactory(protocols=["gateway.json", "gateway.text"])
        factory.protocol = lambda: WebSocketFrontend(core, frozenset(allowed), frozenset(["play.example.org"]))
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        address = IPv4Address("TCP", "192.168.1.1", 54321)
        self.frontend = factory.buildProtocol(address)
        self.frontend.makeConnection(StringTransport(peerAddress=address))
        head = (
            "GET /ws HTTP/1.1\r\nHost: play.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {protocol}\r\n"
        )
        if origin:
            head += f"Origin: {origin}\r\n"
        self.frontend.dataReceived((head + "\r\n").encode("ascii"))

    def send(self, message):
        """
        One masked text frame from the client (the zero mask leaves the
        payload as it is): a message, or text for C{gateway.text}.
        """
        payload = (message if isinstance(message, str) else json.dumps(message)).encode("utf-8")
        assert len(payload) < 126
        self.frontend.dataReceived(bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)

    def line(self, text):
        self.send({"type": "line", "text": text} if self.frontend.structured else text)

    def messages(self, kind=None):
        if not self.frontend.structured:
            return []
        found = server_frames(self.frontend.transport.value())
        return [m for m in found if kind is None or m["type"] == kind]

    def text(self):
        return "\n".join(m["text"] for m in self.messages("text"))

    def token(self):
        """
        The last resume token the page was given, or L{None}.
        """
        given = self.messages("resume")
        return given[-1]["token"] if given else None

    def drop(self):
        self.frontend.connectionLost(Failure(ConnectionLost("the phone went to sleep")))


class ResumeTokenTests(TestCase):
    if autobahn is None:
        skip = "autobahn is not installed"

    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.bob, self.bob_session = sign_up(self.core, "Bob")
        self.page = Browser(self.core)
        for line in ("Alice", "yes", "secret1", "secret1"):
            self.page.line(line)
        self.bob.clear()

    def resume(self, name="Alice", token=None, origin=OWN, allowed=()):
        page = Browser(self.core, origin, allowed)
        page.send({"type": "resume", "name": name, "token": token or self.page.token()})
        return page

    def test_token_after_login(self):
        (given,) = self.page.messages("resume")
        self.assertEqual(given["name"], "Alice")
        self.assertGreaterEqual(len(given["token"]), 43)
        # Before the room is described: the page can tell the login
        # banner from what follows.
        kinds = [m["type"] for m in self.page.messages()]
        self.assertLess(kinds.index("resume"), len(kinds) - 1)

    def test_no_token_for_other_origins_or_plain_clients(self):
        pages = [Browser(self.core, OTHER, [OTHER]), Browser(self.core, None),
                 Browser(self.core, protocol="gateway.text")]
        for n, page in enumerate(pages):
            for line in (f"Carol{n}", "yes", "secret1", "secret1"):
                page.line(line)
            self.assertEqual(page.frontend.session.account.name, f"Carol{n}")
            self.assertNotIn(b'"resume"', page.frontend.transport.value())

    def test_resume_after_drop_replays_without_password(self):
        self.page.drop()
        self.bob_session.line_received("say are you there?")
        page = self.resume()
        self.assertIsNone(page.messages("error") or None)
        self.assertEqual(page.frontend.session.account.name, "Alice")
        self.assertIs(self.core.world.find_online("alice"), page.frontend.session)
        self.assertIn('Welcome back. You were away 1 second and missed 1 line:\nBob says, "are you there?"',
                      page.text())
        self.assertNotIn("arrived", self.bob.lines())
        self.assertNotIn("left", self.bob.lines())
        # A new token, given before the welcome back.
        self.assertNotEqual(page.token(), self.page.token())
        kinds = [m["type"] for m in page.messages()]
        welcome = [n for n, m in enumerate(page.messages()) if "Welcome back" in m.get("text", "")][0]
        self.assertLess(kinds.index("resume"), welcome)
        # Typing works and the login dialogue is over.
        page.line("say back")
        self.assertIn('Alice says, "back"', self.bob.lines())

    def test_single_use(self):
        self.page.drop()
        first = self.resume()
        first.drop()
        again = self.resume()
        self.assertEqual([m["text"] for m in again.messages("error")],
                         ["your session could not be resumed; please log in"])
        self.assertIsNone(again.frontend.session.account)
        # The login dialogue carries on (after the wait a failed login
        # costs).
        again.line("Alice")
        self.clock.advance(self.core.settings.limits.login_failure_delay)
        again.line("secret1")
        self.assertEqual(again.frontend.session.account.name, "Alice")

    def test_expires_with_the_linger(self):
        self.page.drop()
        self.clock.advance(self.core.settings.sessions.linger)
        self.assertIn("Alice has left.", self.bob.lines())
        page = self.resume()
        self.assertEqual(len(page.messages("error")), 1)
        self.assertIsNone(page.frontend.session.account)

    def test_quit_ends_the_token(self):
        self.page.line("quit")
        self.page.drop()
        self.assertEqual(len(self.resume().messages("error")), 1)

    def test_wrong_account(self):
        self.page.drop()
        page = self.resume(name="Bob")
        self.assertEqual(len(page.messages("error")), 1)
        self.assertIsNone(page.frontend.session.account)
        # The token is still good for its own account.
        self.clock.advance(self.core.settings.limits.login_failure_delay)
        self.assertEqual(self.resume().frontend.session.account.name, "Alice")

    def test_wrong_origin(self):
        self.page.drop()
        page = self.resume(origin=OTHER, allowed=[OTHER])
        self.assertEqual([m["text"] for m in page.messages("error")],
                         ["sessions are resumed only from the web client's own page"])
        self.assertIsNone(page.frontend.session.account)
        self.assertEqual(self.resume().frontend.session.account.name, "Alice")

    def test_connected_session_taken_over(self):
        """
        A page whose socket died without the server noticing comes back
        with its token: the new connection takes the session over.
        """
        page = self.resume()
        self.assertEqual(page.frontend.session.account.name, "Alice")
        self.assertEqual(self.page.messages("close")[-1]["reason"],
                         "You have logged in from another connection; this one is being closed.")

    def test_refusals_count_as_failed_logins(self):
        self.page.drop()
        self.resume(token="guessed")
        page = self.resume()
        self.assertEqual(len(page.messages("error")), 1)
        self.clock.advance(self.core.settings.limits.login_failure_delay)
        self.assertEqual(self.resume().frontend.session.account.name, "Alice")

    def test_token_never_logged(self):
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        token = self.page.token()
        self.page.drop()
        page = self.resume()
        page.drop()
        self.resume(token=token)
        self.resume(token=page.token())
        logged = "\n".join(formatEvent(event) or "" for event in events)
        self.assertIn("resume", logged)
        self.assertNotIn(token, logged)
        self.assertNotIn(page.token(), logged)

    def test_no_resume_once_logged_in(self):
        page = Browser(self.core)
        for line in ("Carol", "yes", "secret1", "secret1"):
            page.line(line)
        self.page.drop()
        page.send({"type": "resume", "name": "Alice", "token": self.page.token()})
        self.assertEqual(page.frontend.session.account.name, "Carol")
        self.assertEqual(len(page.messages("error")), 1)


class ResumeSettingsTests(TestCase):
    if autobahn is None:
        skip = "autobahn is not installed"

    def test_no_linger_no_resume(self):
        core = make_core(Clock(), with_settings(sessions={"linger": 0}))
        page = Browser(core)
        for line in ("Alice", "yes", "secret1", "secret1"):
            page.line(line)
        token = page.token()
        page.drop()
        again = Browser(core)
        again.send({"type": "resume", "name": "Alice", "token": token})
        self.assertEqual(len(again.messages("error")), 1)
