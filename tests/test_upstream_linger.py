"""
Lingering in gateway mode (C{login = "gateway"}): the connection to the
game stays open while the player is away, its output is kept for them,
and logging in again carries on with it.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.fakeupstream import upstream_core
from tests.helpers import RecordingTransport, make_core, sign_up, with_settings
from tests.test_resume_token import Browser, autobahn


class UpstreamLingerTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        game = make_core(self.clock, with_settings(sessions={"replay_lines": 5}))
        owner, session = sign_up(game, "alice")
        session.line_received("quit")
        owner.disconnect()
        self.core, self.endpoint = upstream_core(game, login="gateway")
        self.player, self.session = self.log_in()
        (self.game,) = self.endpoint.servers

    def log_in(self, protocol="test"):
        transport = RecordingTransport(protocol)
        transport.session = session = self.core.connect(transport)
        session.line_received("alice")
        transport.clear()
        session.line_received("secret1")
        self.endpoint.flush()
        return transport, session

    def test_game_connection_kept_and_resumed(self):
        self.player.disconnect()
        self.endpoint.flush()
        self.assertFalse(self.game.lost)
        self.game.say(b"You are hungry.\r\nA rat squeaks.")
        self.endpoint.flush()
        self.clock.advance(30)
        player, session = self.log_in(protocol="ssh")
        self.assertEqual(len(self.endpoint.servers), 1)
        self.assertEqual(
            player.lines(),
            "Welcome back. You were away 30 seconds and missed 2 lines:\nYou are hungry.\nA rat squeaks.",
        )
        session.line_received("eat")
        self.game.say(b"You eat.")
        self.endpoint.flush()
        self.assertEqual(self.game.received, [b"eat"])
        self.assertIn("You eat.", player.lines())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_expiry_closes_the_game_connection(self):
        self.player.disconnect()
        self.clock.advance(self.core.settings.sessions.linger)
        self.endpoint.flush()
        self.assertTrue(self.game.lost)
        player, _ = self.log_in()
        self.assertEqual(len(self.endpoint.servers), 2)
        self.assertNotIn("Welcome back", player.lines())

    def test_full_buffer_pauses_reading_the_game(self):
        calls = []
        transport = self.session.relay.transport
        self.patch(transport, "pauseProducing", lambda: calls.append("pause"))
        self.patch(transport, "resumeProducing", lambda: calls.append("resume"))
        self.player.disconnect()
        self.game.say(b"one\r\ntwo\r\nthree\r\nfour")
        self.endpoint.flush()
        self.assertEqual(calls, [])
        self.game.say(b"five")
        self.endpoint.flush()
        self.assertEqual(calls, ["pause"])
        self.log_in()
        self.assertEqual(calls, ["pause", "resume"])

    def test_game_closing_ends_the_linger(self):
        self.player.disconnect()
        self.game.transport.loseConnection()
        self.endpoint.flush()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        player, _ = self.log_in()
        self.assertEqual(len(self.endpoint.servers), 2)

    def test_quit_is_not_kept(self):
        self.session.close("Bye.")
        self.player.disconnect()
        self.endpoint.flush()
        self.assertTrue(self.game.lost)

    def test_shutdown_ends_lingering_sessions(self):
        self.player.disconnect()
        self.successResultOf(self.core.game.shutdown("Bye."))
        self.endpoint.flush()
        self.assertTrue(self.game.lost)


class UpstreamTokenTests(SynchronousTestCase):
    if autobahn is None:
        skip = "autobahn is not installed"

    def test_web_client_resumes_with_its_token(self):
        game = make_core(Clock())
        core, endpoint = upstream_core(game, login="gateway")
        page = Browser(core)
        for line in ("alice", "yes", "secret1", "secret1"):
            page.line(line)
        endpoint.flush()
        token = page.token()
        self.assertIsNotNone(token)
        page.drop()
        endpoint.servers[0].say(b"The rat bites.")
        endpoint.flush()
        again = Browser(core)
        again.send({"type": "resume", "name": "alice", "token": token})
        self.assertEqual(again.messages("error"), [])
        self.assertIn("missed 1 line:\nThe rat bites.", again.text())
        self.assertEqual(len(endpoint.servers), 1)
