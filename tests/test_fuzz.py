"""
Random input against the line splitter, the WebSocket client messages and
the command dispatcher: no exception escapes and nothing grows without
bound.  (The telnet parser has its own fuzz test, test_telnet_fuzz.)
"""

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends import messages
from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from tests.helpers import make_core, sign_up, split

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

#: Bytes weighted toward what a line splitter finds hard.
_TRICKY = st.sampled_from([b"\r", b"\n", b"\r\n", b"\0", b"\xff", b"\x1b"])
_CHUNK = st.lists(st.one_of(_TRICKY, st.binary(max_size=40)), max_size=30).map(b"".join)


class LineBufferFuzz(SynchronousTestCase):
    @FUZZ
    @given(st.lists(_CHUNK, max_size=20), st.integers(min_value=4, max_value=64))
    def test_matches_a_reference_split(self, chunks, limit):
        buffer = LineBuffer(limit)
        got = []
        for chunk in chunks:
            got.extend(split(buffer, chunk))
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


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_MESSAGES = st.one_of(
    st.text(max_size=80),
    _JSON.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["line", "size", "other"])},
        optional={"text": _JSON | st.text(max_size=200), "width": _JSON, "height": _JSON},
    ).map(json.dumps),
)


class WebSocketMessageFuzz(SynchronousTestCase):
    @FUZZ
    @given(st.lists(_MESSAGES, max_size=20))
    def test_client_messages_only_ever_refused_cleanly(self, raws):
        core = make_core()
        transport, session = sign_up(core, "Alice")
        capabilities = transport.capabilities
        for raw in raws:
            try:
                messages.deliver(raw, session, capabilities, 64)
            except messages.MessageError:
                pass
            self.assertTrue(1 <= capabilities.width <= messages.MAX_SIZE)
            self.assertTrue(1 <= capabilities.height <= messages.MAX_SIZE)
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertLessEqual(len(session._pending), core.settings.limits.max_pending_lines)


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
