"""
The telnet frontend: IAC parsing and escaping, line endings, UTF-8,
line-length cap, ECHO around passwords, refused options.
"""

import gc
import weakref

from twisted.conch import telnet
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.frontends.telnet import build_factory
from tests.helpers import make_core, split

IAC, WILL, WONT, DO, DONT, SB, SE = telnet.IAC, telnet.WILL, telnet.WONT, telnet.DO, telnet.DONT, telnet.SB, telnet.SE
ECHO, SGA, NAWS, GA = telnet.ECHO, telnet.SGA, telnet.NAWS, telnet.GA
LINEMODE = telnet.LINEMODE


class LineBufferTests(SynchronousTestCase):
    def test_line_endings(self):
        buffer = LineBuffer(100)
        self.assertEqual(split(buffer, b"a\r\nb\nc\rd"), [b"a", b"b", b"c"])
        self.assertEqual(split(buffer, b"\n"), [b"d"])

    def test_empty_data_keeps_a_pending_cr(self):
        # Found by tests.test_fuzz: CR, nothing, LF is one line end.
        buffer = LineBuffer(100)
        self.assertEqual(split(buffer, b"a\r"), [b"a"])
        self.assertEqual(split(buffer, b""), [])
        self.assertEqual(split(buffer, b"\nb\n"), [b"b"])

    def test_crlf_split_across_packets_is_one_line_end(self):
        buffer = LineBuffer(100)
        self.assertEqual(split(buffer, b"a\r"), [b"a"])
        self.assertEqual(split(buffer, b"\nb\n"), [b"b"])

    def test_every_split_point(self):
        data = b"one\r\ntwo\nthree\r\n\r\nfour\r"
        expected = [b"one", b"two", b"three", b"", b"four"]
        for cut in range(len(data) + 1):
            buffer = LineBuffer(100)
            self.assertEqual(split(buffer, data[:cut]) + split(buffer, data[cut:]), expected, cut)

    def test_too_long_reported_once_and_skipped(self):
        buffer = LineBuffer(8)
        self.assertEqual(split(buffer, b"x" * 5), [])
        self.assertEqual(split(buffer, b"x" * 5), [TOO_LONG])
        self.assertEqual(split(buffer, b"x" * 1000), [])
        self.assertEqual(buffer.pending, 0)
        self.assertEqual(split(buffer, b"xx\nok\n"), [b"ok"])

    def test_exactly_max_is_accepted(self):
        self.assertEqual(split(LineBuffer(4), b"abcd\n"), [b"abcd"])


class TelnetTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core()
        factory = build_factory(self.core, self.core.portal, {})
        self.protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5555))
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.7", 4242))
        self.protocol.makeConnection(self.transport)
        self.frontend = self.protocol.protocol
        self.session = self.frontend.session

    def written(self):
        value = self.transport.value()
        self.transport.clear()
        return value

    def feed(self, data):
        self.protocol.dataReceived(data)

    def test_banner_and_prompt_on_connect(self):
        output = self.written()
        # The option offers come first (see test_telnet_negotiation).
        self.assertIn(b"Welcome to gateway.\r\n", output)
        self.assertTrue(output.endswith(b"Name: " + IAC + GA))
        self.assertEqual(self.frontend.capabilities.peer, "192.0.2.7:4242")
        self.assertEqual(self.frontend.capabilities.protocol, "telnet")

    def test_password_hidden_with_echo_option(self):
        self.feed(b"Alice\r\nyes\r\n")
        self.assertTrue(self.written().endswith(IAC + WILL + ECHO + b"Choose a password (at least 6 characters): " + IAC + GA))
        self.feed(IAC + DO + ECHO)
        self.feed(b"secret1\r\n")
        # Echo back on (CR LF for the unechoed Enter), then off again at
        # once for the repeat, before its prompt.
        self.assertEqual(
            self.written(), b"\r\n" + IAC + WONT + ECHO + IAC + WILL + ECHO + b"Repeat the password: " + IAC + GA
        )
        self.feed(IAC + DONT + ECHO + IAC + DO + ECHO)
        self.assertEqual(self.written(), b"")
        self.feed(b"secret1\r\n")
        output = self.written()
        self.assertIn(IAC + WONT + ECHO, output)
        self.assertIn(b"Welcome, Alice!", output)
        self.assertEqual(self.session.account.name, "Alice")

    def test_every_password_prompt_hidden_without_wont_echo_answers(self):
        """
        A client that answers C{WILL ECHO} but never C{WONT ECHO}
        (TinTin++) still has every password prompt preceded by C{WILL
        ECHO}: sign-up's two and the C{password} command's three.
        """
        self.feed(b"Alice\r\nyes\r\n")
        prompts = []

        def answer(line):
            output = self.written()
            prompts.append(output)
            self.feed(IAC + DO + ECHO + line)

        answer(b"secret1\r\n")
        answer(b"secret1\r\n")
        self.assertEqual(self.session.account.name, "Alice")
        self.written()
        self.feed(b"password\r\n")
        answer(b"secret1\r\n")
        answer(b"secret2\r\n")
        answer(b"secret2\r\n")
        self.assertIn(b"changed", self.written())
        self.assertEqual(len(prompts), 5)
        for output in prompts:
            self.assertRegex(output, IAC + WILL + ECHO + b"[^\r\n]*: " + IAC + GA + b"$")
        self.assertEqual(self.frontend.transport.state(ECHO, True), "no")

    def test_echo_restored_after_typed_ahead_password(self):
        """
        A client that answers late still ends with echo on: each request is
        written at once, and the late answers change nothing.
        """
        self.feed(b"Alice\r\nyes\r\nsecret1\r\nsecret1\r\n")
        self.assertEqual(self.session.account.name, "Alice")
        self.assertEqual(self.written().count(IAC + WONT + ECHO), 2)
        self.feed(IAC + DO + ECHO + IAC + DONT + ECHO + IAC + DO + ECHO + IAC + DONT + ECHO)
        self.assertEqual(self.written(), b"")
        self.assertEqual(self.frontend.transport.state(ECHO, True), "no")

    def test_iac_iac_is_data_and_output_is_escaped(self):
        self.feed(b"Alice\r\nyes\r\nsecret1\r\nsecret1\r\n")
        self.written()
        self.feed(b"say caf\xc3\xa9 \xff\xff\r\n")
        # 0xFF is not valid UTF-8 on its own: replaced, never a crash.
        self.assertIn('You say, "café \ufffd"'.encode("utf-8"), self.written())
        self.frontend.send("\xff")
        self.assertEqual(self.written(), "\xff".encode("utf-8") + b"\r\n")
        self.protocol.write(b"\xff")
        self.assertEqual(self.written(), IAC + IAC)

    def test_commands_split_across_packets(self):
        data = b"Al" + IAC + DO + SGA + b"ice" + IAC + WILL + LINEMODE + b"\r" + b"\n"
        for cut in range(len(data) + 1):
            core = make_core()
            protocol = build_factory(core, core.portal, {}).buildProtocol(None)
            transport = StringTransport()
            protocol.makeConnection(transport)
            protocol.dataReceived(data[:cut])
            protocol.dataReceived(data[cut:])
            output = transport.value()
            self.assertIn(b"Create it?", output, cut)
            self.assertIn(IAC + WILL + SGA, output, cut)
            self.assertIn(IAC + DONT + LINEMODE, output, cut)

    def test_unknown_option_refused(self):
        self.written()
        self.feed(IAC + WILL + b"\x99" + IAC + DO + b"\x98")
        self.assertEqual(self.written(), IAC + DONT + b"\x99" + IAC + WONT + b"\x98")

    def test_dont_for_option_never_offered_is_ignored(self):
        self.written()
        self.feed(IAC + DONT + NAWS + IAC + WONT + b"\x42")
        self.assertEqual(self.written(), b"")
        self.assertFalse(self.transport.disconnecting)

    def test_unknown_command_after_iac_ignored(self):
        self.written()
        self.feed(b"Ali" + IAC + b"\x80" + IAC + SE + b"ce\r\n")
        self.assertIn(b"There is no account called Alice", self.written())

    def test_subnegotiation_bounded_and_discarded(self):
        self.written()
        limit = self.protocol.MAX_SUBNEGOTIATION
        self.feed(IAC + SB + b"\x18" + b"x" * (limit * 3))
        self.feed(b"\xff\xff" * 10 + IAC + SE + b"Alice\r\n")
        self.assertIn(b"There is no account called Alice", self.written())
        self.assertLessEqual(len(self.protocol._subnegotiation), limit)
        self.flushLoggedErrors()

    def test_cr_nul_and_bare_lf(self):
        self.written()
        self.feed(b"Alice\r\0")
        self.assertIn(b"There is no account called Alice", self.written())
        self.feed(b"no\n")
        self.assertTrue(self.written().endswith(b"Name: " + IAC + GA))

    def test_control_characters_removed_from_input(self):
        self.feed(b"Alice\r\nyes\r\nsecret1\r\nsecret1\r\n")
        self.written()
        self.feed(b"say \x1b[31mred\x07\r\n")
        self.assertIn(b'You say, "[31mred"', self.written())

    def test_connection_lost_reaches_session(self):
        self.feed(b"Alice\r\nyes\r\nsecret1\r\nsecret1\r\n")
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(self.session.closed)
        self.assertIs(self.core.world.find_online("Alice").lingering, self.session.lingering)
        self.core.clock.advance(self.core.settings.sessions.linger)
        self.assertIsNone(self.core.world.find_online("Alice"))


class FreedOnCloseTests(SynchronousTestCase):
    def test_closed_session_is_freed_without_the_garbage_collector(self):
        """
        A connection that closes in the middle of its login dialogue leaves
        no reference cycle holding its session (nor the dialogue's frames):
        it is freed at once, not by the collector's full collections.
        """
        gc.disable()
        self.addCleanup(gc.enable)
        core = make_core()
        protocol = build_factory(core, core.portal, {}).buildProtocol(None)
        protocol.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.7", 4242)))
        protocol.dataReceived(b"alice\r\n")
        session = weakref.ref(protocol.protocol.session)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(session())
