"""
Random input against the line splitter, the telnet parser and the command
dispatcher: no exception escapes and nothing grows without bound.
"""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.frontends.telnet import build_factory
from tests.helpers import make_core, sign_up
from tests.test_throttle import config_with

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

#: Bytes weighted toward what parsers find hard: IAC, SB, SE, WILL..DONT,
#: CR, LF, NUL and high bytes.
_TRICKY = st.sampled_from([b"\xff", b"\xfa", b"\xf0", b"\xfb", b"\xfc", b"\xfd", b"\xfe", b"\r", b"\n", b"\0", b"\x01", b"\x1b"])
_CHUNK = st.lists(st.one_of(_TRICKY, st.binary(max_size=40)), max_size=30).map(b"".join)


class LineBufferFuzz(SynchronousTestCase):
    @FUZZ
    @given(st.lists(_CHUNK, max_size=20), st.integers(min_value=4, max_value=64))
    def test_matches_a_reference_split(self, chunks, limit):
        buffer = LineBuffer(limit)
        got = []
        for chunk in chunks:
            got.extend(buffer.feed(chunk))
            self.assertLessEqual(buffer.pending, limit)
        data = b"".join(chunks)
        complete = re.split(b"\r\n|\r|\n", data)[:-1]
        expected = [line if len(line) <= limit else TOO_LONG for line in complete]
        # A line cut at a chunk edge between CR and LF is still one line end;
        # an over-long unfinished line is reported as soon as it is known.
        tail = re.split(b"\r\n|\r|\n", data)[-1]
        if len(tail) > limit:
            expected.append(TOO_LONG)
        self.assertEqual(got, expected)


class TelnetParserFuzz(SynchronousTestCase):
    @FUZZ
    @given(st.lists(_CHUNK, max_size=25))
    def test_random_bytes_never_raise(self, chunks):
        core = make_core(config=config_with(max_line_bytes=64, max_pending_lines=5))
        factory = build_factory(core, None, {})
        address = IPv4Address("TCP", "192.0.2.1", 1)
        protocol = factory.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        protocol.makeConnection(transport)
        for chunk in chunks:
            protocol.dataReceived(chunk)
            self.assertLessEqual(len(protocol._subnegotiation), protocol.MAX_SUBNEGOTIATION)
            session = protocol.protocol.session
            self.assertLessEqual(len(session._pending), 5)
        self.assertEqual(self.flushLoggedErrors(), [])


_WORDS = st.sampled_from(
    ["look", "l", "say", "'", ":", "emote", "who", "help", "go", "n", "north", "up", "down", "xyzzy", "help look", ""]
)
_LINES = st.one_of(
    _WORDS,
    st.tuples(_WORDS, st.text(max_size=30)).map(" ".join),
    st.text(max_size=60),
)


class DispatcherFuzz(SynchronousTestCase):
    @FUZZ
    @given(st.lists(_LINES, max_size=30))
    def test_random_commands_never_fail_unexpectedly(self, lines):
        core = make_core()
        transport, session = sign_up(core, "Alice")
        for line in lines:
            if line.strip().lower().split(" ")[:1] in (["quit"], ["logout"], ["password"]):
                continue
            session.line_received(line)
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertNotIn("went wrong on our side", transport.lines())
        self.assertFalse(transport.closed)
        self.assertLessEqual(len(session._pending), core.settings.limits.max_pending_lines)
