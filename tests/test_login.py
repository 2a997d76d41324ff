"""
The login dialogue: sign-up, login, wrong passwords, timeout, takeover.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from gateway.config import load_config
from tests.helpers import connect, log_in, make_core, sign_up


class SignUpTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)

    def test_banner_and_name_prompt(self):
        transport, _ = connect(self.core)
        self.assertIn("Welcome to gateway.", transport.lines())
        self.assertEqual(transport.events[-1], ("prompt", "Name: "))

    def test_new_name_creates_account_with_hidden_password(self):
        transport, session = connect(self.core)
        for line in ("Alice", "yes", "secret1", "secret1"):
            session.line_received(line)
        # Echo is turned off around each password prompt and back on after.
        echo = [value for kind, value in transport.events if kind == "echo"]
        self.assertEqual(echo, [False, True, False, True])
        self.assertIn("Welcome, Alice! Your account has been created.", transport.lines())
        self.assertIn("The Hall", transport.lines())
        self.assertEqual(session.account.name, "Alice")
        record = self.successResultOf(self.core.store.account_by_name("alice"))
        self.assertEqual(record.location, "hall")
        self.assertNotIn("secret1", record.password_hash)

    def test_mismatched_passwords_ask_again(self):
        transport, session = connect(self.core)
        for line in ("Alice", "yes", "secret1", "secret2"):
            session.line_received(line)
        self.assertIn("The passwords do not match; try again.", transport.lines())
        self.assertIsNone(session.account)
        session.line_received("secret3")
        session.line_received("secret3")
        self.assertEqual(session.account.name, "Alice")

    def test_short_password_refused(self):
        transport, session = connect(self.core)
        for line in ("Alice", "yes", "abc"):
            session.line_received(line)
        self.assertIn("too short", transport.lines())
        self.assertIsNone(session.account)

    def test_declining_creation_returns_to_name_prompt(self):
        transport, session = connect(self.core)
        session.line_received("Alcie")
        session.line_received("no")
        self.assertEqual(transport.events[-1], ("prompt", "Name: "))
        self.assertIsNone(self.successResultOf(self.core.store.account_by_name("Alcie")))

    def test_invalid_name_explained(self):
        transport, session = connect(self.core)
        session.line_received("x")
        self.assertIn("Names are 2 to 20 characters long.", transport.lines())
        session.line_received("b@d name")
        self.assertIn("Names start with a letter", transport.lines())
        self.assertEqual(transport.events[-1], ("prompt", "Name: "))

    def test_busy_hasher_starts_over(self):
        self.core.hasher.limit = 0
        transport, session = connect(self.core)
        for line in ("Bob", "yes", "secret1", "secret1"):
            session.line_received(line)
        self.assertIn("The server is busy; please try again.", transport.lines())
        self.assertIsNone(session.account)
        self.core.hasher.limit = 8
        for line in ("Bob", "yes", "secret1", "secret1"):
            session.line_received(line)
        self.assertEqual(session.account.name, "Bob")

    def test_registration_disabled(self):
        config = load_config()
        config = config.__class__(**{**config.__dict__, "accounts": config.accounts.__class__(allow_registration=False)})
        core = make_core(self.clock, config)
        transport, session = connect(core)
        session.line_received("Alice")
        self.assertIn("new accounts are not being created here", transport.lines())

    def test_name_taken_in_other_case(self):
        sign_up(self.core, "Alice")
        transport, session = connect(self.core)
        session.line_received("ALICE")
        # The existing account is found case-insensitively: password prompt.
        self.assertEqual(transport.events[-1], ("prompt", "Password: "))


class LoginTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        transport, session = sign_up(self.core, "Alice")
        session.line_received("quit")
        transport.disconnect()

    def test_login_existing_account(self):
        transport, session = log_in(self.core, "alice")
        self.assertEqual(session.account.name, "Alice")
        self.assertIn(session, self.core.world.occupants("hall"))

    def test_three_wrong_passwords_close(self):
        transport, session = connect(self.core)
        session.line_received("Alice")
        session.line_received("wrong1")
        self.assertIn("Wrong password.", transport.lines())
        # Each failure makes the next attempt wait longer, on the clock.
        self.assertIn("Too many failed logins; please wait 1 second.", transport.lines())
        self.clock.advance(1)
        session.line_received("wrong2")
        self.assertFalse(transport.closed)
        self.assertIn("please wait 2 seconds.", transport.lines())
        self.clock.advance(2)
        session.line_received("wrong3")
        self.assertEqual(transport.events[-1], ("close", "Too many failed attempts. Goodbye."))
        self.assertIsNone(session.account)

    def test_busy_hasher_answers_busy_and_counts_nothing(self):
        self.core.hasher.limit = 0
        transport, session = connect(self.core)
        session.line_received("Alice")
        for _ in range(5):
            session.line_received("secret1")
        lines = transport.lines()
        self.assertEqual(lines.count("The server is busy; please try again."), 5)
        self.assertNotIn("Wrong password.", lines)
        self.assertNotIn("please wait", lines)
        self.assertFalse(transport.closed)
        self.core.hasher.limit = 8
        session.line_received("secret1")
        self.assertEqual(session.account.name, "Alice")

    def test_login_timeout(self):
        transport, session = connect(self.core)
        session.line_received("Alice")
        self.clock.advance(59)
        self.assertFalse(transport.closed)
        self.clock.advance(1)
        self.assertEqual(transport.events[-1], ("close", "Login timed out after 60 seconds. Goodbye."))

    def test_timer_cancelled_after_login(self):
        transport, session = log_in(self.core, "Alice")
        self.clock.advance(3600)
        self.assertFalse(transport.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_takeover(self):
        old_transport, old = log_in(self.core, "Alice")
        old.line_received("north")
        new_transport, new = connect(self.core)
        new.line_received("alice")
        new.line_received("secret1")
        self.assertEqual(
            old_transport.events[-1],
            ("close", "You have logged in from another connection; this one is being closed."),
        )
        self.assertIn("You were already connected", new_transport.lines())
        self.assertEqual(new.room, "yard")
        self.assertIs(self.core.world.find_online("Alice"), new)
        # The old connection's end does not take the new one out.
        old_transport.disconnect()
        self.assertIs(self.core.world.find_online("Alice"), new)
        self.assertEqual(self.core.world.occupants("yard"), [new])
