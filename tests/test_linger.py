"""
Sessions that outlive their connections: linger, resume from any
protocol with the missed lines replayed, and several connections on one
account.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from gateway.core.linger import REPLAY_PACKAGE, ReplayBuffer
from tests.helpers import RecordingTransport, connect, make_core, sign_up, with_settings


def log_in(core, name, password="secret1", protocol="test"):
    """
    Connect and log in to the account C{name}; the transport records what
    followed the password.
    """
    transport, session = connect(core, protocol)
    session.line_received(name)
    transport.clear()
    session.line_received(password)
    return transport, session


class ReplayBufferTests(SynchronousTestCase):
    def test_keeps_lines_in_order(self):
        buffer = ReplayBuffer(10, 1000)
        buffer.add("one")
        buffer.add("two\nthree")
        self.assertEqual(buffer.lines(), ["one", "two", "three"])
        self.assertEqual(buffer.received, 3)

    def test_oldest_lines_dropped_and_counted(self):
        buffer = ReplayBuffer(2, 1000)
        for n in range(5):
            buffer.add(f"line {n}")
        self.assertEqual(buffer.lines(), ["(3 older lines were not kept.)", "line 3", "line 4"])
        self.assertEqual(buffer.received, 5)

    def test_byte_bound(self):
        buffer = ReplayBuffer(100, 10)
        buffer.add("ééé")  # 6 bytes
        buffer.add("abcd")
        buffer.add("x")
        self.assertEqual(buffer.lines(), ["(1 older line was not kept.)", "abcd", "x"])

    def test_line_longer_than_the_bound_is_cut(self):
        buffer = ReplayBuffer(100, 5)
        buffer.add("é" * 10)
        self.assertEqual(buffer.lines(), ["éé"])


class LingerTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.alice, self.alice_session = sign_up(self.core, "Alice")
        self.bob, self.bob_session = sign_up(self.core, "Bob")
        self.alice_session.line_received("north")
        self.bob_session.line_received("north")
        self.alice.clear()
        self.bob.clear()

    def drop_alice(self):
        self.alice.disconnect()

    def test_drop_then_resume_over_another_protocol(self):
        """
        A dropped player stays in the room unannounced; logging in again
        over another frontend replays what was said, in order, and others
        see neither a departure nor an arrival.
        """
        self.drop_alice()
        self.clock.advance(90)
        self.bob_session.line_received("say one")
        self.bob_session.line_received("say two")
        self.bob_session.line_received("look")
        self.assertIn("Here: Alice", self.bob.lines())
        transport, session = log_in(self.core, "Alice", protocol="websocket")
        self.assertIs(self.core.world.find_online("alice"), session)
        self.assertEqual(session.room, "yard")
        self.assertEqual(
            transport.lines().split("\n")[:4],
            ["Welcome back. You were away 90 seconds and missed 2 lines:", 'Bob says, "one"', 'Bob says, "two"',
             "|CThe Yard|n"],
        )
        self.assertNotIn("left", self.bob.lines())
        self.assertNotIn("arrived", self.bob.lines())
        self.assertEqual(self.clock.getDelayedCalls(), [])
        session.line_received("say back")
        self.assertIn('Alice says, "back"', self.bob.lines())

    def test_resume_by_a_frontend_that_authenticated(self):
        """
        An SSH key or a client certificate resumes as a password does.
        """
        self.drop_alice()
        self.bob_session.line_received("say hi")
        transport = RecordingTransport("ssh")
        transport.session = self.core.connect(transport, self.alice_session.account)
        self.assertEqual(
            transport.lines().split("\n")[:2],
            ["Welcome back. You were away 1 second and missed 1 line:", 'Bob says, "hi"'],
        )
        self.assertIs(self.core.world.find_online("alice"), transport.session)

    def test_resume_with_nothing_missed(self):
        self.drop_alice()
        transport, _ = log_in(self.core, "Alice")
        self.assertEqual(
            transport.lines().split("\n")[:2], ["Welcome back. You were away 1 second; you missed nothing.", "|CThe Yard|n"]
        )

    def test_replay_marked_for_structured_clients(self):
        self.drop_alice()
        self.bob_session.line_received("say hi")
        data = []
        self.patch(type(self.alice_session), "send_data", lambda session, package, value: data.append((package, value)))
        log_in(self.core, "Alice")
        self.assertEqual(
            [item for item in data if item[0] == REPLAY_PACKAGE],
            [(REPLAY_PACKAGE, {"state": "start", "lines": 1}), (REPLAY_PACKAGE, {"state": "end"})],
        )

    def test_expiry_leaves_the_world(self):
        self.drop_alice()
        self.clock.advance(self.core.settings.sessions.linger - 1)
        self.assertNotIn("Alice has left.", self.bob.lines())
        self.clock.advance(1)
        self.assertIn("Alice has left.", self.bob.lines())
        self.assertIsNone(self.core.world.find_online("alice"))
        transport, session = log_in(self.core, "Alice")
        self.assertIn("Exits:", transport.lines())
        self.assertIn("Alice has arrived.", self.bob.lines())

    def test_replay_bound(self):
        self.core.reconfigure(with_settings(sessions={"replay_lines": 3}))
        self.drop_alice()
        for n in range(5):
            self.bob_session.line_received(f"say {n}")
        transport, _ = log_in(self.core, "Alice")
        self.assertEqual(
            transport.lines().split("\n")[1:6],
            ["(2 older lines were not kept.)", 'Bob says, "2"', 'Bob says, "3"', 'Bob says, "4"', "|CThe Yard|n"],
        )
        self.assertIn("missed 5 lines", transport.lines())

    def test_quit_does_not_linger(self):
        self.alice_session.line_received("quit")
        self.alice.disconnect()
        self.assertIn("Alice has left.", self.bob.lines())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_linger_zero_ends_at_once(self):
        self.core.reconfigure(with_settings(sessions={"linger": 0}))
        self.drop_alice()
        self.assertIn("Alice has left.", self.bob.lines())

    def test_flicker(self):
        self.core.reconfigure(with_settings(sessions={"flicker": True}))
        self.drop_alice()
        self.assertEqual(self.bob.lines(), "Alice's connection flickers.")

    def test_tell_says_the_player_is_away(self):
        self.drop_alice()
        self.bob_session.line_received("tell alice are you there?")
        self.assertEqual(
            self.bob.lines(),
            'You tell Alice, "are you there?"\n'
            "(Alice's connection has dropped; they will see it when they come back.)",
        )
        transport, _ = log_in(self.core, "Alice")
        self.assertIn('Bob tells you, "are you there?"', transport.lines())

    def test_who_shows_lingering(self):
        self.drop_alice()
        self.clock.advance(120)
        self.bob_session.line_received("who")
        self.assertIn("Alice  -                  lingering 2m", self.bob.lines())

    def test_shutdown_ends_lingering_sessions(self):
        self.drop_alice()
        done = self.core.shutdown("Bye.")
        self.assertIn("Alice has left.", self.bob.lines())
        self.assertIsNone(self.core.world.find_online("alice"))
        self.bob.disconnect()
        self.successResultOf(done)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_wrong_password_does_not_reveal_lingering(self):
        def attempt():
            transport, session = log_in(self.core, "Bob", password="wrong")
            return transport.output()

        self.bob_session.line_received("quit")
        self.bob.disconnect()
        offline = attempt()
        self.clock.advance(3600)
        _, bob = log_in(self.core, "Bob")
        bob.transport.disconnect()
        lingering = attempt()
        self.assertEqual(offline, lingering)

    def test_closing_a_lingering_session_ends_it(self):
        """
        What the server does to end a session (an admin's C{kick}) ends a
        lingering one at once.
        """
        self.drop_alice()
        self.alice_session.close("Kicked.")
        self.assertIn("Alice has left.", self.bob.lines())
        self.assertIsNone(self.core.world.find_online("alice"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_idle_timeout_applies_to_resumed_session(self):
        self.core.reconfigure(with_settings(limits={"idle_timeout": 600, "idle_warning": 60}))
        self.drop_alice()
        transport, _ = log_in(self.core, "Alice")
        self.clock.advance(600)
        self.assertTrue(transport.closed)


class PerAccountTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.alice, self.alice_session = sign_up(self.core, "Alice")
        self.bob, self.bob_session = sign_up(self.core, "Bob")
        self.alice.clear()
        self.bob.clear()

    def test_replace(self):
        transport, session = log_in(self.core, "Alice", protocol="ssh")
        self.assertEqual(
            self.alice.events[-1], ("close", "You have logged in from another connection; this one is being closed.")
        )
        self.assertIn("You were already connected", transport.lines())
        self.alice.disconnect()
        self.assertIs(self.core.world.find_online("alice"), session)
        self.assertIsNone(self.alice_session.lingering)
        self.assertEqual(self.bob.lines(), "")

    def test_attach(self):
        self.core.reconfigure(with_settings(sessions={"per_account": "attach"}))
        transport, session = log_in(self.core, "Alice", protocol="ssh")
        self.assertFalse(self.alice.closed)
        self.assertIn("Another connection (ssh) is now attached", self.alice.lines())
        self.assertIn("this connection is attached", transport.lines())
        self.assertEqual(self.bob.lines(), "")
        self.alice.clear()
        transport.clear()
        # Either may type; both see the output.
        session.line_received("say from ssh")
        self.alice_session.line_received("say from test")
        for seen in (self.alice.lines(), transport.lines()):
            self.assertEqual(seen, 'You say, "from ssh"\nYou say, "from test"')
        self.bob_session.line_received("say hello")
        self.assertIn('Bob says, "hello"', transport.lines())
        self.bob.clear()
        self.bob_session.line_received("who")
        self.assertIn("Alice  test, ssh", self.bob.lines())
        self.assertEqual(self.bob.lines().count("Alice"), 1)
        # Moving from the attached connection moves the account.
        session.line_received("north")
        self.assertEqual(self.core.world.find_online("alice").room, "yard")
        self.assertIn("The Yard", self.alice.lines())

    def test_closing_closes_every_connection(self):
        self.core.reconfigure(with_settings(sessions={"per_account": "attach"}))
        transport, session = log_in(self.core, "Alice", protocol="ssh")
        self.alice_session.close("Kicked.")
        self.assertEqual((self.alice.events[-1], transport.events[-1]), (("close", "Kicked."), ("close", "Kicked.")))
        transport.disconnect()
        self.alice.disconnect()
        self.assertEqual(self.bob.lines(), "Alice has left.")
        self.assertIsNone(self.core.world.find_online("alice"))

    def test_typing_on_an_attached_connection_keeps_the_session_from_idling(self):
        self.core.reconfigure(with_settings(
            sessions={"per_account": "attach"}, limits={"idle_timeout": 600, "idle_warning": 60}
        ))
        transport, session = log_in(self.core, "Alice", protocol="ssh")
        self.clock.advance(500)
        session.line_received("look")
        self.clock.advance(500)
        self.assertFalse(self.alice.closed)

    def test_attached_answers_questions(self):
        self.core.reconfigure(with_settings(sessions={"per_account": "attach"}))
        transport, session = log_in(self.core, "Alice", protocol="ssh")
        self.alice.clear()
        transport.clear()
        session.line_received("password")
        self.assertIn(("echo", False), transport.events)
        self.assertIn(("prompt", "Current password: "), self.alice.events)
        self.alice_session.line_received("secret1")
        session.line_received("secret2")
        session.line_received("secret2")
        self.assertIn("password has been changed", self.alice.lines().lower())

    def test_attached_connections_leave_one_by_one(self):
        self.core.reconfigure(with_settings(sessions={"per_account": "attach"}))
        ssh, ssh_session = log_in(self.core, "Alice", protocol="ssh")
        web, web_session = log_in(self.core, "Alice", protocol="websocket")
        ssh.disconnect()
        self.assertEqual(self.alice_session.attached, [web_session])
        self.alice.disconnect()
        self.assertIs(self.core.world.find_online("alice"), web_session)
        self.assertEqual(self.bob.lines(), "")
        self.bob_session.line_received("say hi")
        self.assertIn('Bob says, "hi"', web.lines())
        web.disconnect()
        self.assertIsNotNone(web_session.lingering)
