"""
The core's own bounds: command rate, the pending queue with input flow
control, crash isolation between sessions, the idle timeout and the
graceful shutdown.
"""

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from gateway.core.commands import Command, default_commands
from gateway.interfaces import IInputFlow
from gateway.service import GatewayService
from gateway.shutdown import ShutdownService
from tests.helpers import RecordingTransport, make_core, sign_up, with_settings
from tests.test_throttle import config_with


@implementer(IInputFlow)
class FlowTransport(RecordingTransport):
    def pause_input(self):
        self.events.append(("flow", "pause"))

    def resume_input(self):
        self.events.append(("flow", "resume"))


def logged_in(core, name, transport):
    transport.session = session = core.connect(transport)
    for line in (name, "yes", "secret1", "secret1"):
        session.line_received(line)
    transport.clear()
    return session


class CommandRateTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()

    def test_commands_beyond_the_burst_wait_for_the_rate(self):
        core = make_core(self.clock, config_with(commands_per_second=2, command_burst=3))
        transport, session = sign_up(core, "Alice")
        for _ in range(5):
            session.line_received("look")
        self.assertEqual(transport.lines().count("Exits:"), 3)
        self.clock.advance(0.5)
        self.assertEqual(transport.lines().count("Exits:"), 4)
        self.clock.advance(0.5)
        self.assertEqual(transport.lines().count("Exits:"), 5)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_full_queue_pauses_input_and_loses_nothing(self):
        """
        A full queue pauses input; lines the frontend had read already still
        join the queue, and every line runs in order, none refused.
        """
        core = make_core(self.clock, config_with(commands_per_second=1, command_burst=1, max_pending_lines=4))
        transport = FlowTransport()
        session = logged_in(core, "Alice", transport)
        for n in range(10):
            session.line_received(f"say {n}")
        self.assertEqual(transport.events.count(("flow", "pause")), 1)
        self.assertNotIn("Too many commands", transport.lines())
        self.clock.advance(1)
        self.assertNotIn(("flow", "resume"), transport.events)
        self.clock.pump([1] * 8)
        self.assertIn(("flow", "resume"), transport.events)
        said = [line for line in transport.lines().splitlines() if line.startswith("You say")]
        self.assertEqual(said, [f'You say, "{n}"' for n in range(10)])

    def test_full_queue_refuses_when_input_cannot_pause(self):
        """
        A transport without L{IInputFlow} has the lines beyond a full queue
        refused, with one message and a count once the queue has drained.
        """
        core = make_core(self.clock, config_with(commands_per_second=1, command_burst=1, max_pending_lines=4))
        transport = RecordingTransport()
        session = logged_in(core, "Alice", transport)
        for n in range(10):
            session.line_received(f"say {n}")
        self.assertEqual(transport.lines().count("Too many commands are waiting"), 1)
        self.assertIn("(ignored: say 5)", transport.lines())
        self.clock.pump([1] * 2)
        self.assertIn("5 lines in all were ignored while commands were waiting.", transport.lines())
        self.clock.pump([1] * 10)
        said = [line for line in transport.lines().splitlines() if line.startswith("You say")]
        self.assertEqual(said, [f'You say, "{n}"' for n in range(5)])

    def test_rate_timer_cancelled_on_disconnect(self):
        config = with_settings(config_with(commands_per_second=1, command_burst=1), sessions={"linger": 0})
        core = make_core(self.clock, config)
        transport, session = sign_up(core, "Alice")
        session.line_received("look")
        session.line_received("look")
        transport.disconnect()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class BrokenTransport(RecordingTransport):
    def send(self, text):
        raise OSError("frontend bug")


class IsolationTests(SynchronousTestCase):
    def test_failing_transport_ends_only_its_session(self):
        core = make_core()
        alice, _ = sign_up(core, "Alice")
        broken = BrokenTransport(peer="192.0.2.1:1")
        broken.session = core.connect(broken)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertTrue(broken.closed)
        self.assertNotIn(broken.session, core.sessions)
        bob_transport, bob = sign_up(core, "Bob")
        bob.line_received("say hi")
        self.assertIn('Bob says, "hi"', alice.lines())

    def test_failing_send_in_a_broadcast_spares_the_others(self):
        core = make_core()
        alice, _ = sign_up(core, "Alice")
        carol_transport, carol = sign_up(core, "Carol")
        bob_transport, bob = sign_up(core, "Bob")
        carol_transport.send = BrokenTransport.send.__get__(carol_transport)
        bob.line_received("say hi")
        self.assertIn('Bob says, "hi"', alice.lines())
        self.assertIn('You say, "hi"', bob_transport.lines())
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertTrue(carol.closed)
        self.assertIsNotNone(carol.lingering)

    def test_failing_handler_costs_one_line(self):
        def crash(session, args):
            raise ZeroDivisionError("bug")

        core = make_core(commands=default_commands() + (Command("crash", crash, "crash", "Fails."),))
        transport, session = sign_up(core, "Alice")
        session.line_received("crash")
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertIn("Sorry, that went wrong on our side (reference ", transport.lines())
        session.line_received("look")
        self.assertIn("Exits:", transport.lines())
        self.assertFalse(transport.closed)


class IdleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock, config_with(idle_timeout=300, idle_warning=60))
        self.transport, self.session = sign_up(self.core, "Alice")

    def test_warning_then_close(self):
        self.clock.advance(239)
        self.assertEqual(self.transport.lines(), "")
        self.clock.advance(1)
        self.assertIn("you will be disconnected in 60 seconds unless you type something", self.transport.lines())
        self.clock.advance(59)
        self.assertFalse(self.transport.closed)
        self.clock.advance(1)
        self.assertEqual(self.transport.events[-1], ("close", "You have been idle for 5 minutes; goodbye."))

    def test_input_restarts_the_count(self):
        self.clock.advance(230)
        self.session.line_received("look")
        self.clock.advance(200)
        self.assertFalse(self.transport.closed)
        self.assertNotIn("idle", self.transport.lines())
        self.clock.advance(40)
        self.assertIn("unless you type something", self.transport.lines())
        self.clock.advance(200)
        self.assertTrue(self.transport.closed)

    def test_timer_stops_with_the_session(self):
        self.session.line_received("quit")
        self.transport.disconnect()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_off_by_default(self):
        core = make_core(self.clock)
        transport, _ = sign_up(core, "Bob")
        self.clock.advance(86400 * 7)
        self.assertFalse(transport.closed)


class FakeLimiter:
    def __init__(self):
        self.aborted = 0
        self.closed = 0

    def close_all(self):
        self.closed += 1

    def abort_all(self):
        self.aborted += 1
        return 1


class ShutdownTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.transports = [sign_up(self.core, name)[0] for name in ("Alice", "Bob")]
        self.limiter = FakeLimiter()
        self.service = ShutdownService(self.core, self.limiter, self.core.settings.shutdown, self.clock)
        self.service.startService()

    def test_every_session_told_and_drained(self):
        stopped = self.service.stopService()
        for transport in self.transports:
            # Closed by the server with the message: clients that reconnect
            # by themselves after a dropped connection do not retry.
            self.assertEqual(transport.events[-1], ("close", "The server is shutting down. Goodbye."))
        self.assertEqual(self.limiter.closed, 1)
        self.assertNoResult(stopped)
        for transport in self.transports:
            transport.disconnect()
        self.successResultOf(stopped)
        self.assertEqual(self.limiter.aborted, 0)

    def test_connections_cut_after_grace(self):
        stopped = self.service.stopService()
        self.clock.advance(self.core.settings.shutdown.grace)
        self.successResultOf(stopped)
        self.assertEqual(self.limiter.aborted, 1)

    def test_no_sessions(self):
        for transport in self.transports:
            transport.disconnect()
        self.successResultOf(self.service.stopService())

    def test_children_stop_one_after_another(self):
        order = []

        class Step(Service):
            def __init__(self, name):
                self.name = name
                self.done = Deferred()

            def stopService(self):
                order.append(self.name)
                return self.done

        top = GatewayService()
        steps = [Step(name) for name in ("store", "sessions", "listener")]
        for step in steps:
            step.setServiceParent(top)
        top.startService()
        stopped = top.stopService()
        self.assertEqual(order, ["listener"])
        steps[2].done.callback(None)
        self.assertEqual(order, ["listener", "sessions"])
        steps[1].done.callback(None)
        steps[0].done.callback(None)
        self.assertEqual(order, ["listener", "sessions", "store"])
        self.successResultOf(stopped)
