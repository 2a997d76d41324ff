"""
One log line per connection when it ends, within a budget for connections
that never logged in.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from gateway.core.closelog import SUMMARY_INTERVAL, CloseLog
from tests.test_tls_certificates import captured_log

DONE = Failure(ConnectionDone())


class FakeSession:
    def __init__(self, connected_at, account=None):
        self.connected_at = connected_at
        self.account = account

    def __repr__(self):
        return "<Session>"


class CloseLogTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.messages = captured_log(self)

    def close(self, log, count, account=None):
        for _ in range(count):
            log.closed(FakeSession(self.clock.seconds(), account), DONE)

    def test_line_says_who_how_long_and_why(self):
        log = CloseLog(self.clock, 10)
        session = FakeSession(0)
        self.clock.advance(3725)
        log.closed(session, DONE)
        self.assertEqual(self.messages, ["<Session> disconnected after 1h02m: Connection was closed cleanly."])

    def test_burst_then_rate_then_summary(self):
        """
        Five seconds' worth are logged at once, then the rest are counted
        and summed up once, C{SUMMARY_INTERVAL} seconds later.
        """
        log = CloseLog(self.clock, 2)
        self.close(log, 25)
        self.assertEqual(len(self.messages), 10)
        self.clock.advance(SUMMARY_INTERVAL - 0.5)
        self.assertEqual(len(self.messages), 10)
        self.clock.advance(0.5)
        self.assertEqual(
            self.messages[-1],
            "15 more connections closed before logging in; not logged one by one "
            "(over limits.prelogin_log_rate, 2 a second)",
        )
        # The budget refilled meanwhile: the next ones are logged again.
        self.close(log, 1)
        self.assertEqual(self.messages[-1], "<Session> disconnected after 0s: Connection was closed cleanly.")
        self.clock.advance(SUMMARY_INTERVAL)
        self.assertEqual(len(self.messages), 12)

    def test_logged_in_sessions_always_logged(self):
        log = CloseLog(self.clock, 1)
        self.close(log, 5)
        self.close(log, 20, account=object())
        self.assertEqual(len(self.messages), 25)

    def test_zero_logs_every_one(self):
        log = CloseLog(self.clock, 0)
        self.close(log, 1000)
        self.assertEqual(len(self.messages), 1000)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_flush_sums_up_at_once(self):
        log = CloseLog(self.clock, 1)
        self.close(log, 7)
        log.flush()
        self.assertIn("2 more connections closed before logging in", self.messages[-1])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        log.flush()
        self.assertEqual(len(self.messages), 6)

    def test_reconfigure(self):
        log = CloseLog(self.clock, 1)
        self.close(log, 5)
        log.reconfigure(0)
        self.close(log, 10)
        self.assertEqual(len(self.messages), 15)


class CoreTests(SynchronousTestCase):
    def test_core_reconfigures_its_close_log(self):
        from tests.helpers import make_core
        from tests.test_throttle import config_with

        core = make_core(Clock())
        self.assertEqual(core.close_log.rate, 10)
        core.reconfigure(config_with(prelogin_log_rate=3))
        self.assertEqual(core.close_log.rate, 3)
