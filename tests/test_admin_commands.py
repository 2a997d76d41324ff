"""
The admin commands: C{wall}, C{kick}, C{shutdown} (its countdown on a
L{Clock}) and C{stats}; players neither see nor run them.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from gateway.core.durations import describe_left
from tests.helpers import log_in, make_core, sign_up
from tests.test_tls_certificates import captured_log


class StoppableClock(Clock):
    """
    A L{Clock} that records being stopped, as the reactor is.
    """

    stopped = 0

    def stop(self):
        self.stopped += 1


def admin_account(core, name):
    """
    Create C{name} with the admin role and log it in.
    """
    core.hasher.hash("secret1").addCallback(lambda hashed: core.store.create_account(name, hashed, "admin"))
    return log_in(core, name)


class AdminCommandTests(SynchronousTestCase):
    def setUp(self):
        self.clock = StoppableClock()
        self.core = make_core(self.clock)
        self.messages = captured_log(self)
        self.root_out, self.root = admin_account(self.core, "Root")
        self.alice_out, self.alice = sign_up(self.core, "Alice")
        self.bob_out, self.bob = sign_up(self.core, "Bob")
        for out in (self.root_out, self.alice_out, self.bob_out):
            out.clear()

    def test_players_do_not_see_or_run_them(self):
        for line in ("wall hi", "kick Bob", "shutdown", "stats"):
            self.alice.line_received(line)
            name = line.split()[0]
            self.assertIn(f"Unknown command '{name}'.", self.alice_out.lines())
            self.alice_out.clear()
        self.assertFalse(self.bob.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.alice.line_received("help")
        for name in ("wall", "kick", "shutdown", "stats"):
            self.assertNotIn(f"  {name} ", self.alice_out.lines())
        self.alice.line_received("help kick")
        self.assertIn("There is no command 'kick'.", self.alice_out.lines())
        self.root.line_received("help")
        for name in ("wall", "kick", "shutdown", "stats"):
            self.assertIn(f"  {name} ", self.root_out.lines())

    def test_wall(self):
        self.root.line_received("wall Back in |rfive|n")
        for out in (self.root_out, self.alice_out, self.bob_out):
            self.assertEqual(out.lines(), "|Y[Root to everyone]|n Back in ||rfive||n")
        self.assertIn("Admin Root sent to 3 players: Back in |rfive|n", self.messages)
        self.root.line_received("wall")
        self.assertIn("Usage: wall <text>", self.root_out.lines())

    def test_kick_closes_the_target_with_the_reason(self):
        self.root.line_received("kick bob spamming the hall")
        self.assertEqual(self.bob_out.events[-1], ("close", "You have been disconnected by Root: spamming the hall"))
        self.assertIn("Bob has been disconnected.", self.root_out.lines())
        self.assertIn("Admin Root kicked Bob (spamming the hall)", self.messages)
        self.root.line_received("kick Alice")
        self.assertEqual(self.alice_out.events[-1], ("close", "You have been disconnected by Root."))
        self.root.line_received("kick Nobody")
        self.assertIn("Nobody called Nobody is online.", self.root_out.lines())
        self.root.line_received("kick root")
        self.assertIn("You cannot kick yourself", self.root_out.lines())

    def test_shutdown_countdown(self):
        self.root.line_received("shutdown 300 new world file")
        self.assertIn("The server will shut down in 5 minutes", self.root_out.lines())
        self.assertIn("Admin Root asked for a shutdown in 300 seconds (new world file)", self.messages)
        self.assertIn("|RThe server shuts down in 5 minutes (new world file).|n", self.alice_out.lines())
        self.alice_out.clear()
        warned = []
        for _ in range(300):
            self.clock.advance(1)
            if self.alice_out.lines():
                warned.append((int(self.clock.seconds()), self.alice_out.lines()))
                self.alice_out.clear()
        self.assertEqual(self.clock.stopped, 1)
        self.assertEqual([t for t, _ in warned], [180, 240, 270, 290, 295])
        self.assertEqual(warned[0][1], "|RThe server shuts down in 2 minutes (new world file).|n")
        self.assertEqual(warned[-1][1], "|RThe server shuts down in 5 seconds (new world file).|n")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_shutdown_warns_at_once(self):
        self.root.line_received("shutdown 90")
        self.assertIn("|RThe server shuts down in 1 minute 30 seconds.|n", self.bob_out.lines())
        self.root.line_received("shutdown 0")
        self.assertEqual(self.clock.stopped, 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_shutdown_default_and_message(self):
        self.root.line_received("shutdown restarting for an upgrade")
        self.assertIn("|RThe server shuts down in 1 minute (restarting for an upgrade).|n", self.bob_out.lines())
        self.root.line_received("shutdown 100000")
        self.assertIn("At most 86400 seconds.", self.root_out.lines())

    def test_shutdown_cancel(self):
        self.root.line_received("shutdown 60")
        self.clock.advance(40)
        self.alice_out.clear()
        self.root.line_received("shutdown cancel")
        self.assertEqual(self.alice_out.lines(), "The shutdown has been cancelled.")
        self.assertIn("Admin Root cancelled the shutdown", self.messages)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(3600)
        self.assertEqual(self.clock.stopped, 0)
        self.root.line_received("shutdown cancel")
        self.assertIn("No shutdown is counting down.", self.root_out.lines())

    def test_stats(self):
        self.root.line_received("stats")
        lines = self.root_out.lines().splitlines()
        self.assertEqual(lines[0], "Up for 0 seconds.")
        self.assertEqual(lines[1], "Players online: 3 (3 test); lingering: 0; logging in: 0.")
        self.assertIn("Logins: 1 ok; SSH: none; sign-ups: 2 ok.", lines)


class DescribeLeftTests(SynchronousTestCase):
    def test_units(self):
        self.assertEqual(describe_left(0), "0 seconds")
        self.assertEqual(describe_left(1), "1 second")
        self.assertEqual(describe_left(3725), "1 hour 2 minutes 5 seconds")
