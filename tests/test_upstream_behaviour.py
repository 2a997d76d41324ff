"""
What a player relayed to a game sees, the same over every frontend: the
clients of L{tests.behaviour} in front of the upstream core and the fake
game of L{tests.fakeupstream}.
"""

import re

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from tests.behaviour import LinesClient, SSHClient, SSHLinesClient, TelnetClient, WebSocketClient, WebSocketTLSClient
from tests.fakeupstream import upstream_core
from tests.helpers import limited, make_core
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn


class UpstreamBehaviour:
    """
    A subclass of this and L{TestCase} sets C{client} (a client class of
    L{tests.behaviour}) and C{tls}.
    """

    tls = False

    def setUp(self):
        self.clock = Clock()
        self.core, self.endpoint = upstream_core(make_core(self.clock))

    def connect(self):
        client = self.client(self.core, self.tls)
        self.endpoint.flush()
        client.text()
        return client

    def settle(self, client):
        """
        Move what is waiting between the game, the gateway and the client.
        """
        self.endpoint.flush()
        flush = getattr(client, "flush", None)
        if flush is not None:
            flush()
        self.endpoint.flush()

    def test_game_and_player_talk(self):
        client = self.connect()
        (game,) = self.endpoint.servers
        game.say(b"Welcome to the \x1b[1mgame\x1b[0m.")
        game.prompt(b"Your name? ")
        self.settle(client)
        # Colour, where the client renders it, is ANSI on every frontend.
        text = re.sub("\x1b\\[[0-9;]*m", "", client.text())
        self.assertIn("Welcome to the game.", text)
        self.assertIn("Your name? ", text)
        client.type("Zed")
        self.settle(client)
        self.assertEqual(game.received, [b"Zed"])

    def test_game_hides_the_password(self):
        client = self.connect()
        (game,) = self.endpoint.servers
        # The fake game said WILL ECHO at connect.
        hidden = client.type_hidden("hunter2")
        self.settle(client)
        self.assertEqual(game.received, [b"hunter2"])
        if client.hides_input:
            self.assertTrue(hidden)
            game.echo(False)
            self.settle(client)
            self.assertFalse(client.type_hidden("look"))

    def test_game_not_answering(self):
        self.endpoint.mode = "refuse"
        client = self.client(self.core, self.tls)
        self.settle(client)
        self.assertIn("The game at mud.example.org is not answering; try again in a minute.", client.text())
        self.assertTrue(client.closed)

    def test_game_closes_after_its_last_words(self):
        client = self.connect()
        (game,) = self.endpoint.servers
        game.say(b"The game is closing.")
        game.transport.loseConnection()
        self.settle(client)
        self.assertIn("The game is closing.", client.text())
        self.assertTrue(client.closed)

    def test_dropped_player_leaves_the_game(self):
        client = self.connect()
        (game,) = self.endpoint.servers
        client.drop()
        self.settle(client)
        self.assertTrue(game.lost)
        self.assertEqual(self.core.game.sessions, set())

    def test_dropped_player_resumes_in_gateway_mode(self):
        """
        With C{login = "gateway"} the game connection outlives the
        player's for C{sessions.linger}: logging in again carries on with
        it and replays what the game said meanwhile.
        """
        self.core, self.endpoint = upstream_core(make_core(self.clock), login="gateway")
        client = self.client(self.core, self.tls)
        client.type("Alice", "yes", "secret1", "secret1")
        self.settle(client)
        (game,) = self.endpoint.servers
        client.drop()
        game.say(b"The rat bites.")
        self.endpoint.flush()
        self.assertFalse(game.lost)
        again = self.client(self.core, self.tls)
        again.type("Alice", "secret1")
        self.settle(again)
        text = again.text()
        self.assertIn("Welcome back. You were away", text)
        self.assertIn("The rat bites.", text)
        again.type("look")
        self.settle(again)
        self.assertEqual(self.endpoint.servers, [game])
        self.assertEqual(game.received[-1], b"look")


class TelnetUpstreamTests(UpstreamBehaviour, TestCase):
    client = TelnetClient


class TelnetTLSUpstreamTests(UpstreamBehaviour, TestCase):
    client = TelnetClient
    tls = True


class LinesUpstreamTests(UpstreamBehaviour, TestCase):
    client = LinesClient


class SSHUpstreamTests(UpstreamBehaviour, TestCase):
    client = SSHClient


class SSHLinesUpstreamTests(UpstreamBehaviour, TestCase):
    client = SSHLinesClient


class WebSocketUpstreamTests(UpstreamBehaviour, TestCase):
    client = WebSocketClient
    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def test_structured_messages_both_ways(self):
        client = self.connect()
        (game,) = self.endpoint.servers
        game.send_gmcp(b'Char.Vitals {"hp":7}')
        self.settle(client)
        self.assertIn(b'"package":"Char.Vitals"', client.wire.value().replace(b" ", b""))
        client.send({"type": "data", "package": "Char.Items.Inv", "data": ""})
        self.endpoint.flush()
        self.assertEqual(game.gmcp[-1], b'Char.Items.Inv ""')

    def test_browser_resize_reaches_the_game(self):
        client = self.connect()
        client.send({"type": "size", "width": 132, "height": 50})
        self.endpoint.flush()
        self.assertEqual(self.endpoint.servers[0].sizes[-1], (132, 50))


class WebSocketTLSUpstreamTests(WebSocketUpstreamTests):
    client = WebSocketTLSClient
    tls = True


class WebSocketOutputFlowTests(TestCase):
    """
    A browser player who leaves output unread pauses reading from the game:
    the socket, upgraded from the listener's HTTP channel, behind the
    connection limits (and TLS), as a listener builds it.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def flood(self, core, endpoint, client_output, received):
        """
        The game floods the player while the player's connection does not
        take output; once it does again, the player gets it all.

        @param client_output: the producer the player's connection pauses
            while the client does not read.
        @param received: returns what the client was sent since the last
            call.
        """
        (game,) = endpoint.servers
        (relay,) = core.relays
        received()
        client_output.pauseProducing()
        for n in range(200):
            game.say(b"flood %d" % n)
        endpoint.flush()
        self.assertTrue(relay.transport.paused)
        self.assertEqual(received(), b"")
        client_output.resumeProducing()
        endpoint.flush()
        self.assertFalse(relay.transport.paused)
        output = received()
        self.assertIn(b"flood 0", output)
        self.assertIn(b"flood 199", output)

    def test_game_waits_while_the_player_does_not_read(self):
        from gateway.frontends.websocket import build_factory

        core, endpoint = upstream_core(make_core(Clock()))
        site = limited(build_factory(core, core.portal, {}), core)
        wire = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.7", 40000))
        connection = site.buildProtocol(wire.getPeer())
        connection.makeConnection(wire)
        connection.dataReceived(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: gateway.text\r\n\r\n"
        )
        endpoint.flush()

        def received():
            data = wire.value()
            wire.clear()
            return data

        self.flood(core, endpoint, wire.producer, received)
        connection.connectionLost(Failure(ConnectionDone()))

    def test_game_waits_while_the_player_over_tls_does_not_read(self):
        core, endpoint = upstream_core(make_core(Clock()))
        client = WebSocketTLSClient(core)
        endpoint.flush()

        def received():
            client.flush()
            endpoint.flush()
            client.flush()
            data = client.wire.value()
            client.wire.clear()
            return data

        self.flood(core, endpoint, client.server.producer, received)
