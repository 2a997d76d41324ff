"""
MSDP over GMCP: the conversion between MSDP and JSON (L{gateway.upstream.mog})
and the relay passing a game's MSDP to players whose client takes
structured messages but not MSDP (a GMCP telnet client, the web client).
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.telnet.codes import DO, DONT, GMCP, IAC, MSDP
from gateway.frontends.telnet.msdp import MAX_DEPTH, MAX_MSDP, well_formed
from gateway.upstream.mog import json_to_msdp, msdp_to_json
from tests.behaviour import WebSocketClient
from tests.fakeupstream import FakeUpstream, upstream_core
from tests.helpers import make_core, sign_up
from tests.telnet_fixtures import TelnetConnection, sb
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

ROOM = b"\x01ROOM\x02\x03\x01VNUM\x026008\x01EXITS\x02\x03\x01n\x026011\x01s\x026009\x04\x01TAGS\x02\x05\x02a\x02b\x06\x04"


class MSDPToJSONTests(SynchronousTestCase):
    """
    L{msdp_to_json}: tables as objects, arrays as lists, values as strings.
    """

    def test_variable(self):
        self.assertEqual(msdp_to_json(b"\x01HEALTH\x02100"), {"HEALTH": "100"})

    def test_several_variables(self):
        self.assertEqual(msdp_to_json(b"\x01HEALTH\x02100\x01MANA\x0250"), {"HEALTH": "100", "MANA": "50"})

    def test_tables_and_arrays(self):
        self.assertEqual(msdp_to_json(ROOM), {
            "ROOM": {"VNUM": "6008", "EXITS": {"n": "6011", "s": "6009"}, "TAGS": ["a", "b"]},
        })

    def test_tables_in_arrays(self):
        self.assertEqual(
            msdp_to_json(b"\x01GROUP\x02\x05\x02\x03\x01NAME\x02Bubba\x04\x02\x03\x01NAME\x02Zed\x04\x06"),
            {"GROUP": [{"NAME": "Bubba"}, {"NAME": "Zed"}]},
        )

    def test_arrays_in_arrays(self):
        self.assertEqual(msdp_to_json(b"\x01M\x02\x05\x02\x05\x02a\x06\x02\x05\x06\x06"), {"M": [["a"], []]})

    def test_several_values_are_a_list(self):
        self.assertEqual(msdp_to_json(b"\x01REPORT\x02HEALTH\x02MANA\x02MOVES"), {"REPORT": ["HEALTH", "MANA", "MOVES"]})
        self.assertEqual(msdp_to_json(b"\x01X\x02\x05\x02a\x06\x02b"), {"X": [["a"], "b"]})
        self.assertEqual(msdp_to_json(b"\x01T\x02\x03\x01X\x021\x022\x04"), {"T": {"X": ["1", "2"]}})

    def test_empty_values(self):
        self.assertEqual(msdp_to_json(b"\x01X\x02\x01A\x02\x05\x06\x01T\x02\x03\x04"), {"X": "", "A": [], "T": {}})

    def test_last_of_a_repeated_name_counts(self):
        self.assertEqual(msdp_to_json(b"\x01X\x021\x01X\x022"), {"X": "2"})

    def test_text_decoded(self):
        self.assertEqual(msdp_to_json("\x01ROOM\x02Café".encode("utf-8")), {"ROOM": "Café"})
        self.assertEqual(msdp_to_json("\x01ROOM\x02Café".encode("latin-1"), "iso8859-1"), {"ROOM": "Café"})
        self.assertEqual(msdp_to_json(b"\x01ROOM\x02Caf\xe9"), {"ROOM": "Caf\ufffd"})

    def test_malformed(self):
        for payload in (
            b"", b"HEALTH", b"\x02100", b"\x01\x02x", b"\x01HEALTH", b"\x01HEALTH\x02\x03\x01A\x021",
            b"\x01A\x02\x05\x02a\x04", b"\x01A\x02\x04", b"\x01A\x021\x00", b"\x01A\x02\xff",
            b"\x01" + b"x" * MAX_MSDP + b"\x021",
            b"\x01A" + b"\x02\x05" * (MAX_DEPTH + 1) + b"\x06" * (MAX_DEPTH + 1),
        ):
            self.assertRaises(ValueError, msdp_to_json, payload)

    def test_deepest_nesting(self):
        payload = b"\x01A" + b"\x02\x05" * MAX_DEPTH + b"\x06" * MAX_DEPTH
        data = msdp_to_json(payload)
        for _ in range(MAX_DEPTH):
            (data,) = data.values() if isinstance(data, dict) else (data[0] if data else [],)
        self.assertEqual(data, [])


class JSONToMSDPTests(SynchronousTestCase):
    """
    L{json_to_msdp}: what a player's C{MSDP} structured message sends.
    """

    def test_command(self):
        self.assertEqual(json_to_msdp({"LIST": "COMMANDS"}), b"\x01LIST\x02COMMANDS")

    def test_list_as_several_values(self):
        self.assertEqual(json_to_msdp({"REPORT": ["HEALTH", "MANA"]}), b"\x01REPORT\x02HEALTH\x02MANA")
        self.assertEqual(json_to_msdp({"REPORT": ["HEALTH"]}), b"\x01REPORT\x02HEALTH")

    def test_empty_list_and_lists_in_lists_as_arrays(self):
        self.assertEqual(json_to_msdp({"A": []}), b"\x01A\x02\x05\x06")
        self.assertEqual(json_to_msdp({"A": [["x", "y"], []]}), b"\x01A\x02\x05\x02x\x02y\x06\x02\x05\x06")

    def test_tables(self):
        self.assertEqual(json_to_msdp({"T": {"A": "1", "B": {}}}), b"\x01T\x02\x03\x01A\x021\x01B\x02\x03\x04\x04")

    def test_scalars_as_json_text(self):
        self.assertEqual(json_to_msdp({"A": 5, "B": 1.5, "C": True, "D": None, "E": ""}),
                         b"\x01A\x025\x01B\x021.5\x01C\x02true\x01D\x02null\x01E\x02")

    def test_text_encoded(self):
        self.assertEqual(json_to_msdp({"SAY": "Café"}), "\x01SAY\x02Café".encode("utf-8"))
        self.assertEqual(json_to_msdp({"SAY": "Café€"}, "iso8859-1"), "\x01SAY\x02Café?".encode("latin-1"))

    def test_refused(self):
        for data in (
            None, "LIST", ["LIST"], {}, {"": "x"}, {"A": "x\x02y"}, {"A\x01": "x"}, {"A": "\x00"},
            {"A": "x" * MAX_MSDP}, {"A": "\xff"},
        ):
            self.assertRaises(ValueError, json_to_msdp, data, "iso8859-1")

    def test_nesting_bounded(self):
        deepest = {"A": "x"}
        for _ in range(MAX_DEPTH):
            deepest = {"T": deepest}
        self.assertTrue(well_formed(json_to_msdp(deepest)))
        self.assertRaises(ValueError, json_to_msdp, {"T": deepest})
        nested = []
        for _ in range(10000):
            nested = [nested]
        self.assertRaises(ValueError, json_to_msdp, {"A": nested})

    def test_round_trip(self):
        data = msdp_to_json(ROOM)
        self.assertEqual(msdp_to_json(json_to_msdp(data)), data)


_NAMES = st.binary(min_size=1, max_size=8).map(lambda b: bytes(7 + c % 248 for c in b))
_PLAIN = st.binary(max_size=8).map(lambda b: bytes(7 + c % 248 for c in b))


def _msdp_value(children):
    """
    MSDP values: plain, or a table or array of C{children}.
    """
    table = st.lists(st.tuples(_NAMES, st.lists(children, min_size=1, max_size=3)), max_size=3).map(
        lambda variables: b"\x03" + b"".join(b"\x01" + name + b"".join(values) for name, values in variables) + b"\x04"
    )
    array = st.lists(children, max_size=3).map(lambda values: b"\x05" + b"".join(values) + b"\x06")
    return st.one_of(table, array).map(lambda value: b"\x02" + value)


_VALUES = st.recursive(_PLAIN.map(lambda plain: b"\x02" + plain), _msdp_value, max_leaves=12)
_MESSAGES = st.lists(st.tuples(_NAMES, st.lists(_VALUES, min_size=1, max_size=3)), min_size=1, max_size=4).map(
    lambda variables: b"".join(b"\x01" + name + b"".join(values) for name, values in variables)
)

_TEXT = st.text(st.characters(min_codepoint=7, max_codepoint=0xD7FF), max_size=6)


def _as_variable_value(value):
    """
    Whether a value keeps its form as a variable's: not a list of one.
    """
    return not (isinstance(value, list) and len(value) == 1)


def _json_tables(values, min_size=0):
    return st.dictionaries(_TEXT.filter(bool), values.filter(_as_variable_value), min_size=min_size, max_size=3)


_JSON_ELEMENTS = st.recursive(
    _TEXT, lambda children: st.one_of(st.lists(children, max_size=3), _json_tables(children)), max_leaves=12,
)
_JSON_MESSAGES = _json_tables(_JSON_ELEMENTS, min_size=1)


def _documented(data):
    """
    What L{json_to_msdp} sends, read back: a list of one that is a
    variable's value becomes that one value (C{VAR NAME VAL value}).
    """
    def table(t):
        return {name: variable(value) for name, value in t.items()}

    def variable(value):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
            return array(value) if isinstance(value, list) else element(value)
        return element(value)

    def array(a):
        return [element(v) for v in a]

    def element(value):
        if isinstance(value, dict):
            return table(value)
        return array(value) if isinstance(value, list) else value

    return table(data)


class PropertyTests(SynchronousTestCase):
    @PROPERTY
    @given(_MESSAGES)
    def test_well_formed_msdp_converts_and_back(self, payload):
        """
        Any well-formed MSDP converts to JSON, and that to well-formed MSDP
        meaning the same (a list of one read back as its value).
        """
        if not well_formed(payload):
            return
        data = msdp_to_json(payload)
        json.dumps(data)
        again = json_to_msdp(data)
        self.assertTrue(well_formed(again))
        self.assertEqual(msdp_to_json(again), _documented(data))

    @PROPERTY
    @given(_JSON_MESSAGES)
    def test_json_converts_and_back(self, data):
        """
        A JSON object of strings, lists and objects, no variable's value a
        list of one, comes back the same from MSDP.
        """
        try:
            payload = json_to_msdp(data)
        except ValueError:
            # Nested deeper than MSDP allows.
            return
        self.assertEqual(msdp_to_json(payload), data)

    @PROPERTY
    @given(st.binary(max_size=64), st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                                                lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3)))
    def test_anything_else_refused(self, payload, data):
        """
        Arbitrary bytes or JSON convert or raise L{ValueError}, nothing else.
        """
        for convert, value in ((msdp_to_json, payload), (json_to_msdp, data)):
            try:
                convert(value)
            except ValueError:
                pass


class OfferingMSDP(FakeUpstream):
    offers = FakeUpstream.offers + (MSDP,)


class TelnetMoGTests(SynchronousTestCase):
    """
    A telnet player whose client does GMCP but not MSDP gets the game's MSDP
    as GMCP C{MSDP} messages; one that agreed to MSDP gets it raw, once.
    """

    def connect(self, *answers):
        self.core, self.endpoint = upstream_core()
        self.endpoint.server = OfferingMSDP
        self.player = TelnetConnection(self.core)
        self.player.feed(b"".join(answers))
        self.endpoint.flush()
        (self.game,) = self.endpoint.servers
        self.player.take()

    def test_game_msdp_as_gmcp(self):
        self.connect(IAC + DO + GMCP)
        self.assertIn(MSDP, self.player.frontend.session.relay.remote)
        self.game.send_msdp(ROOM)
        self.endpoint.flush()
        package, _, body = self.player.take()[3:-2].partition(b" ")
        self.assertEqual(package, b"MSDP")
        self.assertEqual(json.loads(body), msdp_to_json(ROOM))

    def test_gmcp_msdp_to_the_game(self):
        self.connect(IAC + DO + GMCP)
        self.player.feed(sb(GMCP, b'MSDP {"REPORT":["HEALTH","MANA"]}') + sb(GMCP, b'MSDP {"LIST":"COMMANDS"}'))
        self.endpoint.flush()
        self.assertEqual(self.game.msdp, [b"\x01REPORT\x02HEALTH\x02MANA", b"\x01LIST\x02COMMANDS"])
        self.assertNotIn(b'MSDP {"LIST":"COMMANDS"}', self.game.gmcp)

    def test_malformed_dropped(self):
        self.connect(IAC + DO + GMCP)
        self.player.feed(sb(GMCP, b'MSDP ["LIST"]') + sb(GMCP, b'MSDP {"A":"\\u0002"}') + sb(GMCP, b"MSDP {}")
                         + sb(GMCP, b'MSDP {"LIST":"COMMANDS"}'))
        self.game.send_msdp(b"\x01HEALTH\x02\x03")
        self.endpoint.flush()
        self.assertEqual(self.game.msdp, [b"\x01LIST\x02COMMANDS"])
        self.assertEqual(self.player.take(), b"")
        self.assertFalse(self.game.lost)

    def test_gmcp_turned_on_later(self):
        self.connect()
        self.assertIn((MSDP, True), self.game.refused)
        self.player.feed(IAC + DO + GMCP)
        self.endpoint.flush()
        self.assertIn(MSDP, self.player.frontend.session.relay.remote)
        self.game.send_msdp(b"\x01HEALTH\x0290")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(GMCP, b'MSDP {"HEALTH":"90"}'))
        self.player.feed(IAC + DONT + GMCP)
        self.endpoint.flush()
        self.assertNotIn(MSDP, self.player.frontend.session.relay.remote)

    def test_declared_modules_without_msdp(self):
        self.connect(IAC + DO + GMCP, sb(GMCP, b'Core.Supports.Set ["Char 1"]'))
        self.game.send_msdp(b"\x01HEALTH\x0290")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"")
        self.player.feed(sb(GMCP, b'Core.Supports.Add ["MSDP 1"]'))
        self.game.send_msdp(b"\x01HEALTH\x0290")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(GMCP, b'MSDP {"HEALTH":"90"}'))

    def test_raw_msdp_client_unchanged(self):
        self.connect(IAC + DO + GMCP, IAC + DO + MSDP)
        self.game.send_msdp(ROOM)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(MSDP, ROOM))
        self.player.feed(sb(MSDP, b"\x01REPORT\x02HEALTH"))
        self.endpoint.flush()
        self.assertEqual(self.game.msdp, [b"\x01REPORT\x02HEALTH"])

    def test_raw_msdp_dropped_gmcp_kept(self):
        self.connect(IAC + DO + GMCP, IAC + DO + MSDP)
        self.player.feed(IAC + DONT + MSDP)
        self.endpoint.flush()
        self.player.take()
        self.assertIn(MSDP, self.player.frontend.session.relay.remote)
        self.game.send_msdp(b"\x01HEALTH\x0290")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(GMCP, b'MSDP {"HEALTH":"90"}'))

    def test_neither(self):
        self.connect()
        self.assertIn((MSDP, True), self.game.refused)
        self.game.send_msdp(b"\x01HEALTH\x0290")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"")

    def test_msdp_package_as_gmcp_to_a_game_without_msdp(self):
        """
        A game that does not do MSDP gets an C{MSDP} message as GMCP, as
        any other (a game doing MSDP over GMCP itself reads it).
        """
        self.core, self.endpoint = upstream_core()
        self.player = TelnetConnection(self.core)
        self.player.feed(IAC + DO + GMCP)
        self.endpoint.flush()
        (game,) = self.endpoint.servers
        self.player.feed(sb(GMCP, b'MSDP {"LIST":"COMMANDS"}'))
        self.endpoint.flush()
        self.assertEqual(game.gmcp[-1], b'MSDP {"LIST":"COMMANDS"}')
        self.assertEqual(game.msdp, [])


class StructuredWebSocketClient(WebSocketClient):
    """
    A web client that keeps the C{data} messages it was sent.

    @ivar data: C{(package, data)} of each.
    """

    def connect(self):
        self.data = []
        super().connect()

    def read(self, messages):
        messages = list(messages)
        self.data.extend((m["package"], m["data"]) for m in messages if m["type"] == "data")
        return super().read(messages)


class WebSocketMoGTests(SynchronousTestCase):
    """
    The web client gets the game's MSDP as C{MSDP} data messages, and its
    C{MSDP} data messages go to the game as MSDP.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def setUp(self):
        self.core, self.endpoint = upstream_core()
        self.endpoint.server = OfferingMSDP
        self.client = StructuredWebSocketClient(self.core)
        self.endpoint.flush()
        (self.game,) = self.endpoint.servers
        self.client.text()

    def test_game_msdp_as_data(self):
        self.assertNotIn((MSDP, True), self.game.refused)
        self.game.send_msdp(ROOM)
        self.game.send_msdp(b"\x01HEALTH\x02\x05\x06")
        self.endpoint.flush()
        self.client.text()
        self.assertEqual(self.client.data, [("MSDP", msdp_to_json(ROOM)), ("MSDP", {"HEALTH": []})])

    def test_data_to_the_game(self):
        self.client.send({"type": "data", "package": "MSDP", "data": {"REPORT": ["HEALTH", "MANA"]}},
                         {"type": "data", "package": "MSDP", "data": {"SEND": "ROOM"}})
        self.endpoint.flush()
        self.assertEqual(self.game.msdp, [b"\x01REPORT\x02HEALTH\x02MANA", b"\x01SEND\x02ROOM"])

    def test_malformed_dropped(self):
        self.client.send({"type": "data", "package": "MSDP", "data": "LIST"},
                         {"type": "data", "package": "MSDP", "data": {"A": {"B": "\u0001"}}},
                         {"type": "data", "package": "MSDP", "data": {"LIST": "COMMANDS"}})
        self.game.send_msdp(b"\x01\x02HEALTH")
        self.endpoint.flush()
        self.assertEqual(self.game.msdp, [b"\x01LIST\x02COMMANDS"])
        self.client.text()
        self.assertEqual(self.client.data, [])
        self.assertFalse(self.client.closed)


class ResumedMoGTests(SynchronousTestCase):
    """
    A lingering session resumed on another client (C{login = "gateway"})
    gets the game's MSDP the way the new client takes it.
    """

    def setUp(self):
        game = make_core()
        owner, session = sign_up(game, "alice")
        session.line_received("quit")
        owner.disconnect()
        self.core, self.endpoint = upstream_core(game, login="gateway")
        self.endpoint.server = OfferingMSDP
        first = self.log_in(IAC + DO + MSDP)
        (self.game,) = self.endpoint.servers
        self.relay = first.frontend.session.relay
        self.assertIn(MSDP, self.relay.remote)
        first.protocol.connectionLost(Failure(ConnectionLost("the network went away")))

    def log_in(self, answers):
        player = TelnetConnection(self.core)
        player.feed(answers + b"alice\r\nsecret1\r\n")
        self.endpoint.flush()
        player.take()
        return player

    def test_resumed_on_a_gmcp_client(self):
        player = self.log_in(IAC + DO + GMCP)
        self.assertIs(player.frontend.session.relay, self.relay)
        self.game.send_msdp(b"\x01HEALTH\x0290")
        self.endpoint.flush()
        self.assertEqual(player.take(), sb(GMCP, b'MSDP {"HEALTH":"90"}'))

    def test_resumed_on_a_client_with_neither(self):
        player = self.log_in(b"")
        self.assertIs(player.frontend.session.relay, self.relay)
        self.assertNotIn(MSDP, self.relay.remote)
