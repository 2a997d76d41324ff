"""
The upstream core: players relayed to a game server (L{tests.fakeupstream})
through the telnet and lines frontends, the negotiation done for them, and
what happens when the game fails.
"""

import dataclasses
import zlib
from pathlib import Path

from twisted.application.service import MultiService
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionDone
from twisted.internet.defer import succeed
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.ssl import PrivateCertificate
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from gateway.config import UpstreamSettings, load_config
from gateway.errors import ConfigError, StartupError
from gateway.interfaces import IGatewayCore
from gateway.frontends.lines import build_factory as lines_factory
from gateway.frontends.messages import MessageError, deliver
from gateway.frontends.plugin import available_frontends
from gateway.frontends.telnet.codes import (
    CHARSET, DO, DONT, ECHO, EOR, GA, GMCP, IAC, MSDP, MSSP, NAWS, NEW_ENVIRON, TTYPE, WILL, WONT,
)
from gateway.frontends.telnet.mssp import encode_fields
from gateway.upstream.ansi import Colours, unfinished
from gateway.service import build_listeners
from gateway.upstream.core import UpstreamCore, client_tls_options, endpoint_host, peer_address
from gateway.upstream.proxy import V2_SIGNATURE
from gateway.upstream.relay import NAMES_WAIT
from tests.certs import self_signed
from tests.fakeupstream import FakeUpstream, upstream_core
from tests.helpers import RecordingTransport, connect, make_core, sign_up
from tests.telnet_fixtures import TelnetConnection, sb

MXP = b"\x5b"


class Relayed:
    """
    A telnet player relayed to a fake game.  The player's client does not
    answer the gateway's TTYPE requests: the answers naming it have gone
    to the game once L{NAMES_WAIT} has passed.
    """

    def __init__(self, test, server=FakeUpstream, peer="192.0.2.7", **settings):
        test.core, test.endpoint = upstream_core(**settings)
        test.endpoint.server = server
        test.player = TelnetConnection(test.core, peer=peer)
        test.endpoint.flush()
        test.core.clock.advance(NAMES_WAIT)
        test.endpoint.flush()
        test.game = test.endpoint.servers[0] if test.endpoint.servers else None


def offering_charsets(names):
    """
    A L{FakeUpstream} whose CHARSET request offers C{names} (L{bytes},
    each after a C{;}).
    """

    class Offering(FakeUpstream):
        def _on(self, result, option, local):
            if option == CHARSET:
                self.requestNegotiation(CHARSET, b"\x01" + names)
            else:
                super()._on(result, option, local)

    return Offering


class NegotiationTests(SynchronousTestCase):
    """
    The relay negotiates with the game for the player, from what the
    player's client said.
    """

    def setUp(self):
        Relayed(self)

    def test_window_size_sent_and_updated(self):
        self.assertEqual(self.game.sizes, [(80, 24)])
        self.player.feed(IAC + WILL + NAWS + sb(NAWS, b"\x00\x78\x00\x28"))
        self.endpoint.flush()
        self.assertEqual(self.game.sizes, [(80, 24), (120, 40)])

    def test_terminal_type_cycle_with_proxy_bit(self):
        self.assertEqual(self.game.terminal_types[:2], [b"TELNET", b"DUMB"])
        word, bits = self.game.terminal_types[2].split()
        self.assertEqual(word, b"MTTS")
        self.assertTrue(int(bits) & 128)
        self.assertTrue(int(bits) & 512)

    def test_answers_wait_for_the_client_to_name_itself(self):
        """
        The game asks TTYPE and NEW-ENVIRON before the player's telnet
        client has named itself to the gateway: the answers wait until its
        TTYPE cycle has ended, and name it, its terminal and its MTTS
        flags (a screen reader here).
        """
        self.core, self.endpoint = upstream_core()
        self.player = TelnetConnection(self.core)
        self.endpoint.flush()
        (game,) = self.endpoint.servers
        self.core.clock.advance(NAMES_WAIT / 2)
        self.endpoint.flush()
        self.assertEqual((game.terminal_types, game.environment), ([], {}))
        self.player.feed(IAC + WILL + TTYPE + sb(TTYPE, b"\x00MUDLET"))
        self.player.feed(sb(TTYPE, b"\x00XTERM-256COLOR"))
        self.endpoint.flush()
        self.assertEqual(game.terminal_types, [])
        self.player.feed(sb(TTYPE, b"\x00MTTS 79"))
        self.endpoint.flush()
        word, bits = game.terminal_types[2].split()
        self.assertEqual(game.terminal_types[:2], [b"MUDLET", b"XTERM-256COLOR"])
        self.assertEqual(int(bits) & 64, 64)
        self.assertEqual(game.environment[b"CLIENT_NAME"], b"MUDLET")
        self.assertTrue(game.gmcp[0].startswith(b"Core.Hello "))
        self.assertIn(b"MUDLET", game.gmcp[0])

    def test_client_terminal_names_passed_on(self):
        self.player.feed(IAC + WILL + TTYPE + sb(TTYPE, b"\x00MUDLET") + sb(TTYPE, b"\x00XTERM-256COLOR"))
        client, terminal, bits = self.player.frontend.session.relay._names()
        self.assertEqual((client, terminal), ("MUDLET", "XTERM-256COLOR"))
        self.assertEqual(bits & (1 | 8 | 128), 1 | 8 | 128)

    def test_mnes_address_is_the_players(self):
        self.assertEqual(self.game.environment[b"IPADDRESS"], b"192.0.2.7")
        self.assertEqual(self.game.environment[b"CHARSET"], b"UTF-8")
        self.assertEqual(self.game.environment[b"CLIENT_NAME"], b"TELNET")

    def test_players_own_ipaddress_never_forwarded(self):
        """
        A client that says its address in NEW-ENVIRON (not from a trusted
        proxy) does not change what the game is told.
        """
        Relayed(self)
        self.player.feed(IAC + WILL + NEW_ENVIRON + sb(NEW_ENVIRON, b"\x00\x00IPADDRESS\x0110.9.9.9"))
        self.game.requestNegotiation(NEW_ENVIRON, b"\x01\x00IPADDRESS")
        self.endpoint.flush()
        self.assertEqual(self.game.environment[b"IPADDRESS"], b"192.0.2.7")
        self.assertNotIn(b"10.9.9.9", b"".join(v or b"" for v in self.game.environment.values()))

    def test_no_address_without_mnes(self):
        Relayed(self, client_address="none")
        self.assertIsNone(self.game.environment[b"IPADDRESS"])
        self.assertFalse(int(self.game.environment[b"MTTS"]) & 512)

    def test_charset_utf8_accepted(self):
        self.assertEqual(self.game.charset, b"\x02UTF-8")

    def test_charset_configured_encoding_when_no_utf8(self):
        Relayed(self, server=offering_charsets(b";ISO-8859-1;KOI8-R"), encoding="latin-1")
        self.assertEqual(self.game.charset, b"\x02ISO-8859-1")
        self.game.say("caf\xe9 \u20ac".encode("latin-1", "replace"))
        self.endpoint.flush()
        self.assertIn("café ?".encode("utf-8"), self.player.take())
        self.player.feed("né\r\n".encode("utf-8"))
        self.endpoint.flush()
        self.assertEqual(self.game.received[-1], "né".encode("latin-1"))

    def test_charset_rejected(self):
        Relayed(self, server=offering_charsets(b";KOI8-R"))
        self.assertEqual(self.game.charset, b"\x03")

    def test_gmcp_hello(self):
        self.assertEqual(self.game.gmcp[0][:11], b"Core.Hello ")

    def test_unknown_option_refused(self):
        refused = []
        self.game.will(MXP).addErrback(lambda f: refused.append(WILL))
        self.game.do(MXP).addErrback(lambda f: refused.append(DO))
        self.endpoint.flush()
        self.assertEqual(sorted(refused), sorted([WILL, DO]))

    def test_all_offers_taken(self):
        self.assertEqual(self.game.refused, [])


class TextTests(SynchronousTestCase):
    """
    The game's text reaches the player, rendered for the player's client.
    """

    def setUp(self):
        Relayed(self)
        self.player.take()

    def relay(self, *lines):
        for line in lines:
            self.game.say(line)
        self.endpoint.flush()
        return self.player.take()

    def test_lines_and_player_input(self):
        self.assertEqual(self.relay(b"Hello there.", b"Second line."), b"Hello there.\r\nSecond line.\r\n")
        self.player.feed(b"say hi\r\n")
        self.endpoint.flush()
        self.assertEqual(self.game.received, [b"say hi"])

    def test_prompt_marked_by_eor(self):
        self.game.prompt(b"HP:10> ")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"HP:10> " + IAC + GA)

    def test_prompt_marked_by_ga(self):
        self.game.prompt(b"Name: ", GA)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"Name: " + IAC + GA)

    def test_unmarked_prompt_shown(self):
        self.game.transport.write(b"Password: ")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"Password: " + IAC + GA)

    def test_colours_for_a_colour_client(self):
        self.player.feed(IAC + WILL + TTYPE + sb(TTYPE, b"\x00XTERM"))
        self.player.take()
        self.assertEqual(self.relay(b"\x1b[1;31mRed\x1b[0m plain"), b"\x1b[0m\x1b[1m\x1b[31mRed\x1b[0m plain\r\n")

    def test_colour_sequence_split_across_reads(self):
        self.player.feed(IAC + WILL + TTYPE + sb(TTYPE, b"\x00XTERM"))
        self.player.take()
        self.game.transport.write(b"one\r\n\x1b[3")
        self.endpoint.flush()
        self.game.transport.write(b"1mred\r\nstill red\r\n")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"one\r\n\x1b[0m\x1b[31mred\r\n\x1b[31mstill red\x1b[0m\r\n")

    def test_many_lines_in_one_read(self):
        lines = [b"line %d |" % i for i in range(50)]
        self.game.transport.write(b"\r\n".join(lines) + b"\r\n")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"\r\n".join(lines) + b"\r\n")

    def test_game_layout_kept(self):
        """
        The game's lines reach the player as the game laid them out: a line
        wider than the player's window is not folded (the game was told the
        width through NAWS; the client wraps what the game did not).
        """
        wide = b"word " * 40 + b"end"
        self.assertEqual(self.player.frontend.capabilities.wrap_width(), 0)
        self.assertEqual(self.relay(wide), wide + b"\r\n")

    def test_no_colours_for_a_plain_client(self):
        self.assertEqual(self.relay(b"\x1b[1;31mRed\x1b[0m and a |r pipe"), b"Red and a |r pipe\r\n")

    def test_other_escape_sequences_dropped(self):
        self.assertEqual(self.relay(b"\x1b[2J\x1b[H\x1b]0;title\x07Clear\x07"), b"Clear\r\n")

    def test_echo_follows_the_game(self):
        self.game.echo(False)
        self.endpoint.flush()
        self.assertIn(IAC + WONT + ECHO, self.player.take())
        self.game.echo(True)
        self.endpoint.flush()
        self.assertIn(IAC + WILL + ECHO, self.player.take())

    def test_gmcp_from_the_game_to_a_gmcp_client(self):
        self.player.feed(IAC + DO + GMCP)
        self.player.take()
        self.game.send_gmcp(b'Char.Vitals {"hp":10}')
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(GMCP, b'Char.Vitals {"hp":10}'))

    def test_gmcp_from_the_client_to_the_game(self):
        self.player.feed(IAC + DO + GMCP)
        self.player.feed(sb(GMCP, b'Core.Supports.Set ["Char 1"]') + sb(GMCP, b'Char.Items.Inv ""')
                         + sb(GMCP, b'Core.Ping'))
        self.endpoint.flush()
        self.assertEqual(self.game.gmcp[1:], [b'Core.Supports.Set ["Char 1"]', b'Char.Items.Inv ""'])

    def test_gmcp_not_sent_to_a_client_without_it(self):
        self.game.send_gmcp(b'Char.Vitals {"hp":10}')
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"")

    def test_game_waits_while_the_player_does_not_read(self):
        """
        The player's connection pauses reading from the game while the
        player leaves output unread; what the game sends meanwhile waits
        on the game's side, then arrives in order.
        """
        producer = self.player.wire.producer
        self.assertTrue(self.player.wire.streaming)
        producer.pauseProducing()
        for n in range(200):
            self.game.say(b"flood %d" % n)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"")
        producer.resumeProducing()
        self.endpoint.flush()
        output = self.player.take()
        self.assertEqual(output.split(b"\r\n")[:2], [b"flood 0", b"flood 1"])
        self.assertIn(b"flood 199\r\n", output)

    def test_long_line_passed_on_in_pieces(self):
        output = self.relay(b"x" * 40000)
        self.assertEqual(output.replace(b"\r\n", b""), b"x" * 40000)


class ResumedFlowTests(SynchronousTestCase):
    def test_resumed_session_follows_its_new_connection(self):
        """
        A lingering session resumed on a new connection has that
        connection pause reading from the game while it is not read.
        """
        game = make_core()
        owner, session = sign_up(game, "alice")
        session.line_received("quit")
        owner.disconnect()
        core, endpoint = upstream_core(game, login="gateway")
        first = TelnetConnection(core)
        first.feed(b"alice\r\nsecret1\r\n")
        endpoint.flush()
        first.protocol.connectionLost(Failure(ConnectionDone()))
        second = TelnetConnection(core)
        second.feed(b"alice\r\nsecret1\r\n")
        self.assertEqual(len(endpoint.servers), 1)
        second.take()
        second.wire.producer.pauseProducing()
        endpoint.servers[0].say(b"while paused")
        endpoint.flush()
        self.assertEqual(second.take(), b"")
        second.wire.producer.resumeProducing()
        endpoint.flush()
        self.assertIn(b"while paused\r\n", second.take())


class StructuredInputTests(SynchronousTestCase):
    def test_data_message_refused_by_the_built_in_world(self):
        transport, session = connect(make_core())
        error = self.assertRaises(
            MessageError, deliver, '{"type": "data", "package": "Char.Items.Inv"}', session, transport.capabilities, 100
        )
        self.assertEqual(str(error), "data messages are not taken here")

    def test_data_message_needs_a_package(self):
        core, endpoint = upstream_core()
        transport, session = connect(core)
        self.assertRaises(MessageError, deliver, '{"type": "data", "package": 3}', session, transport.capabilities, 100)


class ColourTests(SynchronousTestCase):
    def test_sgr_as_markup(self):
        colours = Colours()
        self.assertEqual(colours.translate("\x1b[1;31mRed\x1b[0m a|b"), "|n|h|rRed|n a||b")

    def test_colour_carried_to_the_next_line(self):
        colours = Colours()
        colours.translate("\x1b[32mgreen")
        self.assertEqual(colours.translate("still"), "|gstill")

    def test_palette_and_true_colour(self):
        colours = Colours()
        self.assertEqual(colours.translate("\x1b[38;5;196mx"), "|n|#ff0000x")
        self.assertEqual(colours.translate("\x1b[38;2;1;2;3mx"), "|#ff0000|n|#010203x")
        self.assertEqual(Colours().translate("\x1b[38;5;9mx"), "|n|Rx")

    def test_background_dropped(self):
        self.assertEqual(Colours().translate("\x1b[41mx"), "x")

    def test_lines_without_escapes_start_in_the_colour_set_before(self):
        colours = Colours()
        colours.translate("\x1b[1;32mgreen")
        self.assertEqual(colours.translate("one\r\ntwo |x\x07\n\nthree"), "|h|gone\n|h|gtwo ||x\n|h|g\n|h|gthree")

    def test_lines_without_escapes_in_the_default_style(self):
        self.assertEqual(Colours().translate("one\r\n\ttwo|\x9b"), "one\n\ttwo||")

    def test_mixed_lines(self):
        colours = Colours()
        text = "plain\n\x1b[31mred\nstill red\x1b[0m\nplain again\n\x1b[4munder"
        self.assertEqual(colours.translate(text), "plain\n|n|rred\n|rstill red|n\nplain again\n|n|uunder")
        self.assertEqual(colours.translate("next"), "|unext")

    def test_repeated_sequences_give_the_same_markup(self):
        colours = Colours()
        line = "\x1b[1;33mgold\x1b[0m coins"
        self.assertEqual([colours.translate(line) for _ in range(3)], ["|n|h|ygold|n coins"] * 3)

    def test_unfinished_sequence(self):
        self.assertEqual(unfinished("abc\x1b[3"), 3)
        self.assertEqual(unfinished("abc\x1b[31m"), 8)
        self.assertEqual(unfinished("abc"), 3)


class FaultTests(SynchronousTestCase):
    """
    A game that cannot be reached, goes away or misbehaves costs the player
    one clear line and a clean close, and nothing else.
    """

    def test_refused(self):
        self.core, self.endpoint = upstream_core()
        self.endpoint.mode = "refuse"
        player = TelnetConnection(self.core)
        output = player.take()
        self.assertIn(b"The game at mud.example.org is not answering; try again in a minute.\r\n", output)
        self.assertTrue(player.wire.disconnecting)

    def test_never_answers_connect(self):
        self.core, self.endpoint = upstream_core(connect_timeout=5)
        self.endpoint.mode = "silent"
        player = TelnetConnection(self.core)
        player.feed(b"early line\r\n")
        self.core.clock.advance(4.9)
        self.assertFalse(player.wire.disconnecting)
        self.core.clock.advance(0.2)
        self.assertIn(b"is not answering", player.take())
        self.assertTrue(player.wire.disconnecting)

    def test_game_full(self):
        self.core, self.endpoint = upstream_core(max_connections=2)
        players = [TelnetConnection(self.core) for _ in range(2)]
        third = TelnetConnection(self.core)
        self.assertIn(b"The game at mud.example.org is full; try again in a minute.\r\n", third.take())
        self.assertTrue(third.wire.disconnecting)
        self.assertEqual(len(self.endpoint.servers), 2)
        players[0].protocol.connectionLost(Failure(ConnectionDone()))
        self.endpoint.flush()
        TelnetConnection(self.core)
        self.assertEqual(len(self.endpoint.servers), 3)

    def test_refused_connections_do_not_count(self):
        self.core, self.endpoint = upstream_core(max_connections=1)
        self.endpoint.mode = "refuse"
        TelnetConnection(self.core)
        self.endpoint.mode = "up"
        TelnetConnection(self.core)
        self.assertEqual(len(self.endpoint.servers), 1)

    def test_each_upstream_logs_under_its_name(self):
        core, endpoint = upstream_core()
        self.assertEqual(core.log.namespace, "gateway.upstream.mud")

    def test_player_leaves_while_connecting(self):
        self.core, self.endpoint = upstream_core()
        self.endpoint.mode = "silent"
        transport = RecordingTransport()
        session = transport.session = self.core.connect(transport)
        transport.disconnect()
        self.assertIsNone(session.connecting)
        self.assertNotIn(session, self.core.game.sessions)

    def test_game_closes_after_last_words(self):
        Relayed(self)
        self.player.take()
        self.game.say(b"Goodbye!")
        self.game.transport.loseConnection()
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"Goodbye!\r\n")
        self.assertTrue(self.player.wire.disconnecting)

    def test_game_closes_without_a_word(self):
        """
        A game that accepts the connection but closes it before sending
        anything is not answering.
        """

        class Mute(FakeUpstream):
            offers = requests = ()

            def connectionMade(self):
                self.transport.loseConnection()

        Relayed(self, server=Mute)
        self.assertIn(b"The game at mud.example.org is not answering; try again in a minute.\r\n", self.player.take())
        self.assertTrue(self.player.wire.disconnecting)

    def test_game_closes_after_a_prompt_without_line_end(self):
        Relayed(self)
        self.player.take()
        self.game.transport.write(b"Bye")
        self.game.transport.loseConnection()
        self.endpoint.flush()
        self.assertIn(b"Bye", self.player.take())
        self.assertTrue(self.player.wire.disconnecting)

    def test_player_leaving_closes_the_game_connection(self):
        Relayed(self)
        self.player.protocol.connectionLost(Failure(ConnectionDone()))
        self.endpoint.flush()
        self.assertTrue(self.game.lost)
        self.assertEqual(self.core.game.sessions, set())

    def test_game_that_never_negotiates(self):
        class Silent(FakeUpstream):
            offers = requests = ()

        Relayed(self, server=Silent)
        self.player.take()
        self.game.say(b"Plain old game.")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"Plain old game.\r\n")
        self.player.feed(b"look\r\n")
        self.endpoint.flush()
        self.assertEqual(self.game.received, [b"look"])

    def test_corrupt_compression_closes(self):
        Relayed(self)
        self.game.transport.transport.write(b"not zlib at all")
        self.endpoint.flush()
        self.assertTrue(self.game.lost)
        self.assertTrue(self.player.wire.disconnecting)

    def test_shutdown_closes_both_connections(self):
        Relayed(self)
        self.player.take()
        done = self.core.game.shutdown("The server is shutting down. Goodbye.")
        self.assertIn(b"The server is shutting down. Goodbye.\r\n", self.player.take())
        self.player.protocol.connectionLost(Failure(ConnectionDone()))
        self.endpoint.flush()
        self.assertTrue(self.game.lost)
        self.successResultOf(done)


class CompressionTests(SynchronousTestCase):
    def test_without_mccp(self):
        class Uncompressed(FakeUpstream):
            offers = (ECHO, EOR, GMCP)

        Relayed(self, server=Uncompressed)
        self.player.take()
        self.game.say(b"plain")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"plain\r\n")

    def test_compression_ends(self):
        Relayed(self)
        self.player.take()
        compressing = self.game.transport
        compressing.transport.write(compressing.deflater.flush(zlib.Z_FINISH))
        self.game.transport = compressing.transport
        self.game.say(b"after")
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"after\r\n")


class MSSPTests(SynchronousTestCase):
    def test_game_status_answers_crawlers(self):
        Relayed(self)
        crawler = TelnetConnection(self.core)
        crawler.take()
        crawler.feed(IAC + DO + MSSP)
        self.assertIn(encode_fields([("NAME", ["Fake MUD"]), ("PLAYERS", ["42"])]), crawler.take())

    def test_status_from_the_game(self):
        Relayed(self)
        status = self.core.status()
        self.assertEqual((status.name, status.online), ("Fake MUD", 42))

    def test_core_interface(self):
        core, endpoint = upstream_core()
        self.assertTrue(verifyObject(IGatewayCore, core))

    def test_gateway_status_before_the_game_said(self):
        class NoStatus(FakeUpstream):
            offers = (ECHO, EOR, GMCP)

        Relayed(self, server=NoStatus)
        crawler = TelnetConnection(self.core)
        crawler.take()
        crawler.feed(IAC + DO + MSSP)
        # The player and the crawler are both relayed to the game.
        self.assertIn(b"\x01PLAYERS\x022", crawler.take())


class LoginTests(SynchronousTestCase):
    def test_gateway_login_first(self):
        game = make_core()
        sign_up(game, "alice")
        core, endpoint = upstream_core(game, login="gateway")
        transport = RecordingTransport()
        transport.session = core.connect(transport)
        self.assertEqual(endpoint.servers, [])
        self.assertEqual(transport.events[-1], ("prompt", "Name: "))
        transport.session.line_received("alice")
        transport.session.line_received("secret1")
        self.assertEqual(len(endpoint.servers), 1)
        self.assertEqual(transport.session.account.name, "alice")
        transport.session.line_received("look")
        endpoint.flush()
        self.assertEqual(endpoint.servers[0].received, [b"look"])

    def test_gateway_login_times_out(self):
        core, endpoint = upstream_core(login="gateway")
        transport = RecordingTransport()
        transport.session = core.connect(transport)
        core.clock.advance(core.settings.login.timeout)
        self.assertTrue(transport.closed)
        self.assertEqual(endpoint.servers, [])

    def test_authenticated_client_relayed_at_once(self):
        game = make_core()
        account = sign_up(game, "alice")[1].account
        core, endpoint = upstream_core(game, login="gateway")
        transport = RecordingTransport()
        transport.session = core.connect(transport, account)
        self.assertEqual(len(endpoint.servers), 1)
        self.assertIs(transport.session.account, account)

    def test_exec_refused(self):
        core, endpoint = upstream_core()
        session, done = core.execute(RecordingTransport(), None, "who")
        self.assertFalse(self.successResultOf(done))
        self.assertEqual(endpoint.servers, [])


class LinesFrontendTests(SynchronousTestCase):
    def test_lines_client_relayed(self):
        core, endpoint = upstream_core()
        protocol = lines_factory(core, core.portal, {}).buildProtocol(None)
        wire = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242))
        protocol.makeConnection(wire)
        endpoint.flush()
        game = endpoint.servers[0]
        self.assertEqual(game.environment[b"IPADDRESS"], b"192.0.2.9")
        game.say(b"Hello, \x1b[32mworld")
        endpoint.flush()
        self.assertIn(b"Hello, world\r\n", wire.value())
        protocol.dataReceived(b"look\r\n")
        endpoint.flush()
        self.assertEqual(game.received, [b"look"])


class ProxyHeaderTests(SynchronousTestCase):
    def test_proxy_v1_first(self):
        Relayed(self, client_address="proxy-v1")
        self.assertEqual(self.game.received[0], b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 4000")
        self.assertIsNone(self.game.environment[b"IPADDRESS"])

    def test_proxy_v2_first(self):
        class Raw(FakeUpstream):
            def dataReceived(self, data):
                self.raw = getattr(self, "raw", b"") + data
                super().dataReceived(data)

        Relayed(self, server=Raw, client_address="proxy-v2")
        self.assertTrue(self.game.raw.startswith(V2_SIGNATURE + b"\x21\x11"))

    def test_peer_address(self):
        self.assertEqual(peer_address("192.0.2.7:4242"), IPv4Address("TCP", "192.0.2.7", 4242))
        self.assertEqual(peer_address("[2001:db8::1]:22"), IPv6Address("TCP", "2001:db8::1", 22))
        self.assertIsNone(peer_address("unix"))
        self.assertIsNone(peer_address("192.0.2.7"))


class HostTests(SynchronousTestCase):
    def test_endpoint_host(self):
        self.assertEqual(endpoint_host("tcp:mud.example.org:4000"), "mud.example.org")
        self.assertEqual(endpoint_host("tls:host=mud.example.org:port=4001"), "mud.example.org")
        self.assertEqual(endpoint_host("unix:/run/mud.sock"), "/run/mud.sock")


MUD = '[upstreams.mud]\nendpoint = "tcp:127.0.0.1:4000"\n'
LISTENER = '[listeners.play]\nfrontend = "telnet"\nendpoint = "tcp:0:interface=127.0.0.1"\n'


class ConfigTests(SynchronousTestCase):
    """
    C{[upstreams.NAME]} tables and the listener keys that use them.
    """

    def load(self, text):
        path = Path(self.mktemp())
        path.write_text(text)
        return load_config(path)

    def refused(self, text, *fragments):
        error = str(self.assertRaises(ConfigError, self.load, text))
        for fragment in fragments:
            self.assertIn(fragment, error)

    def test_upstream_listener(self):
        config = self.load(MUD + LISTENER + 'upstream = "mud"\n')
        upstream = config.upstreams["mud"]
        self.assertEqual((upstream.name, upstream.client_address, upstream.encoding, upstream.connect_timeout),
                         ("mud", "mnes", "utf-8", 10.0))
        self.assertEqual(config.listeners["play"].login_mode, "upstream")

    def test_gateway_login(self):
        config = self.load(MUD + LISTENER + 'upstream = "mud"\nlogin = "gateway"\n')
        self.assertEqual(config.listeners["play"].login_mode, "gateway")

    def test_built_in_world_by_default(self):
        self.assertIsNone(self.load(LISTENER).listeners["play"].login_mode)
        self.assertEqual(load_config().upstreams, {})

    def test_unknown_upstream(self):
        self.refused(MUD + LISTENER + 'upstream = "other"\n',
                     "listeners.play.upstream 'other' is not a configured upstream (configured: mud)")

    def test_no_upstreams(self):
        self.refused(LISTENER + 'upstream = "mud"\n', "add an [upstreams.NAME] table")

    def test_login_without_upstream(self):
        self.refused(LISTENER + 'login = "gateway"\n', "listeners.play.login is only for a listener with an upstream")

    def test_bad_login(self):
        self.refused(MUD + LISTENER + 'upstream = "mud"\nlogin = "both"\n', "listeners.play.login must be one of")

    def test_bad_client_address(self):
        self.refused(MUD + 'client_address = "xff"\n', "upstreams.mud.client_address must be one of 'mnes'")

    def test_bad_encoding(self):
        self.refused(MUD + 'encoding = "klingon"\n', "upstreams.mud.encoding must be an ASCII-compatible text encoding")

    def test_encoding_not_for_text(self):
        """
        Encodings Python knows that are no text encoding (bytes to bytes,
        text to text) or that write ASCII otherwise (UTF-16, UTF-7) are
        refused: telnet's commands and line ends are ASCII.
        """
        for name in ("hex", "rot13", "utf-16", "utf-7", "utf-8-sig"):
            self.refused(MUD + f'encoding = "{name}"\n', "upstreams.mud.encoding must be an ASCII-compatible")

    def test_legacy_encodings(self):
        for name in ("latin-1", "cp437", "koi8-r", "shift_jis", "big5"):
            self.assertEqual(self.load(MUD + f'encoding = "{name}"\n').upstreams["mud"].encoding, name)

    def test_bad_endpoint(self):
        self.refused('[upstreams.mud]\nendpoint = "gopher:x"\n', "upstreams.mud.endpoint 'gopher:x' is not a valid client endpoint")

    def test_missing_endpoint(self):
        self.refused('[upstreams.mud]\nencoding = "utf-8"\n', "upstreams.mud.endpoint is required")

    def test_ca_file_needs_tls(self):
        self.refused(MUD + 'ca_file = "ca.pem"\n', "upstreams.mud.ca_file is only for a 'tls:HOST:PORT' endpoint")

    def test_bad_timeout(self):
        self.refused(MUD + 'connect_timeout = 0\n', "upstreams.mud.connect_timeout must be a number greater than 0")


class ServiceTests(SynchronousTestCase):
    def build(self, text):
        path = Path(self.mktemp())
        path.write_text(text)
        config = load_config(path)
        game = make_core(config=config)
        parent = MultiService()
        build_listeners(config, game, MemoryReactor(), parent, available_frontends())
        return game, {service.listener: service.factory.wrappedFactory for service in parent}

    def test_listeners_get_their_core(self):
        game, factories = self.build(
            MUD + '[listeners.play]\nfrontend = "lines"\nendpoint = "tcp:2"\nupstream = "mud"\n'
            + '[listeners.other]\nfrontend = "lines"\nendpoint = "tcp:0"\nupstream = "mud"\n'
            + '[listeners.world]\nfrontend = "lines"\nendpoint = "tcp:1"\n'
        )
        cores = {name: factory.buildProtocol(None).core for name, factory in factories.items()}
        self.assertIsInstance(cores["play"], UpstreamCore)
        self.assertIs(cores["play"], cores["other"])
        self.assertIs(cores["play"].game, game)
        self.assertIs(cores["world"], game)

    def test_unreadable_ca_file(self):
        error = self.assertRaises(
            StartupError, self.build,
            '[upstreams.mud]\nendpoint = "tls:mud.example.org:4001"\nca_file = "missing.pem"\n'
            + LISTENER + 'upstream = "mud"\n',
        )
        self.assertIn("upstreams.mud.ca_file: cannot read", str(error))


def tls_factory(options, client, wrapped, clock):
    """
    A L{TLSMemoryBIOFactory} whose small writes are flushed on C{clock}
    (Twisted 22.8 and later gather them until the reactor's next turn;
    22.4 writes them at once and has no such argument).
    """
    try:
        return TLSMemoryBIOFactory(options, client, wrapped, clock)
    except TypeError:
        return TLSMemoryBIOFactory(options, client, wrapped)


@implementer(IStreamClientEndpoint)
class TLSGameEndpoint:
    """
    Connects a relay over TLS, in memory, to a L{FakeUpstream} serving
    C{certificate}, the relay's side using C{options}.
    """

    def __init__(self, options, certificate, key, clock):
        self.options = options
        self.server_options = PrivateCertificate.loadPEM(certificate + key).options()
        self.clock = clock
        self.game = FakeUpstream()

    def connect(self, factory):
        client = tls_factory(self.options, True, factory, self.clock).buildProtocol(None)
        server = tls_factory(self.server_options, False, Factory.forProtocol(lambda: self.game), self.clock)
        server = server.buildProtocol(None)
        self.pump = iosim.connect(server, iosim.makeFakeServer(server), client, iosim.makeFakeClient(client))
        return succeed(client.wrappedProtocol)

    def flush(self):
        for _ in range(20):
            self.clock.advance(0)
            if not self.pump.flush():
                break


class TLSUpstreamTests(SynchronousTestCase):
    """
    A game that speaks telnet over TLS, with its certificate trusted from
    C{ca_file}: the handshake runs in memory, and the host name is checked.
    """

    def relay_through_tls(self, trusted, host="localhost"):
        certificate, key = self_signed("game")
        directory = Path(self.mktemp())
        directory.mkdir()
        (directory / "ca.pem").write_bytes(trusted or certificate)
        config = dataclasses.replace(load_config(), base=directory)
        upstream = UpstreamSettings(endpoint=f"tls:{host}:4001", ca_file="ca.pem", name="mud")
        _, _, options = client_tls_options(upstream, config)
        game_core = make_core()
        endpoint = TLSGameEndpoint(options, certificate, key, game_core.clock)
        core = UpstreamCore(game_core, upstream, endpoint)
        transport = RecordingTransport(peer="192.0.2.7:4242")
        transport.session = core.connect(transport)
        endpoint.flush()
        return transport, endpoint.game

    def test_trusted_game(self):
        transport, game = self.relay_through_tls(None)
        self.assertEqual(game.environment[b"IPADDRESS"], b"192.0.2.7")
        self.assertFalse(transport.closed)

    def test_untrusted_game(self):
        transport, game = self.relay_through_tls(self_signed("other")[0])
        self.assertEqual(game.environment, {})
        self.assertEqual(transport.events[-1], ("close", "The game at localhost is not answering; try again in a minute."))

    def test_wrong_host_name(self):
        transport, game = self.relay_through_tls(None, host="mud.example.org")
        self.assertEqual(game.environment, {})
        self.assertTrue(transport.closed)

    def test_ca_file_without_certificates(self):
        directory = Path(self.mktemp())
        directory.mkdir()
        (directory / "ca.pem").write_bytes(b"nothing here\n")
        config = dataclasses.replace(load_config(), base=directory)
        upstream = UpstreamSettings(endpoint="tls:localhost:4001", ca_file="ca.pem", name="mud")
        error = self.assertRaises(StartupError, client_tls_options, upstream, config)
        self.assertIn("holds no PEM certificate", str(error))


class OfferingMSDP(FakeUpstream):
    offers = FakeUpstream.offers + (MSDP,)


class MSDPTests(SynchronousTestCase):
    """
    MSDP between a telnet client that agreed to it and the game, well-formed
    subnegotiations only; refused towards the game for any other client.
    """

    VARIABLE = b"\x01HEALTH\x02100"

    def connect(self, agree):
        self.core, self.endpoint = upstream_core()
        self.endpoint.server = OfferingMSDP
        self.player = TelnetConnection(self.core)
        self.assertIn(IAC + WILL + MSDP, self.player.take())
        if agree:
            self.player.feed(IAC + DO + MSDP)
        self.endpoint.flush()
        (self.game,) = self.endpoint.servers
        self.player.take()

    def test_passed_both_ways(self):
        self.connect(agree=True)
        self.assertIn(MSDP, self.player.frontend.session.relay.remote)
        self.game.send_msdp(self.VARIABLE)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(MSDP, self.VARIABLE))
        self.player.feed(sb(MSDP, b"\x01REPORT\x02HEALTH\x02MANA"))
        self.endpoint.flush()
        self.assertEqual(self.game.msdp, [b"\x01REPORT\x02HEALTH\x02MANA"])

    def test_client_agreeing_later_gets_it(self):
        self.connect(agree=False)
        self.assertIn((MSDP, True), self.game.refused)
        self.player.feed(IAC + DO + MSDP)
        self.endpoint.flush()
        self.game.send_msdp(self.VARIABLE)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(MSDP, self.VARIABLE))
        self.player.feed(IAC + DONT + MSDP)
        self.endpoint.flush()
        self.assertNotIn(MSDP, self.player.frontend.session.relay.remote)

    def test_refused_for_a_client_without_it(self):
        self.connect(agree=False)
        self.assertIn((MSDP, True), self.game.refused)
        self.game.send_msdp(self.VARIABLE)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"")

    def test_tables_and_arrays_passed(self):
        self.connect(agree=True)
        room = b"\x01ROOM\x02\x03\x01VNUM\x026008\x01EXITS\x02\x03\x01n\x026011\x04\x01TAGS\x02\x05\x02a\x02b\x06\x04"
        self.game.send_msdp(room)
        self.endpoint.flush()
        self.assertEqual(self.player.take(), sb(MSDP, room))

    def test_malformed_dropped_both_ways(self):
        self.connect(agree=True)
        for payload in (b"HEALTH", b"\x01HEALTH\x02\x03\x01A\x021", b"\x01\x02x", b"\x01" + b"x" * 20000 + b"\x021"):
            self.game.send_msdp(payload)
            self.player.feed(sb(MSDP, payload))
        self.endpoint.flush()
        self.assertEqual(self.player.take(), b"")
        self.assertEqual(self.game.msdp, [])

    def test_not_offered_by_the_built_in_world(self):
        player = TelnetConnection(make_core())
        self.assertNotIn(IAC + WILL + MSDP, player.take())
