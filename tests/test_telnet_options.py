"""
Each MUD client option of the telnet frontend, byte for byte, with every
client message also delivered split at each byte boundary.
"""

import codecs
import json
import zlib

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from twisted.trial.unittest import TestCase

from gateway.core import markup
from gateway.errors import ConfigError
from gateway.frontends.telnet import build_factory
from gateway.frontends.telnet.charset import MAX_NAMES, MAX_REQUESTS
from gateway.frontends.telnet.codes import (
    CHARSET, DO, DONT, GA, GMCP, IAC, MCCP2, MSSP, NAWS, NEW_ENVIRON, NOP, TTYPE, WILL, WONT,
)
from tests.telnet_fixtures import TelnetConnection, sb


class SplitMixin:
    """
    Runs a client message through fresh connections, once whole and once
    split at every byte boundary.
    """

    def each_split(self, prepare, message, check, **options):
        for split in [None] + list(range(1, len(message))):
            c = TelnetConnection(**options)
            prepare(c)
            c.take()
            c.feed(message, split)
            check(c, f"split at {split}")


class WindowSizeTests(SplitMixin, TestCase):
    def test_naws_sets_width_and_height(self):
        def check(c, where):
            self.assertEqual((c.caps.width, c.caps.height), (132, 255), where)
            self.assertEqual(c.take(), b"", where)

        # 255 rows: the 0xFF byte is sent doubled.
        self.each_split(lambda c: c.feed(IAC + WILL + NAWS), sb(NAWS, b"\x00\x84\x00\xff"), check)

    def test_resize_updates_wrapping(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + NAWS + sb(NAWS, b"\x00\x0c\x00\x18"))
        c.take()
        c.frontend.send("one two three four")
        self.assertEqual(c.take(), b"one two\r\n  three four\r\n")
        c.feed(sb(NAWS, b"\x00\x50\x00\x18"))
        c.frontend.send("one two three four")
        self.assertEqual(c.take(), b"one two three four\r\n")

    def test_zero_means_unknown_and_bad_length_ignored(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + NAWS + sb(NAWS, b"\x00\x00\x00\x00") + sb(NAWS, b"\x00\x10"))
        self.assertEqual((c.caps.width, c.caps.height), (80, 24))

    def test_huge_size_capped(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + NAWS + sb(NAWS, b"\xff\xff\xff\xff"))
        self.assertEqual((c.caps.width, c.caps.height), (1000, 1000))

    def test_naws_ignored_when_option_is_off(self):
        c = TelnetConnection()
        c.feed(sb(NAWS, b"\x00\x84\x00\x30"))
        self.assertEqual(c.caps.width, 80)


def ttype(name):
    return sb(TTYPE, b"\x00" + name)


SEND_TTYPE = sb(TTYPE, b"\x01")


class TerminalTypeTests(SplitMixin, TestCase):
    def test_mtts_cycle(self):
        c = TelnetConnection()
        c.take()
        c.feed(IAC + WILL + TTYPE)
        self.assertEqual(c.take(), SEND_TTYPE)
        c.feed(ttype(b"MUDLET"))
        self.assertEqual(c.take(), SEND_TTYPE)
        c.feed(ttype(b"XTERM-256COLOR"))
        self.assertEqual(c.take(), SEND_TTYPE)
        self.assertEqual((c.caps.client, c.caps.terminal, c.caps.colour_level()), ("MUDLET", "XTERM-256COLOR", 256))
        # 2825 = ANSI, 256 colours, truecolor, MNES, SSL; no UTF-8 bit.
        c.feed(ttype(b"MTTS 2825"))
        self.assertEqual(c.take(), b"")
        self.assertEqual(c.caps.colour_level(), markup.TRUECOLOR)
        self.assertFalse(c.caps.screen_reader)

    def test_mtts_reply_at_every_split(self):
        def prepare(c):
            c.feed(IAC + WILL + TTYPE + ttype(b"TINTIN++") + ttype(b"XTERM"))

        def check(c, where):
            self.assertTrue(c.caps.ansi, where)
            self.assertTrue(c.caps.screen_reader, where)
            # Screen readers get neither colour nor folded lines.
            self.assertEqual(c.caps.colour_level(), markup.NO_COLOUR, where)
            self.assertEqual(c.caps.wrap_width(), 0, where)
            self.assertEqual(c.take(), b"", where)

        # 1 + 4 + 64: ANSI, UTF-8, screen reader.
        self.each_split(prepare, ttype(b"MTTS 69"), check)

    def test_plain_terminal_ends_cycle_on_repeat(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + TTYPE)
        c.take()
        c.feed(ttype(b"xterm"))
        self.assertEqual(c.take(), SEND_TTYPE)
        c.feed(ttype(b"xterm"))
        self.assertEqual(c.take(), b"")
        self.assertEqual((c.caps.client, c.caps.terminal, c.caps.ansi), ("", "xterm", True))

    def test_at_most_three_requests_and_no_unasked_replies(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + TTYPE)
        c.take()
        for name in (b"a", b"b", b"c", b"d", b"e"):
            c.feed(ttype(name))
        self.assertEqual(c.take(), SEND_TTYPE * 2)
        self.assertEqual(c.caps.terminal, "c")

    def test_names_cleaned(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + TTYPE + ttype(b"\x1b[31mevil" + b"x" * 200))
        self.assertEqual(c.caps.terminal, "[31mevil" + "x" * 56)


class CharsetTests(SplitMixin, TestCase):
    REQUEST = sb(CHARSET, b"\x01;UTF-8")

    def test_offer_and_accept(self):
        def prepare(c):
            c.feed(IAC + DO + CHARSET)
            self.assertEqual(c.take()[-len(self.REQUEST):], self.REQUEST)
            self.assertEqual(c.frontend.encoding, "iso8859-1")

        def check(c, where):
            self.assertEqual(c.frontend.encoding, "utf-8", where)
            self.assertTrue(c.caps.utf8, where)
            c.frontend.send("café")
            self.assertEqual(c.take(), "café\r\n".encode("utf-8"), where)

        self.each_split(prepare, sb(CHARSET, b"\x02UTF-8"), check, encoding="latin-1")

    def test_rejected_keeps_fallback(self):
        c = TelnetConnection(encoding="latin-1")
        c.feed(IAC + DO + CHARSET + sb(CHARSET, b"\x03"))
        c.take()
        c.frontend.send("café")
        self.assertEqual(c.take(), "café\r\n".encode("latin-1"))
        self.assertFalse(c.caps.utf8)

    def test_refused_option_sends_nothing_and_keeps_fallback(self):
        c = TelnetConnection(encoding="cp437")
        c.take()
        c.feed(IAC + DONT + CHARSET)
        self.assertEqual(c.take(), b"")
        self.assertEqual(c.frontend.encoding, "cp437")

    def test_fallback_decodes_input(self):
        c = TelnetConnection(encoding="latin-1")
        c.sign_up("Alice")
        c.take()
        c.feed("say Zoë\r\n".encode("latin-1"))
        self.assertEqual(c.take(), 'You say, "Zoë"\r\n'.encode("latin-1"))

    def test_client_request_answered(self):
        c = TelnetConnection(encoding="latin-1")
        c.feed(IAC + WILL + CHARSET)
        c.take()
        c.feed(sb(CHARSET, b"\x01 ISO-8859-1 UTF-8"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x02UTF-8"))
        self.assertEqual(c.frontend.encoding, "utf-8")

    def test_client_request_for_fallback_or_nothing(self):
        c = TelnetConnection(encoding="latin-1")
        c.feed(IAC + WILL + CHARSET)
        c.take()
        c.feed(sb(CHARSET, b"\x01;KOI8-R;ISO-8859-1;\xff"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x02ISO-8859-1"))
        c.feed(sb(CHARSET, b"\x01;KOI8-R"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x03"))

    def test_client_request_rejected_while_ours_is_outstanding(self):
        c = TelnetConnection()
        c.feed(IAC + DO + CHARSET)
        c.take()
        c.feed(sb(CHARSET, b"\x01;UTF-8"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x03"))

    def test_client_names_never_reach_codec_lookup(self):
        """
        Unknown names are matched against the supported set only: Python's
        codec registry, which keeps every name it was asked about, never
        sees them.
        """
        asked = []
        lookup = codecs.lookup
        self.patch(codecs, "lookup", lambda name: asked.append(name) or lookup(name))
        c = TelnetConnection(encoding="latin-1")
        c.feed(IAC + WILL + CHARSET)
        c.take()
        for request in range(4):
            c.feed(sb(CHARSET, b"\x01" + b"".join(b";x-junk-%d-%d" % (request, n) for n in range(200))))
            self.assertEqual(c.take(), sb(CHARSET, b"\x03"))
        self.assertEqual([name for name in asked if "junk" in name], [])
        c.feed(sb(CHARSET, b"\x01;utf8"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x02utf8"))
        self.assertEqual(c.frontend.encoding, "utf-8")

    def test_junk_names_ignored(self):
        c = TelnetConnection(encoding="latin-1")
        c.feed(IAC + WILL + CHARSET)
        c.take()
        c.feed(sb(CHARSET, b"\x01;UTF-8\x00;\x00;" + b"U" * 100 + b";\x1b[2J;latin1"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x02latin1"))
        self.assertEqual(c.frontend.encoding, "iso8859-1")
        self.assertFalse(c.wire.disconnecting)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_names_and_requests_bounded(self):
        c = TelnetConnection(encoding="latin-1")
        c.feed(IAC + WILL + CHARSET)
        c.take()
        c.feed(sb(CHARSET, b"\x01" + b";KOI8-R" * MAX_NAMES + b";UTF-8"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x03"))
        for _ in range(MAX_REQUESTS - 1):
            c.feed(sb(CHARSET, b"\x01;KOI8-R"))
            self.assertEqual(c.take(), sb(CHARSET, b"\x03"))
        c.feed(sb(CHARSET, b"\x01;UTF-8"))
        self.assertEqual(c.take(), sb(CHARSET, b"\x03"))
        self.assertEqual(c.frontend.encoding, "iso8859-1")


VAR, VAL, ESC = b"\x00", b"\x01", b"\x02"


class EnvironmentTests(SplitMixin, TestCase):
    IS = sb(
        NEW_ENVIRON,
        b"\x00" + VAR + b"CLIENT_NAME" + VAL + b"Mudlet" + VAR + b"CLIENT_VERSION" + VAL + b"4.17"
        + b"\x03" + b"MTTS" + VAL + b"137" + VAR + b"IPADDRESS" + VAL + b"203.0.113.9" + VAR + b"USER" + VAL + b"x",
    )

    def test_asks_for_mnes_variables(self):
        c = TelnetConnection()
        c.take()
        c.feed(IAC + WILL + NEW_ENVIRON)
        self.assertEqual(c.take(), sb(
            NEW_ENVIRON,
            b"\x01" + VAR + b"CLIENT_NAME" + VAR + b"CLIENT_VERSION" + VAR + b"TERMINAL_TYPE" + VAR + b"MTTS"
            + VAR + b"CHARSET" + VAR + b"IPADDRESS",
        ))

    def test_variables_recorded_and_ipaddress_not_trusted(self):
        def check(c, where):
            self.assertEqual((c.caps.client, c.caps.client_version), ("Mudlet", "4.17"), where)
            # 137 = 1 + 8 + 128: ANSI, 256 colours, proxy.
            self.assertEqual(c.caps.colour_level(), 256, where)
            self.assertEqual(c.caps.peer, "198.51.100.7:40000", where)
            self.assertEqual(c.frontend.handlers[NEW_ENVIRON].values["IPADDRESS"], "203.0.113.9", where)
            self.assertNotIn("USER", c.frontend.handlers[NEW_ENVIRON].values, where)

        self.each_split(lambda c: c.feed(IAC + WILL + NEW_ENVIRON), self.IS, check, peer="198.51.100.7")

    def test_ipaddress_from_trusted_proxy(self):
        c = TelnetConnection(peer="10.1.2.3", trusted_proxies=["10.0.0.0/8"])
        c.feed(IAC + WILL + NEW_ENVIRON + self.IS)
        self.assertEqual(c.caps.peer, "203.0.113.9")

    def test_bad_ipaddress_ignored(self):
        c = TelnetConnection(trusted_proxies=["127.0.0.1"])
        c.feed(IAC + WILL + NEW_ENVIRON + sb(NEW_ENVIRON, b"\x00" + VAR + b"IPADDRESS" + VAL + b"nowhere"))
        self.assertEqual(c.caps.peer, "127.0.0.1:40000")

    def test_info_updates_and_escapes(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + NEW_ENVIRON + self.IS)
        c.feed(sb(NEW_ENVIRON, b"\x02" + VAR + b"CLIENT_NAME" + VAL + b"Mud" + ESC + b"\x01let" + VAR + b"CHARSET" + VAL + b"UTF-8"))
        # The escaped VAL byte is part of the value; control bytes are dropped.
        self.assertEqual(c.caps.client, "Mudlet")
        self.assertEqual(c.frontend.encoding, "utf-8")


class ServerStatusTests(SplitMixin, TestCase):
    def fields(self, data):
        self.assertTrue(data.startswith(IAC + b"\xfa" + MSSP) and data.endswith(IAC + b"\xf0"))
        fields = {}
        for item in data[3:-2].split(b"\x01")[1:]:
            name, *values = item.split(b"\x02")
            fields[name.decode()] = [v.decode() for v in values]
        return fields

    def test_status_sent_when_client_agrees(self):
        c = TelnetConnection()
        c.core.clock.advance(100)
        player = TelnetConnection(core=c.core)
        player.sign_up("Alice")

        def check(conn, where):
            fields = self.fields(conn.take())
            self.assertEqual(fields["NAME"], ["gateway"], where)
            self.assertEqual(fields["PLAYERS"], ["1"], where)
            self.assertEqual(fields["UPTIME"], ["0"], where)
            self.assertEqual(fields["PORT"], ["4000"], where)
            self.assertEqual(fields["MCCP"], ["1"], where)
            self.assertEqual(fields["GMCP"], ["1"], where)

        for split in [None, 1, 2]:
            conn = TelnetConnection(core=c.core)
            conn.take()
            conn.feed(IAC + DO + MSSP, split)
            check(conn, f"split at {split}")

    def test_operator_fields(self):
        from gateway.config import load_config
        from tests.helpers import make_core

        path = self.mktemp()
        with open(path, "w") as f:
            f.write('[mssp]\nfields = { CONTACT = "a@example.org", GENRE = ["Social", "Chat"], CREATED = 2026 }\n')
        c = TelnetConnection(core=make_core(config=load_config(path)), mccp=False)
        c.take()
        c.feed(IAC + DO + MSSP)
        fields = self.fields(c.take())
        self.assertEqual(fields["CONTACT"], ["a@example.org"])
        self.assertEqual(fields["GENRE"], ["Social", "Chat"])
        self.assertEqual(fields["CREATED"], ["2026"])
        self.assertEqual(fields["MCCP"], ["0"])

    def test_reserved_operator_field_refused(self):
        from gateway.config import load_config
        from gateway.errors import ConfigError

        path = self.mktemp()
        with open(path, "w") as f:
            f.write('[mssp]\nfields = { PLAYERS = 1000 }\n')
        self.assertIn("mssp.fields", str(self.assertRaises(ConfigError, load_config, path)))


def gmcp(package, data=None):
    body = package if data is None else f"{package} {json.dumps(data)}"
    return sb(GMCP, body.encode("utf-8"))


class GmcpTests(SplitMixin, TestCase):
    def test_hello_supports_and_ping(self):
        def prepare(c):
            c.feed(IAC + DO + GMCP + gmcp("Core.Hello", {"client": "Mudlet", "version": "4.17.2"}))

        def check(c, where):
            self.assertEqual(c.take(), sb(GMCP, b"Core.Ping"), where)
            self.assertEqual((c.caps.client, c.caps.client_version), ("Mudlet", "4.17.2"), where)
            self.assertTrue(c.caps.structured, where)

        self.each_split(prepare, gmcp("Core.Ping"), check)

    def test_core_sends_room_login_and_channel_messages(self):
        c = TelnetConnection()
        c.feed(IAC + DO + GMCP)
        c.sign_up("Alice")
        out = c.take()
        self.assertIn(sb(GMCP, b'Char.Login.Result {"success":true,"name":"Alice"}'), out)
        self.assertIn(sb(GMCP, b'Room.Info {"id":"hall","name":"The Hall","exits":{"north":"yard","up":"attic"},'
                                b'"players":[]}'), out)
        bob = TelnetConnection(core=c.core)
        bob.sign_up("Bob")
        c.take()
        bob.line("say hi |rthere")
        self.assertIn(sb(GMCP, b'Comm.Channel.Text {"channel":"say","talker":"Bob",'
                               b'"text":"Bob says, \\"hi |rthere\\""}'), c.take())
        # Bob's client has no GMCP: text only.
        self.assertNotIn(IAC + b"\xfa" + GMCP, bob.take())

    def test_supports_limits_modules(self):
        c = TelnetConnection()
        c.feed(IAC + DO + GMCP + gmcp("Core.Supports.Set", ["Room 1", "Comm.Channel 1"]))
        c.feed(gmcp("Core.Supports.Add", ["Char 1"]) + gmcp("Core.Supports.Remove", ["Room"]))
        c.take()
        for package in ("Room.Info", "Char.Login.Result", "Comm.Channel.Text", "Char.Vitals"):
            c.frontend.send_data(package, {})
        self.assertEqual(c.take(), sb(GMCP, b"Char.Login.Result {}") + sb(GMCP, b"Comm.Channel.Text {}")
                         + sb(GMCP, b"Char.Vitals {}"))

    def test_malformed_ignored(self):
        c = TelnetConnection()
        c.feed(IAC + DO + GMCP)
        c.take()
        for payload in (b"Core.Hello {not json", b"\xff\xfe", b" ", b"Core.Hello [1,", b"Core.Supports.Set 5",
                        b"Core.Hello \"str\"", b"Core.Hello " + b"[" * 5000):
            c.feed(sb(GMCP, payload))
        self.assertEqual(c.take(), b"")
        self.assertEqual(c.caps.client, "")
        c.line("")
        self.assertTrue(c.wire.connected)

    def test_not_sent_without_gmcp(self):
        c = TelnetConnection()
        c.take()
        c.frontend.send_data("Room.Info", {})
        c.feed(IAC + DONT + GMCP)
        c.frontend.send_data("Room.Info", {})
        self.assertEqual(c.take(), b"")

    def test_off_again(self):
        c = TelnetConnection()
        c.feed(IAC + DO + GMCP)
        self.assertTrue(c.caps.structured)
        c.feed(IAC + DONT + GMCP)
        self.assertFalse(c.caps.structured)
        self.assertEqual(c.take()[-3:], IAC + WONT + GMCP)


class CompressionTests(TestCase):
    START = IAC + b"\xfa" + MCCP2 + IAC + b"\xf0"

    def start(self):
        c = TelnetConnection()
        c.take()
        c.feed(IAC + DO + MCCP2)
        out = c.take()
        self.assertTrue(out.startswith(self.START))
        return c, zlib.decompressobj(), out[len(self.START):]

    def test_every_write_flushed(self):
        c, inflate, rest = self.start()
        self.assertEqual(inflate.decompress(rest), b"")
        c.frontend.send("hello")
        self.assertEqual(inflate.decompress(c.take()), b"hello\r\n")
        c.frontend.send_prompt("> ")
        self.assertEqual(inflate.decompress(c.take()), b"> " + IAC + GA)

    def test_ended_cleanly_on_close(self):
        c, inflate, rest = self.start()
        c.frontend.close("Bye.")
        self.assertEqual(inflate.decompress(rest + c.take()), b"Bye.\r\n")
        self.assertTrue(inflate.eof)
        self.assertEqual(inflate.unused_data, b"")
        self.assertTrue(c.wire.disconnecting)

    def test_client_turns_it_off(self):
        c, inflate, rest = self.start()
        c.feed(IAC + DONT + MCCP2)
        out = c.take()
        inflate.decompress(rest + out)
        self.assertTrue(inflate.eof)
        self.assertEqual(inflate.unused_data, IAC + WONT + MCCP2)
        c.frontend.send("plain")
        self.assertEqual(c.take(), b"plain\r\n")

    def test_start_marker_whole_at_every_split(self):
        for split in (None, 1, 2):
            c = TelnetConnection()
            c.take()
            c.feed(IAC + DO + MCCP2, split)
            self.assertEqual(c.wire.io.getvalue()[:5], self.START)
            # The marker went out in one write.
            self.assertTrue(c.protocol.compression.compressing)


class KeepaliveTests(TestCase):
    def test_nop_at_interval(self):
        c = TelnetConnection(keepalive=30)
        c.take()
        c.core.clock.advance(29)
        self.assertEqual(c.take(), b"")
        c.core.clock.advance(1)
        self.assertEqual(c.take(), IAC + NOP)
        c.protocol.connectionLost(Failure(ConnectionDone()))
        c.core.clock.advance(60)
        self.assertEqual(c.take(), b"")

    def test_off_by_default(self):
        c = TelnetConnection()
        c.take()
        c.core.clock.advance(3600)
        self.assertNotIn(IAC + NOP, c.take())

    def test_bad_options_refused(self):
        from gateway.errors import ConfigError

        for options in ({"keepalive": -1}, {"encoding": "klingon"}, {"trusted_proxies": ["nowhere"]},
                        {"trusted_proxies": "10.0.0.1"}, {"mccp": "yes"}):
            self.assertRaises(ConfigError, TelnetConnection, **options)


class ColourTests(TestCase):
    def test_look_coloured_for_ansi_clients_and_plain_otherwise(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + TTYPE + ttype(b"XTERM") + ttype(b"XTERM"))
        c.sign_up("Alice")
        self.assertIn(b"\x1b[96mThe Hall\x1b[0m", c.take())
        plain = TelnetConnection(core=c.core)
        plain.sign_up("Bob")
        out = plain.take()
        self.assertIn(b"The Hall\r\nA plain hall.\r\nExits: north, up\r\n", out)
        self.assertNotIn(b"\x1b", out)

    def test_player_text_is_not_markup(self):
        c = TelnetConnection()
        c.feed(IAC + WILL + TTYPE + ttype(b"XTERM") + ttype(b"XTERM"))
        c.sign_up("Alice")
        bob = TelnetConnection(core=c.core)
        bob.sign_up("Bob")
        c.take()
        bob.line("say |rred|| \x1b[31mraw")
        self.assertIn(b'Bob says, "|rred|| [31mraw"\r\n', c.take())
        bob.line("frob|r")
        self.assertIn(b"Unknown command 'frob|r'.", bob.take())


class FallbackEncodingSettingTests(TestCase):
    """
    A telnet listener's C{options.encoding} must be an ASCII-compatible text
    encoding: the telnet commands, line ends and colour markup are ASCII.
    """

    def test_refused(self):
        for name in ("klingon", "hex", "rot13", "utf-16", "utf-32-le"):
            error = self.assertRaises(ConfigError, build_factory, None, None, {"encoding": name})
            self.assertIn("options.encoding must be an ASCII-compatible text encoding", str(error))

    def test_accepted(self):
        for name in ("utf-8", "latin-1", "cp437", "koi8-r"):
            build_factory(None, None, {"encoding": name})
