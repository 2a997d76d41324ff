"""
The session's input queue and the dispatcher: one command at a time in
arrival order, failures reported as one line, bounded pending input.
"""

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from gateway.core.commands import Command, default_commands
from gateway.errors import CommandError
from tests.helpers import log_in, make_core, sign_up


class QueueTests(SynchronousTestCase):
    def setUp(self):
        self.pending = []
        self.ran = []

        def slow(session, args):
            self.ran.append(("slow", args))
            d = Deferred()
            self.pending.append(d)
            return d

        def fast(session, args):
            self.ran.append(("fast", args))
            session.send(f"fast {args}")

        async def coro(session, args):
            self.ran.append(("coro", args))
            answer = await session.ask("Sure? ")
            session.send(f"answered {answer}")

        def broken(session, args):
            raise ZeroDivisionError("boom")

        def refused(session, args):
            raise CommandError("Not like that.")

        extra = (
            Command("slow", slow, "slow", "waits"),
            Command("fast", fast, "fast", "at once"),
            Command("coro", coro, "coro", "asks"),
            Command("broken", broken, "broken", "raises"),
            Command("refused", refused, "refused", "refuses"),
        )
        self.clock = Clock()
        self.core = make_core(self.clock, commands=default_commands() + extra)
        self.transport, self.session = sign_up(self.core, "Alice")

    def test_commands_run_one_at_a_time_in_order(self):
        self.session.line_received("slow 1")
        self.session.line_received("fast 2")
        self.session.line_received("slow 3")
        self.assertEqual(self.ran, [("slow", "1")])
        self.pending.pop(0).callback(None)
        self.assertEqual(self.ran, [("slow", "1"), ("fast", "2"), ("slow", "3")])
        self.assertIn("fast 2", self.transport.lines())

    def test_ask_takes_the_next_line_not_a_command(self):
        self.session.line_received("coro")
        self.session.line_received("fast x")
        self.assertIn("answered fast x", self.transport.lines())
        self.assertEqual(self.ran, [("coro", "")])

    def test_typed_ahead_line_answers_ask(self):
        self.session.line_received("slow 1")
        self.session.line_received("coro")
        self.session.line_received("yes")
        self.pending.pop(0).callback(None)
        self.assertIn("answered yes", self.transport.lines())

    def test_failure_is_one_line_with_reference_and_logged(self):
        self.session.line_received("broken")
        (line,) = [value for kind, value in self.transport.events if kind == "line"]
        self.assertTrue(line.startswith("Sorry, that went wrong on our side (reference "))
        reference = line.split("reference ")[1][:8]
        errors = self.flushLoggedErrors(ZeroDivisionError)
        self.assertEqual(len(errors), 1)
        # The session carries on.
        self.session.line_received("fast after")
        self.assertIn("fast after", self.transport.lines())
        self.assertEqual(len(reference), 8)

    def test_deferred_failure_reported(self):
        self.session.line_received("slow 1")
        self.pending.pop(0).errback(RuntimeError("late"))
        self.assertIn("went wrong on our side", self.transport.lines())
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_command_error_is_shown_without_traceback(self):
        self.session.line_received("refused")
        self.assertEqual(self.transport.lines(), "Not like that.")
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_pending_lines_bounded(self):
        limit = self.core.settings.limits.max_pending_lines
        self.session.line_received("slow 0")
        for i in range(limit + 5):
            self.session.line_received(f"fast {i}")
        refusals = [v for k, v in self.transport.events if k == "line" and v.startswith("Too many commands are waiting")]
        # One message for the episode, then a count once the queue drains.
        self.assertEqual(refusals, [f"Too many commands are waiting; input is ignored until they have run (ignored: fast {limit})"])
        self.pending.pop(0).callback(None)
        # The queued commands run at the command rate, all of them in the end.
        self.clock.pump([1] * 10)
        self.assertEqual(len(self.ran), 1 + limit)
        self.assertIn("5 lines in all were ignored while commands were waiting.", self.transport.lines())

    def test_closed_session_ignores_input_and_cancels_ask(self):
        self.session.line_received("coro")
        self.transport.disconnect()
        self.session.line_received("fast late")
        self.assertEqual(self.ran, [("coro", "")])
        self.assertNotIn("answered", self.transport.lines())

    def test_no_input_dispatched_once_closing(self):
        """
        Between L{Session.close} and the connection's end (a TLS close
        takes a while), queued and new lines are dropped silently.
        """
        self.session.line_received("slow 1")
        self.session.line_received("fast 2")
        self.session.line_received("quit")
        self.session.close("Goodbye.")
        self.pending.pop(0).callback(None)
        self.session.line_received("fast 3")
        self.clock.advance(10)
        self.assertEqual(self.ran, [("slow", "1")])
        self.assertNotIn("fast", self.transport.lines())

    def test_quit_stops_input(self):
        other, _ = sign_up(self.core, "Bob")
        self.session.line_received("quit")
        self.session.line_received("say still here")
        self.clock.advance(10)
        self.assertNotIn("still here", other.lines())

    def test_taken_over_session_runs_nothing(self):
        other, _ = sign_up(self.core, "Bob")
        log_in(self.core, "Alice")
        other.clear()
        for _ in range(20):
            self.session.line_received("say from the old connection")
        self.clock.advance(10)
        self.assertNotIn("old connection", other.lines())
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_shutdown_stops_input(self):
        other, _ = sign_up(self.core, "Bob")
        self.core.shutdown("The server is stopping.")
        self.session.line_received("say after the message")
        self.clock.advance(10)
        self.assertNotIn("after the message", other.lines())


class DispatcherTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core()
        self.transport, self.session = sign_up(self.core, "Alice")

    def test_unknown_command(self):
        self.session.line_received("dance")
        self.assertEqual(self.transport.lines(), "Unknown command 'dance'. Type 'help' for the list of commands.")

    def test_commands_are_case_insensitive(self):
        self.session.line_received("LOOK")
        self.assertIn("The Hall", self.transport.lines())

    def test_blank_line_does_nothing(self):
        self.session.line_received("   ")
        self.assertEqual(self.transport.events, [])

    def test_duplicate_command_names_refused(self):
        from gateway.core.dispatcher import Dispatcher

        look = Command("look", lambda s, a: None, "look", "x")
        self.assertRaises(ValueError, Dispatcher, (look, Command("see", look.handler, "see", "x", ("look",))))
