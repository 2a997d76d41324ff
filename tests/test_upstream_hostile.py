"""
Hostile and broken bytes in gateway mode, from the game and from the
player: nothing raises out of the relay, what reaches the player is valid
for a telnet client, what reaches the game carries no telnet command the
player typed, and what a session holds stays bounded.
"""

import json
import re
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.defer import succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from gateway.config import UpstreamSettings
from gateway.frontends.messages import MessageError, deliver
from gateway.frontends.telnet.codes import (
    CHARSET, DO, DONT, ECHO, EOR, EOR_MARK, GA, GMCP, IAC, MCCP2, MSDP, MSSP, NAWS, NEW_ENVIRON, NOP, SB, SE, SGA,
    TTYPE, WILL, WONT,
)
from gateway.upstream.ansi import MAX_SEQUENCE
from gateway.upstream.core import UpstreamCore
from gateway.upstream.relay import MAX_LINE
from gateway.upstream.telnet import MAX_BURST, MAX_SUBNEGOTIATION
from tests.helpers import make_core
from tests.test_resume_token import Browser, autobahn
from tests.telnet_fixtures import TelnetConnection, sb

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))

_NEGOTIATIONS = (WILL, WONT, DO, DONT)
#: A game's usual negotiation, so that subnegotiations reach the relay.
OFFERS = b"".join(IAC + WILL + option for option in (ECHO, EOR, GMCP, MSSP, MSDP, CHARSET)) + b"".join(
    IAC + DO + option for option in (NAWS, TTYPE, NEW_ENVIRON, CHARSET))
_OPTIONS = [ECHO, SGA, TTYPE, EOR, NAWS, NEW_ENVIRON, CHARSET, MSDP, MSSP, MCCP2, GMCP, b"\x00", b"\x5b", IAC]
#: The escape sequences a telnet client with colour may be sent: SGR only.
_SGR = re.compile(rb"\x1b\[[0-9;]*m")


@implementer(IStreamClientEndpoint)
class WireEndpoint:
    """
    Connects each relay to a L{StringTransport}, so a test writes the
    game's bytes itself and reads what the relay sent.

    @ivar wires: the game connections' transports, in connection order.
    """

    def __init__(self):
        self.wires = []

    def connect(self, factory):
        relay = factory.buildProtocol(None)
        wire = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 4000))
        self.wires.append(wire)
        relay.makeConnection(wire)
        return succeed(relay)


class Wired:
    """
    A telnet player relayed to a game whose bytes the test writes.

    @ivar player: the player's L{TelnetConnection}.
    @ivar relay: the session's L{gateway.upstream.relay.UpstreamRelay}.
    @ivar game: the game connection's L{StringTransport}.
    """

    def __init__(self, core, colour=False, gmcp=False, offers=b""):
        """
        @param colour: whether the player's client takes colour.
        @param gmcp: whether it takes GMCP.
        @param offers: what the game sends first (its negotiation).
        """
        self.player = TelnetConnection(core)
        if colour:
            self.player.feed(IAC + WILL + TTYPE + sb(TTYPE, b"\x00XTERM"))
        if gmcp:
            self.player.feed(IAC + DO + GMCP)
        self.relay = self.player.frontend.session.relay
        self.game = core.endpoint.wires[-1]
        self.relay.dataReceived(offers)
        self.player.take()
        self.game.clear()

    def from_game(self, data, sizes=None):
        """
        Deliver C{data} from the game, in pieces of C{sizes} (cycled) or
        whole.
        """
        in_pieces(self.relay.dataReceived, data, sizes or [len(data) or 1])

    def end(self):
        self.player.protocol.connectionLost(Failure(ConnectionDone()))


def in_pieces(receive, data, sizes):
    """
    Call C{receive} with C{data} in pieces of C{sizes} (cycled).
    """
    i = n = 0
    while i < len(data):
        size = sizes[n % len(sizes)]
        receive(data[i:i + size])
        i, n = i + size, n + 1


def wired_core(**upstream):
    """
    An L{UpstreamCore} relaying to a L{WireEndpoint}.
    """
    settings = UpstreamSettings(endpoint="tcp:mud.example.org:4000", name="mud", **upstream)
    return UpstreamCore(make_core(), settings, WireEndpoint())


def telnet_problems(data, colour):
    """
    What is wrong in C{data} as a telnet server's output to a client: an
    IAC that starts no command, a subnegotiation not ended by C{IAC SE},
    or an escape sequence other than SGR (none at all without C{colour}).

    @return: descriptions of the problems found (empty when none).
    """
    problems = []
    i, end = 0, len(data)
    while i < end:
        byte = data[i:i + 1]
        if byte == b"\x1b":
            match = _SGR.match(data, i) if colour else None
            if match is None:
                problems.append(f"escape at {i}: {data[i:i + 12]!r}")
                i += 1
            else:
                i = match.end()
            continue
        if byte != IAC:
            i += 1
            continue
        command = data[i + 1:i + 2]
        if command in (IAC, GA, EOR_MARK, NOP):
            i += 2
        elif command in _NEGOTIATIONS and i + 2 < end:
            i += 3
        elif command == SB:
            j = i + 2
            while j < end and not (data[j:j + 1] == IAC and data[j + 1:j + 2] == SE):
                if data[j:j + 1] == IAC:
                    if data[j + 1:j + 2] != IAC:
                        problems.append(f"lone IAC inside a subnegotiation at {j}")
                    j += 1
                j += 1
            if j >= end:
                problems.append(f"unended subnegotiation at {i}")
            i = j + 2
        else:
            problems.append(f"lone IAC at {i}: {data[i:i + 3]!r}")
            i += 2
    return problems


def telnet_parts(data):
    """
    Split a telnet stream into its text and its commands.

    @return: C{(text, commands)}: the text with IAC escapes undone, and
        each command as sent (C{IAC WILL ECHO}, C{IAC SB ... IAC SE}).
    """
    text, commands = bytearray(), []
    i, end = 0, len(data)
    while i < end:
        if data[i] != IAC[0]:
            text.append(data[i])
            i += 1
            continue
        command = data[i + 1:i + 2]
        if command == IAC:
            text.append(IAC[0])
            j = i + 2
        elif command == SB:
            j = i + 2
            while j < end and data[j:j + 2] != IAC + SE:
                j += 2 if data[j:j + 2] == IAC + IAC else 1
            j += 2
        else:
            j = i + (3 if command in _NEGOTIATIONS else 2)
        if command != IAC:
            commands.append(data[i:j])
        i = j
    return bytes(text), commands


def gmcp_bodies(data):
    """
    The GMCP messages in a telnet server's output, as sent.
    """
    return [m.replace(IAC + IAC, IAC) for m in re.findall(re.escape(IAC + SB + GMCP) + rb"(.*?)" + re.escape(IAC + SE),
                                                           data, re.S)]


def _strict_json(text):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _compressed(pieces, corrupt):
    """
    The start of MCCP2 and C{pieces} compressed, with bytes of the stream
    changed at the positions C{corrupt}.
    """
    stream = bytearray(zlib.compress(b"".join(pieces)))
    for position in corrupt:
        stream[position % len(stream)] ^= 0x5A
    return IAC + WILL + MCCP2 + IAC + SB + MCCP2 + IAC + SE + bytes(stream)


_TEXT_PIECES = st.one_of(
    st.binary(max_size=48),
    st.sampled_from([
        b"\r\n", b"\n", b"\r", b"\0", b"|r", b"|", b"\x1b", b"\x1b[", b"\x1b[1;3", b"\x1b[31m", b"\x1b[38;5;300m",
        b"\x1b]0;title", b"\x07", b"\x1b\\", b"\x1bP", b"\x9b31m", b"\xc3", b"\xc3\xa9", b"\xed\xa0\x80", b"\xf4\x90",
        b"\xff", b"\x81\x8d\x90", IAC + GA, IAC + EOR_MARK, IAC + NOP, IAC + b"\xf5",
    ]),
    st.builds(lambda n: b"\x1b[" + b"1;" * n + b"m", st.integers(0, 200)),
    st.builds(lambda n: b"y" * n, st.integers(0, 3 * MAX_LINE)),
)
_SUBNEGOTIATIONS = st.one_of(
    st.builds(lambda option, body: IAC + SB + option + body + IAC + SE, st.sampled_from(_OPTIONS), st.binary(max_size=40)),
    st.sampled_from([
        sb(TTYPE, b"\x01"), sb(TTYPE, b"\x01\x01\x01"), sb(NEW_ENVIRON, b"\x01"), sb(NEW_ENVIRON, b"\x01\x00"),
        sb(NEW_ENVIRON, b"\x01\x00IPADDRESS\x02\x02\x03"), sb(CHARSET, b"\x01"), sb(CHARSET, b"\x01;"),
        sb(CHARSET, b"\x01[TTABLE]"), sb(CHARSET, b"\x01 UTF-8 \xff\xfe"), sb(CHARSET, b"\x01;x-unknown;;UTF-8"),
        sb(GMCP, b'Char.Vitals {"hp": NaN}'), sb(GMCP, b"Char.Vitals {"), sb(GMCP, b"\xff\xfe {}"),
        sb(GMCP, b"Room.Info [1e999]"), sb(MSSP, b"\x01PLAYERS\x02\xc2\xb2\x01UPTIME\x02\xc2\xb2"),
        sb(MSSP, b"\x02\x01\x01\x02"), sb(MSDP, b"\x01\x01\x02\x03"), sb(MCCP2, b"\x00"),
        sb(MSDP, b"\x01HP\x02\x03\x01A\x02\x05\x02\x01\x02\x06\x04"), sb(MSDP, b"\x01\xff\xfe\x02\xc3"),
        sb(MSDP, b"\x01X\x02" + b"\x03\x01a\x02" * 20 + b"\x04" * 20),
    ]),
    st.builds(lambda body: IAC + SB + GMCP + b"Core.Hello " + body + IAC + SE, st.binary(max_size=40)),
    st.builds(lambda depth: IAC + SB + GMCP + b"A.B " + b"[" * depth + IAC + SE, st.integers(0, 5000)),
    st.builds(lambda option, body: IAC + SB + option + body, st.sampled_from(_OPTIONS), st.binary(max_size=40)),
    st.builds(lambda body, inner: IAC + SB + GMCP + body + IAC + SB + inner + IAC + SE, st.binary(max_size=20),
              st.binary(max_size=20)),
    st.builds(lambda n: IAC + SB + GMCP + (IAC + b"a") * n + IAC + SE, st.integers(0, MAX_SUBNEGOTIATION + 10)),
    st.builds(lambda n: IAC + SB + MSSP + b"x" * n + IAC + SE, st.integers(MAX_SUBNEGOTIATION - 2, MAX_SUBNEGOTIATION + 2)),
)
_GAME_PIECES = st.one_of(
    _TEXT_PIECES,
    _SUBNEGOTIATIONS,
    st.builds(lambda verb, option: IAC + verb + option, st.sampled_from(_NEGOTIATIONS), st.sampled_from(_OPTIONS)),
)
_GAME_STREAMS = st.one_of(
    st.lists(_GAME_PIECES, max_size=25).map(b"".join),
    st.builds(lambda before, pieces, corrupt: b"".join(before) + _compressed(pieces, corrupt),
              st.lists(_GAME_PIECES, max_size=5), st.lists(_GAME_PIECES, max_size=15),
              st.lists(st.integers(0, 10000), max_size=2)),
)


class GameFuzzTests(SynchronousTestCase):
    """
    Whatever the game sends, in whatever pieces.
    """

    def setUp(self):
        # A legacy encoding with bytes it does not define (0x81 in
        # cp1252), and UTF-8.
        self.cores = {encoding: wired_core(encoding=encoding) for encoding in ("utf-8", "cp1252")}

    @FUZZ
    @given(_GAME_STREAMS, st.lists(st.integers(1, 200), min_size=1, max_size=4), st.booleans(),
           st.sampled_from(["utf-8", "cp1252"]))
    def test_game_bytes(self, data, sizes, colour, encoding):
        self.core = self.cores[encoding]
        wired = Wired(self.core, colour=colour, gmcp=True, offers=OFFERS)
        relay = wired.relay
        wired.from_game(data, sizes)
        self.core.status()
        self.assertLessEqual(len(relay._subnegotiation), MAX_SUBNEGOTIATION)
        self.assertLessEqual(len(relay._text), MAX_LINE + MAX_SEQUENCE)
        output = wired.player.take()
        self.assertEqual(telnet_problems(output, colour), [])
        for body in gmcp_bodies(output):
            package, _, text = body.decode("utf-8").partition(" ")
            _strict_json(text)
        self.assertEqual(telnet_problems(wired.game.value(), False), [])
        wired.end()
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual(self.core.game.sessions, set())


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_PLAYER_PIECES = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(lambda text: text.encode("utf-8")),
    st.sampled_from([
        b"\r\n", b"\r", b"\n", b"\r\0", b"\0", IAC + IAC, IAC + IAC + IAC + IAC, "\xff".encode("utf-8"), b"\xc3",
        IAC + GA, IAC + b"\xf4", IAC + SB + GMCP + b"Core.Hello {}" + IAC + SE, b"\x1b[2J", b"\x7f\x08",
    ]),
    st.builds(lambda verb, option: IAC + verb + option, st.sampled_from(_NEGOTIATIONS), st.sampled_from(_OPTIONS)),
    st.builds(lambda body: sb(GMCP, b"Char.Login " + body), st.binary(max_size=40)),
    st.builds(lambda body: sb(GMCP, b"MSDP " + body), st.one_of(
        st.binary(max_size=40), _JSON_VALUES.map(lambda value: json.dumps(value).encode("utf-8")))),
)


class PlayerFuzzTests(SynchronousTestCase):
    """
    Whatever the player's client sends: the game gets lines of text and
    the relay's own negotiation, never a command the player wrote.
    """

    def setUp(self):
        self.core = wired_core(encoding="latin-1")

    @FUZZ
    @given(st.lists(_PLAYER_PIECES, max_size=25).map(b"".join), st.lists(st.integers(1, 50), min_size=1, max_size=4))
    def test_player_bytes(self, data, sizes):
        # The game offers GMCP and MSDP, so the client's messages have a way
        # through.
        wired = Wired(self.core, gmcp=True, offers=IAC + WILL + GMCP + IAC + WILL + MSDP)
        wired.game.clear()
        in_pieces(wired.player.feed, data, sizes)
        sent = wired.game.value()
        self.assertEqual(telnet_problems(sent, False), [])
        text, commands = telnet_parts(sent)
        # The relay's own negotiation and subnegotiations (GMCP and MSDP
        # from the client, NAWS) aside, only lines of text.
        self.assertEqual([c for c in commands if c[1:2] not in _NEGOTIATIONS
                          and not (c[1:2] == SB and c[2:3] in (GMCP, MSDP, NAWS))], [])
        *lines, rest = text.split(b"\r\n")
        self.assertEqual(rest, b"")
        self.assertEqual([line for line in lines if b"\r" in line or b"\n" in line], [])
        wired.end()
        self.assertEqual(self.flushLoggedErrors(), [])


class GameStreamTests(SynchronousTestCase):
    """
    What the fuzz tests found, and the broken streams they may not reach.
    """

    def setUp(self):
        self.core = wired_core()
        self.wired = Wired(self.core, gmcp=True, offers=OFFERS + IAC + WILL + MCCP2)
        self.wired.player.take()
        self.wired.game.clear()

    def compressing(self, data):
        """
        Start MCCP2 and send C{data} compressed.
        """
        self.wired.relay.dataReceived(IAC + SB + MCCP2 + IAC + SE + zlib.compress(data))

    def test_escaped_bytes_in_a_subnegotiation_are_bounded(self):
        """
        An IAC followed by another byte inside a subnegotiation counts
        towards its limit like any byte: the overlong one is discarded.
        """
        self.wired.from_game(IAC + SB + GMCP + (IAC + b"a") * (MAX_SUBNEGOTIATION + 10))
        self.assertLessEqual(len(self.wired.relay._subnegotiation), MAX_SUBNEGOTIATION)
        self.wired.from_game(IAC + SE + b"after\r\n")
        self.assertEqual(self.wired.player.take(), b"after\r\n")

    def test_corrupt_compression_explained(self):
        """
        A corrupt compressed stream ends the session with one line that
        says so; nothing the game sends after it reaches the player.
        """
        self.wired.relay.dataReceived(b"before\r\n" + IAC + SB + MCCP2 + IAC + SE + b"not zlib at all")
        self.wired.relay.dataReceived(b"plain after\r\n")
        output = self.wired.player.take()
        self.assertEqual(output.replace(b"\r\n  ", b" "), (
            b"before\r\nThe game at mud.example.org sent a corrupt compressed stream; you have been disconnected.\r\n"
        ))
        self.assertTrue(self.wired.player.wire.disconnecting)
        self.assertTrue(self.wired.game.disconnecting)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_compression_bomb_broken_off(self):
        """
        A read of compressed output that inflates to more than
        L{MAX_BURST} bytes is not inflated further: the player is told and
        the session ends.
        """
        self.compressing(b"A" * (3 * MAX_BURST))
        output = self.wired.player.take()
        self.assertLessEqual(len(output), MAX_BURST + 4096)
        self.assertTrue(output.endswith(
            b"A" + IAC + GA + b"The game at mud.example.org sent more than 4 MiB in one compressed burst; you have been disconnected.\r\n"
        ), output[-200:])
        self.assertTrue(self.wired.game.disconnecting)

    def test_big_compressed_output_passes(self):
        self.compressing(b"line of text\r\n" * 20000)
        output = self.wired.player.take()
        self.assertEqual(output, b"line of text\r\n" * 20000)
        self.assertFalse(self.wired.game.disconnecting)

    def test_non_finite_gmcp_numbers_dropped(self):
        """
        GMCP whose JSON holds NaN, Infinity or a number too large for a
        float is not valid JSON for a browser: it is dropped.
        """
        for body in (b'{"hp": NaN}', b"[Infinity]", b"-Infinity", b"1e999"):
            self.wired.relay.dataReceived(sb(GMCP, b"Char.Vitals " + body))
        self.wired.relay.dataReceived(sb(GMCP, b"Char.Vitals 1.5e300"))
        self.assertEqual(self.wired.player.take(), sb(GMCP, b"Char.Vitals 1.5e+300"))

    def test_mssp_numbers_in_other_digits_ignored(self):
        """
        MSSP values that Python calls digits but are no ASCII number (a
        superscript two) are not a player count or a start time.
        """
        self.wired.relay.dataReceived(sb(MSSP, "\x01PLAYERS\x02\u00b2\x01UPTIME\x02\u00b2\x01NAME\x02Odd".encode("utf-8")))
        status = self.core.status()
        self.assertEqual(status.name, "Odd")
        self.assertEqual(status.players, self.core.game.status().players)


class PlayerInputTests(SynchronousTestCase):
    def test_non_finite_numbers_in_a_data_message_refused(self):
        """
        A browser's data message with NaN in it is refused, not sent to
        the game as GMCP no game can parse.
        """
        core = wired_core()
        wired = Wired(core, offers=IAC + WILL + GMCP)
        wired.game.clear()
        session = wired.player.frontend.session
        for raw in ('{"type": "data", "package": "Char.X", "data": NaN}', '{"type": "data", "package": "A", "data": 1e400}'):
            self.assertRaises(MessageError, deliver, raw, session, session.capabilities, 4096)
        self.assertEqual(wired.game.value(), b"")


class GameReadingTests(SynchronousTestCase):
    """
    Reading from the game pauses while the game leaves the relay's writes
    unread (its requests' answers then wait in its socket, not in the
    gateway), while the player leaves output unread, or both.
    """

    def setUp(self):
        self.wired = Wired(wired_core(), offers=OFFERS)
        self.game = self.wired.game

    def test_game_not_reading(self):
        self.assertTrue(self.game.streaming)
        self.game.producer.pauseProducing()
        self.assertEqual(self.game.producerState, "paused")
        self.game.producer.resumeProducing()
        self.assertEqual(self.game.producerState, "producing")

    def test_paused_until_neither_holds(self):
        player = self.wired.player.wire.producer
        self.game.producer.pauseProducing()
        player.pauseProducing()
        self.game.producer.resumeProducing()
        self.assertEqual(self.game.producerState, "paused")
        player.resumeProducing()
        self.assertEqual(self.game.producerState, "producing")
        player.pauseProducing()
        self.game.producer.pauseProducing()
        player.resumeProducing()
        self.assertEqual(self.game.producerState, "paused")

    def test_closed_without_its_producer(self):
        """
        Closing the game's connection unregisters the producer first: a
        transport holding a paused one (or a TLS transport holding any)
        would never close.
        """
        self.game.producer.pauseProducing()
        self.wired.end()
        self.assertTrue(self.game.disconnecting)
        self.assertIsNone(self.game.producer)

    def test_broken_stream_closed_without_its_producer(self):
        self.wired.relay.dataReceived(IAC + WILL + MCCP2 + IAC + SB + MCCP2 + IAC + SE + b"not zlib")
        self.assertTrue(self.game.disconnecting)
        self.assertIsNone(self.game.producer)

    def test_half_closed_without_its_producer(self):
        """
        The end of the player's input (SSH without a terminal) half-closes
        the game's connection, after unregistering the producer: a
        transport whose paused producer is registered would not.
        """
        half_closed = []
        self.game.loseWriteConnection = lambda: half_closed.append(self.game.producer)
        self.game.producer.pauseProducing()
        self.wired.relay.input_ended()
        self.assertEqual(half_closed, [None])


class CutTests(SynchronousTestCase):
    """
    The game's writes may end anywhere: in an escape sequence, in a
    character's bytes, in a telnet command.
    """

    LINE = "\x1b[1;31mRéd\x1b[0m plain \x1b]0;title\x07\x1b[38;5;9mend\x1b[m ✓".encode("utf-8") + IAC + NOP + b"\r\n"

    def visible(self, output):
        """
        The text of a telnet client's output, without escape sequences,
        telnet commands and line ends.
        """
        text = _SGR.sub(b"", output).replace(IAC + GA, b"").replace(b"\r\n", b"")
        return text.decode("utf-8")

    def test_every_cut(self):
        core = wired_core()
        whole = Wired(core, colour=True)
        whole.from_game(self.LINE)
        expected = whole.player.take()
        self.assertEqual(self.visible(expected), "Réd plain end ✓")
        for cut in range(1, len(self.LINE)):
            wired = Wired(core, colour=True)
            wired.from_game(self.LINE, [cut, len(self.LINE)])
            output = wired.player.take()
            self.assertEqual(telnet_problems(output, True), [], cut)
            self.assertEqual(self.visible(output), "Réd plain end ✓", cut)

    def test_prompt_ending_in_other_escapes_shown(self):
        """
        A prompt that saves and restores the cursor or picks a character
        set is complete: it is shown at once, without those sequences.
        """
        wired = Wired(wired_core())
        wired.from_game(b"\x1b7HP:10\x1b8\x1b(B> ")
        self.assertEqual(wired.player.take(), b"HP:10> " + IAC + GA)
        wired.from_game(b"\x1bP1$r\x1b\\\x1b]0;t\x07\x1b_x\x07> ")
        self.assertEqual(wired.player.take(), b"> " + IAC + GA)

    def test_megabytes_without_a_line_end(self):
        """
        A game that never ends its line is passed on in pieces; the relay
        holds no more than one piece of it.
        """
        wired = Wired(wired_core())
        for _ in range(64):
            wired.from_game(b"z" * 65536)
            self.assertLessEqual(len(wired.relay._text), MAX_LINE)
        self.assertEqual(wired.player.take().replace(b"\r\n", b"").replace(IAC + GA, b""), b"z" * 64 * 65536)


class NotConnectedTests(SynchronousTestCase):
    """
    What the player sends reaches the game only while the relay is
    connected to it.
    """

    def test_after_the_game_closed(self):
        wired = Wired(wired_core(), gmcp=True, offers=OFFERS)
        wired.relay.connectionLost(Failure(ConnectionDone()))
        wired.game.clear()
        wired.player.feed(b"look\r\n" + sb(GMCP, b"Char.Login {}") + IAC + WILL + NAWS + sb(NAWS, b"\x00\x50\x00\x20"))
        self.assertEqual(wired.game.value(), b"")
        self.assertEqual(self.flushLoggedErrors(), [])


class WebSocketGameFuzzTests(SynchronousTestCase):
    """
    Whatever the game sends, a browser gets JSON messages every browser
    parses (no C{NaN}, no C{Infinity}), whose text holds no escape
    sequence but colours and no control character but line feeds and tabs.
    """

    if autobahn is None:
        skip = "autobahn is not installed"

    def setUp(self):
        self.core = wired_core()

    @settings(FUZZ, max_examples=40)
    @given(_GAME_STREAMS, st.lists(st.integers(1, 200), min_size=1, max_size=4))
    def test_game_bytes(self, data, sizes):
        page = Browser(self.core)
        relay = page.frontend.session.relay
        relay.dataReceived(OFFERS)
        in_pieces(relay.dataReceived, data, sizes)
        for message in page.messages():
            json.dumps(message, allow_nan=False)
            if message["type"] in ("text", "prompt"):
                text = _SGR.sub(b"", message["text"].encode("utf-8"))
                self.assertIsNone(re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", text), message)
        page.drop()
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual(self.core.game.sessions, set())
