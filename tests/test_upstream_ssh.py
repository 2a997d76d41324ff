"""
SSH in front of an upstream game: with the game's own login any user name
gets in without a password; with the gateway's login the usual SSH
authentication comes first.
"""

from twisted.conch.ssh.common import NS
from twisted.conch.ssh.session import packRequest_pty_req, packRequest_window_change
from twisted.trial.unittest import TestCase

from gateway.config import build_settings
from gateway.frontends.ssh import SSHOptions
from gateway.frontends.ssh.server import GatewaySSHFactory
from gateway.frontends.telnet.codes import ECHO
from tests.fakeupstream import upstream_core
from tests.helpers import make_core, sign_up
from tests.test_ssh_frontend import HOST_KEY, Link


class UpstreamSSHTestCase(TestCase):
    login = "upstream"

    def setUp(self):
        self.game_core = make_core()
        self.core, self.endpoint = upstream_core(self.game_core, login=self.login)
        self.clock = self.core.clock
        settings = build_settings(SSHOptions, {}, "options")
        self.factory = GatewaySSHFactory(self.core, self.core.portal, settings, {b"ssh-ed25519": HOST_KEY}, self.clock, "")
        self.factory.doStart()
        self.addCleanup(self.factory.doStop)

    def shell(self, link, size=(24, 80)):
        channel = link.channel()
        link.request(channel, b"pty-req", packRequest_pty_req(b"xterm", size + (0, 0), b""))
        link.request(channel, b"shell")
        link.settle()
        self.endpoint.flush()
        link.pump()
        return channel


class GameLoginTests(UpstreamSSHTestCase):
    def test_any_user_without_password(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        self.assertTrue(link.connection.started)
        self.assertEqual(link.auth.lastAuth, b"none")

    def test_relayed_both_ways(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = self.shell(link, (30, 100))
        game = self.endpoint.servers[0]
        self.assertEqual(game.sizes, [(100, 30)])
        self.assertEqual(game.terminal_types[1], b"XTERM")
        game.say(b"Welcome to the \x1b[32mgame\x1b[0m.")
        self.endpoint.flush()
        link.pump()
        self.assertIn(b"\x1b[32mgame\x1b[0m.", channel.received)
        channel.write(b"connect guest\r")
        link.pump()
        self.endpoint.flush()
        self.assertEqual(game.received, [b"connect guest"])

    def test_window_change_reaches_the_game(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = self.shell(link)
        link.request(channel, b"window-change", packRequest_window_change((40, 120, 0, 0)))
        self.endpoint.flush()
        self.assertEqual(self.endpoint.servers[0].sizes, [(80, 24), (120, 40)])

    def test_game_hides_typing(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = self.shell(link)
        channel.received = b""
        channel.write(b"secret")
        link.pump()
        # The fake game said WILL ECHO at connect: nothing typed is shown.
        self.assertNotIn(b"secret", channel.received)
        self.endpoint.servers[0].wont(ECHO).addErrback(lambda f: None)
        self.endpoint.flush()
        channel.write(b"shown")
        link.pump()
        self.assertIn(b"shown", channel.received)

    def test_exec_refused(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = link.channel()
        link.request(channel, b"exec", NS(b"who"))
        link.settle()
        self.assertIn(b"This server relays to a game, which needs a terminal", channel.received)
        self.assertEqual(channel.exit_status, 1)
        self.assertEqual(self.endpoint.servers, [])

    def test_player_leaving_closes_the_game_connection(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = self.shell(link)
        channel.write(b"\x04")
        link.settle()
        self.endpoint.flush()
        self.assertTrue(self.endpoint.servers[0].lost)

    def test_end_of_input_without_a_terminal(self):
        """
        A shell without a terminal (C{ssh -T host < commands}): the lines
        go to the game and, once the input ends, the game connection's
        writing half closes (the game reads the end, no C{quit} line);
        what the game says then still reaches the player, and its close
        ends the channel.
        """
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = link.channel()
        link.request(channel, b"shell")
        link.settle()
        self.endpoint.flush()
        (relay,) = self.core.relays
        half_closed = []
        self.patch(relay.transport, "loseWriteConnection", lambda: half_closed.append(True))
        channel.write(b"connect guest\nWHO\n")
        link.connection.sendEOF(channel)
        link.settle()
        self.endpoint.flush()
        game = self.endpoint.servers[0]
        self.assertEqual(game.received, [b"connect guest", b"WHO"])
        self.assertEqual(half_closed, [True])
        game.say(b"Nobody is here.")
        game.transport.loseConnection()
        self.endpoint.flush()
        link.settle()
        self.assertIn(b"Nobody is here.", channel.received)
        self.assertEqual(channel.exit_status, 0)


class GatewayLoginTests(UpstreamSSHTestCase):
    login = "gateway"

    def test_password_needed(self):
        link = Link(self.factory, self.clock, user=b"guest", stall=True)
        link.settle(1)
        self.assertFalse(link.connection.started)

    def test_account_relayed(self):
        sign_up(self.game_core, "Alice", "secret1")
        link = Link(self.factory, self.clock, user=b"Alice", passwords=["secret1"])
        link.settle(1)
        self.assertTrue(link.connection.started)
        self.shell(link)
        self.assertEqual(len(self.endpoint.servers), 1)


class OutputFlowTests(UpstreamSSHTestCase):
    """
    A game that floods a player who is not reading waits at its own end
    of the connection while the player's SSH window or connection is full.
    """

    def flood(self, game, lines=4000):
        for n in range(0, lines, 50):
            for m in range(n, n + 50):
                game.say(b"flood %04d " % m + b"x" * 100)
            self.endpoint.flush()

    def test_full_window_pauses_the_game(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = self.shell(link, (24, 200))
        game = self.endpoint.servers[0]
        (relay,) = self.core.relays
        self.flood(game)
        # The client took nothing: the window it gave filled, and the game
        # is no longer read.
        self.assertTrue(relay.transport.paused)
        self.assertLess(len(link.server_wire.value()), 200000)
        self.assertFalse(link.server_wire.disconnecting)
        for _ in range(1000):
            link.pump()
            self.endpoint.flush()
        lines = [line[line.index(b"flood"):] for line in channel.received.split(b"\r\n") if b"flood" in line]
        self.assertEqual(lines, [b"flood %04d " % m + b"x" * 100 for m in range(4000)])
        self.assertFalse(relay.transport.paused)

    def test_full_connection_pauses_the_game(self):
        link = Link(self.factory, self.clock, user=b"guest")
        link.settle(1)
        channel = self.shell(link)
        game = self.endpoint.servers[0]
        (relay,) = self.core.relays
        # The connection below tells its transport it holds too much.
        link.server.pauseProducing()
        self.endpoint.flush()
        self.assertTrue(relay.transport.paused)
        link.server.resumeProducing()
        self.assertFalse(relay.transport.paused)
        game.say(b"after")
        self.endpoint.flush()
        link.pump()
        self.assertIn(b"after\r\n", channel.received)
