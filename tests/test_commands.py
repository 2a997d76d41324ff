"""
The game commands as players use them.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import log_in, make_core, sign_up


class CommandTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.alice_out, self.alice = sign_up(self.core, "Alice")
        self.bob_out, self.bob = sign_up(self.core, "Bob", protocol="ssh")
        self.alice_out.clear()

    def test_arrival_seen_by_room(self):
        carol_out, carol = sign_up(self.core, "Carol")
        self.assertIn("Carol has arrived.", self.alice_out.lines())
        self.assertNotIn("Carol has arrived.", carol_out.lines())

    def test_look(self):
        self.alice.line_received("look")
        self.assertEqual(
            self.alice_out.lines(), "|CThe Hall|n\nA plain hall.\nExits: |gnorth|n, |gup|n\nHere: Bob"
        )
        self.alice.line_received("look at things")
        self.assertIn("Usage: look", self.alice_out.lines())

    def test_say_and_shortcuts(self):
        self.alice.line_received("say hello all")
        self.assertEqual(self.bob_out.lines(), 'Alice says, "hello all"')
        self.assertEqual(self.alice_out.lines(), 'You say, "hello all"')
        self.alice.line_received("'again")
        self.assertIn('Alice says, "again"', self.bob_out.lines())
        self.alice.line_received("say")
        self.assertIn("Say what? Usage: say <text>", self.alice_out.lines())

    def test_emote(self):
        self.alice.line_received(":waves.")
        self.assertEqual(self.bob_out.lines(), "Alice waves.")
        self.assertEqual(self.alice_out.lines(), "Alice waves.")
        self.alice.line_received("emote")
        self.assertIn("Usage: emote <action>", self.alice_out.lines())

    def test_tell(self):
        self.bob.line_received("north")
        self.bob_out.clear()
        self.alice_out.clear()
        self.alice.line_received("tell bob psst")
        self.assertEqual(self.bob_out.lines(), 'Alice tells you, "psst"')
        self.assertEqual(self.alice_out.lines(), 'You tell Bob, "psst"')
        for bad, message in [
            ("tell", "Usage: tell <name> <text>"),
            ("tell bob", "Usage: tell <name> <text>"),
            ("tell zed hi", "Nobody called zed is online."),
            ("tell alice hi", "Talking to yourself?"),
        ]:
            self.alice_out.clear()
            self.alice.line_received(bad)
            self.assertIn(message, self.alice_out.lines())

    def test_who(self):
        self.clock.advance(125)
        self.alice.line_received("who")
        self.assertEqual(
            self.alice_out.lines(),
            "2 players online:\n"
            "  Alice  test               idle 0s\n"
            "  Bob    ssh                idle 2m",
        )

    def test_go_moves_saves_and_announces(self):
        self.alice.line_received("go north")
        self.assertIn("Alice leaves north.", self.bob_out.lines())
        self.assertIn("The Yard", self.alice_out.lines())
        self.assertEqual(self.alice.room, "yard")
        record = self.successResultOf(self.core.store.account_by_name("Alice"))
        self.assertEqual(record.location, "yard")
        self.bob.line_received("n")
        self.assertIn("Bob has arrived.", self.alice_out.lines())

    def test_go_errors(self):
        self.alice.line_received("go")
        self.assertIn("Go where? Exits: north, up", self.alice_out.lines())
        self.alice.line_received("go west")
        self.assertIn("You can't go 'west' from here. Exits: north, up", self.alice_out.lines())
        self.alice.line_received("south")
        self.assertIn("Unknown command 'south'", self.alice_out.lines())
        self.assertEqual(self.alice.room, "hall")

    def test_room_remembered_at_next_login(self):
        self.bob.line_received("up")
        self.alice.line_received("up")
        self.alice.line_received("quit")
        self.assertEqual(self.alice_out.events[-1], ("close", "Goodbye."))
        self.alice_out.disconnect()
        self.assertIn("Alice has left.", self.bob_out.lines())
        out, again = log_in(self.core, "alice")
        self.assertEqual(again.room, "attic")

    def test_help(self):
        self.alice.line_received("help")
        text = self.alice_out.lines()
        for name in ("help", "look", "say", "emote", "tell", "who", "go", "password", "quit"):
            self.assertIn(f"\n  {name}", text)
        self.alice_out.clear()
        self.alice.line_received("help tell")
        self.assertEqual(
            self.alice_out.lines(), "tell <name> <text> (also: whisper)\n  Say something privately to one player anywhere."
        )
        self.alice.line_received("help fly")
        self.assertIn("There is no command 'fly'.", self.alice_out.lines())

    def test_password_change(self):
        for line in ("password", "secret1", "newpass1", "newpass1"):
            self.alice.line_received(line)
        self.assertIn("Your password has been changed.", self.alice_out.lines())
        echo = [v for k, v in self.alice_out.events if k == "echo"]
        self.assertEqual(echo, [False, True] * 3)
        self.alice.line_received("quit")
        self.alice_out.disconnect()
        out, again = log_in(self.core, "Alice", "newpass1")
        self.assertIsNotNone(again.account)

    def test_password_change_when_the_hasher_is_busy(self):
        self.core.hasher.limit = 0
        for line in ("password", "secret1"):
            self.alice.line_received(line)
        self.assertIn("The server is busy; please try again. Nothing was changed.", self.alice_out.lines())

    def test_password_change_refusals(self):
        for lines, message in [
            (("password", "wrong"), "That is not your current password; nothing was changed."),
            (("password", "secret1", "abc"), "too short"),
            (("password", "secret1", "newpass1", "newpass2"), "The passwords do not match; nothing was changed."),
            (("password now",), "Usage: password"),
        ]:
            self.alice_out.clear()
            for line in lines:
                self.alice.line_received(line)
            self.assertIn(message, self.alice_out.lines())
        self.alice.line_received("quit")
        self.alice_out.disconnect()
        out, again = log_in(self.core, "Alice", "secret1")
        self.assertIsNotNone(again.account)
