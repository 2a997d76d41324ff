"""
Arbitrary bytes into the telnet frontend: nothing a client sends raises
out of it, and what it holds for a client stays bounded.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from gateway.frontends.telnet.codes import (
    CHARSET, DO, DONT, ECHO, EOR, GMCP, IAC, MCCP2, MSSP, NAWS, NEW_ENVIRON, SB, SE, SGA, TTYPE, WILL, WONT,
)
from tests.helpers import make_core
from tests.telnet_fixtures import TelnetConnection

_OPTIONS = [ECHO, SGA, TTYPE, EOR, NAWS, NEW_ENVIRON, CHARSET, MSSP, MCCP2, GMCP, b"\x00", b"\xff"]
#: Pieces that steer the parser into its interesting states.
_PIECES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([IAC, IAC + SB, IAC + SE, IAC + IAC, b"\r", b"\n", b"\r\n", b"\0", b"|r"]),
    st.builds(lambda verb, option: IAC + verb + option, st.sampled_from([WILL, WONT, DO, DONT]), st.sampled_from(_OPTIONS)),
    st.builds(lambda option, body: IAC + SB + option + body + IAC + SE, st.sampled_from(_OPTIONS), st.binary(max_size=40)),
    st.builds(lambda body: IAC + SB + GMCP + b"Core." + body + IAC + SE, st.binary(max_size=40)),
    st.builds(lambda depth: IAC + SB + GMCP + b"Core.Hello " + b"[" * depth + IAC + SE, st.integers(0, 8000)),
)


class FuzzTests(TestCase):
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_PIECES, max_size=30), st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=5))
    def test_arbitrary_bytes(self, pieces, chunk_sizes):
        c = TelnetConnection(core=make_core(), trusted_proxies=["127.0.0.1"])
        data = b"".join(pieces)
        i = n = 0
        while i < len(data):
            size = chunk_sizes[n % len(chunk_sizes)]
            c.feed(data[i:i + size])
            i, n = i + size, n + 1
        protocol = c.protocol
        self.assertLessEqual(len(protocol._subnegotiation), protocol.MAX_SUBNEGOTIATION)
        self.assertLessEqual(c.frontend.lines.pending, c.core.settings.limits.max_line_bytes)
        self.assertLessEqual(len(c.frontend.handlers[GMCP].modules), 64)
        self.assertLessEqual(len(c.frontend.handlers[NEW_ENVIRON].values), 6)
        c.frontend.send("still |rworking")
        c.frontend.send_data("Room.Info", {"name": "x"})
        protocol.connectionLost(Failure(ConnectionDone()))
