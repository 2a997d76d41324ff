"""
Client-supplied text in log events: escaped by L{loggable} so that it can
neither end a log line nor forge one, on every frontend.
"""

from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent
from twisted.trial.unittest import TestCase

from gateway.core.session import MAX_CAPABILITY_LOGS
from gateway.frontends.telnet.codes import CHARSET, DO, GMCP, IAC, NAWS, NEW_ENVIRON, WILL
from gateway.logtext import Logger, loggable, show_debug
from tests.helpers import make_core
from tests.telnet_fixtures import TelnetConnection, sb
from tests.test_output import capture_log

#: What a hostile client puts in a name: a line end, a forged line, a
#: terminal escape, a bell and a Unicode line separator.
HOSTILE = "x\r\nFailed SSH password login for root\x1b[2J\x07\u2028y"


def assert_not_forged(case, events, start, shown="\\r\\n"):
    """
    The events of C{events} whose format starts with C{start} exist, and
    each formats as one line holding no control character, with C{shown}
    (the escaped line end, unless L{None}: the text was cleaned before).
    """
    lines = [formatEvent(e) for e in events if e.get("log_format", "").startswith(start)]
    case.assertTrue(lines, f"no event {start!r}")
    for line in lines:
        case.assertTrue(line.isprintable(), repr(line))
        if shown is not None:
            case.assertIn(shown, line)


class LoggableTests(TestCase):
    def test_controls_escaped(self):
        self.assertEqual(loggable(HOSTILE), "x\\r\\nFailed SSH password login for root\\x1b[2J\\x07\\u2028y")

    def test_backslash_escaped(self):
        self.assertEqual(loggable("a\\r"), "a\\\\r")

    def test_bytes_and_plain_text(self):
        self.assertEqual(loggable(b"caf\xc3\xa9\xff\n"), "café\ufffd\\n")
        self.assertEqual(loggable("Zoë the 'great'"), "Zoë the 'great'")

    def test_bounded(self):
        self.assertEqual(loggable("a" * 500), "a" * 120 + "...")
        self.assertEqual(loggable("\n" * 10, 3), "\\n\\n\\n...")


class TelnetLogTests(TestCase):
    def setUp(self):
        self.events = capture_log(self)
        show_debug(True)
        self.addCleanup(show_debug, False)
        self.c = TelnetConnection()

    def test_gmcp_package(self):
        self.c.feed(IAC + DO + GMCP + sb(GMCP, HOSTILE.encode("utf-8") + b" {}"))
        assert_not_forged(self, self.events, "Ignored malformed GMCP")
        self.c.feed(sb(GMCP, b"Evil\\r\\nForged {}"))
        self.assertIn("Evil\\\\r\\\\nForged", formatEvent(self.events[-1]))

    def test_unknown_subnegotiation(self):
        self.c.feed(IAC + WILL + CHARSET + sb(CHARSET, b"\x07" + HOSTILE.encode("utf-8")))
        assert_not_forged(self, self.events, "Ignored a")

    def test_ipaddress(self):
        self.c.feed(IAC + WILL + NEW_ENVIRON + sb(NEW_ENVIRON, b"\x00\x00IPADDRESS\x01" + HOSTILE.encode("utf-8")))
        lines = [formatEvent(e) for e in self.events if "IPADDRESS" in e.get("log_format", "")]
        self.assertTrue(lines)
        for line in lines:
            self.assertTrue(line.isprintable(), repr(line))


class WebSocketLogTests(TestCase):
    def test_origin(self):
        try:
            from autobahn.websocket.types import ConnectionDeny, ConnectionRequest

            from gateway.frontends.websocket import WebSocketFrontend
        except ImportError:
            raise self.skipTest("needs autobahn")
        events = capture_log(self)
        frontend = WebSocketFrontend(make_core(), frozenset(), frozenset(["play.example.org"]))
        frontend.transport = StringTransport()
        request = ConnectionRequest(
            "tcp4:192.168.1.1:54321", {"host": "play.example.org"}, "play.example.org", "/ws", {}, 13,
            "http://" + HOSTILE, [], [],
        )
        self.assertRaises(ConnectionDeny, frontend.onConnect, request)
        assert_not_forged(self, events, "Refused a WebSocket")


class AmplificationTests(TestCase):
    """
    What a client can make the daemon log before logging in is bounded.
    """

    def setUp(self):
        self.events = capture_log(self)
        self.c = TelnetConnection()

    def test_debug_events_off_unless_asked_for(self):
        log = Logger()
        log.debug("hidden")
        log.info("shown")
        show_debug(True)
        self.addCleanup(show_debug, False)
        log.debug("asked for")
        self.assertEqual([e["log_format"] for e in self.events], ["shown", "asked for"])

    def test_no_debug_lines_from_negotiation_by_default(self):
        self.c.feed(IAC + WILL + NAWS + b"".join(sb(NAWS, bytes([0, n, 0, 24])) for n in range(20, 220)))
        self.assertEqual(self.c.caps.width, 219)
        self.assertEqual([e for e in self.events if e["log_level"].name == "debug"], [])

    def test_window_size_changes_logged_a_bounded_number_of_times(self):
        show_debug(True)
        self.addCleanup(show_debug, False)
        self.c.feed(IAC + WILL + NAWS + b"".join(sb(NAWS, bytes([0, n, 0, 24])) for n in range(20, 220)))
        logged = [e for e in self.events if "capabilities" in e["log_format"]]
        self.assertEqual(len(logged), MAX_CAPABILITY_LOGS)

    def test_ipaddress_logged_once(self):
        self.c.feed(IAC + WILL + NEW_ENVIRON)
        for n in range(50):
            self.c.feed(sb(NEW_ENVIRON, b"\x00\x00IPADDRESS\x01203.0.113.%d" % n))
        self.assertEqual(len([e for e in self.events if "IPADDRESS" in e["log_format"]]), 1)
