"""
The throttles on the injected clock, alone and as the core applies them to
logins and account creations.
"""

import dataclasses

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from gateway.config import load_config
from gateway.core.capabilities import Capabilities, host_from_peer
from gateway.core.throttle import FailureDelay, TokenBucket, Trusted, WindowCounter, describe_wait
from gateway.errors import ConfigError
from tests.helpers import RecordingTransport, make_core, sign_up


def config_with(**limits):
    config = load_config()
    return dataclasses.replace(config, limits=dataclasses.replace(config.limits, **limits))


class TokenBucketTests(SynchronousTestCase):
    def test_token_short_by_rounding_is_taken(self):
        """
        A token a rounding error short is given, not a wait too small for
        the clock to move on (a command queue would spin on it).
        """
        clock = Clock()
        clock.advance(12.35)
        bucket = TokenBucket(clock, rate=200, burst=1)
        bucket.take()
        clock.advance(0.005 - 1e-15)
        self.assertEqual(bucket.take(), 0)

    def test_burst_then_rate(self):
        clock = Clock()
        bucket = TokenBucket(clock, rate=2, burst=3)
        self.assertEqual([bucket.take() for _ in range(3)], [0, 0, 0])
        self.assertEqual(bucket.take(), 0.5)
        clock.advance(0.5)
        self.assertEqual(bucket.take(), 0)
        clock.advance(100)
        self.assertEqual([bucket.take() for _ in range(4)], [0, 0, 0, 0.5])


class WindowCounterTests(SynchronousTestCase):
    def test_limit_per_interval(self):
        clock = Clock()
        counter = WindowCounter(clock, limit=2, interval=10)
        counter.record("a")
        clock.advance(4)
        counter.record("a")
        self.assertEqual(counter.wait("a"), 6)
        self.assertEqual(counter.wait("b"), 0)
        clock.advance(6)
        self.assertEqual(counter.wait("a"), 0)

    def test_idle_keys_are_forgotten(self):
        clock = Clock()
        counter = WindowCounter(clock, limit=2, interval=10)
        for n in range(1000):
            counter.record(f"198.51.100.{n}")
        self.assertEqual(len(counter), 1000)
        clock.advance(11)
        self.assertEqual(len(counter), 0)


class FailureDelayTests(SynchronousTestCase):
    def test_delay_doubles_up_to_maximum_and_is_forgotten(self):
        clock = Clock()
        delay = FailureDelay(clock, base=1, maximum=10, window=100)
        self.assertEqual(delay.wait("k"), 0)
        waits = []
        for _ in range(6):
            delay.failed("k")
            waits.append(delay.wait("k"))
        self.assertEqual(waits, [1, 2, 4, 8, 10, 10])
        clock.advance(3)
        self.assertEqual(delay.wait("k"), 7)
        clock.advance(100)
        self.assertEqual(delay.wait("k"), 0)
        delay.failed("k")
        self.assertEqual(delay.wait("k"), 1)
        delay.failed("k")
        delay.undo("k")
        self.assertEqual(delay.wait("k"), 1)
        delay.forget("k")
        self.assertEqual(delay.wait("k"), 0)
        delay.failed("k")
        delay.undo("k")
        self.assertEqual(delay.wait("k"), 0)


class AddressTests(SynchronousTestCase):
    def test_trusted_networks(self):
        trusted = Trusted(["192.0.2.0/24", "2001:db8::/32", "127.0.0.1"])
        self.assertIn("192.0.2.77", trusted)
        self.assertIn("::ffff:192.0.2.1", trusted)
        self.assertIn("2001:db8::5", trusted)
        self.assertIn("127.0.0.1", trusted)
        self.assertNotIn("198.51.100.1", trusted)
        self.assertNotIn("unix", trusted)
        self.assertNotIn("192.0.2.1", Trusted([]))

    def test_host_from_peer(self):
        self.assertEqual(host_from_peer("192.0.2.5:4242"), "192.0.2.5")
        self.assertEqual(host_from_peer("[2001:db8::1]:22"), "2001:db8::1")
        self.assertEqual(host_from_peer("unix"), "unix")
        self.assertEqual(host_from_peer(""), "")
        self.assertEqual(host_from_peer("[2001:db8::1]"), "2001:db8::1")
        self.assertEqual(host_from_peer("192.0.2.5"), "192.0.2.5")
        capabilities = Capabilities("x", peer="192.0.2.5:1")
        self.assertEqual(capabilities.host, "192.0.2.5")
        # A proxied player's address replaces the peer; the host follows.
        capabilities.peer = "203.0.113.9"
        self.assertEqual(capabilities.host, "203.0.113.9")

    def test_describe_wait(self):
        self.assertEqual(describe_wait(0.2), "1 second")
        self.assertEqual(describe_wait(40), "40 seconds")
        self.assertEqual(describe_wait(600), "10 minutes")

    def test_bad_trusted_address_refused(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('[limits]\ntrusted_addresses = ["192.0.2.0/24", "nowhere"]\n')
        e = self.assertRaises(ConfigError, load_config, path)
        self.assertIn("limits.trusted_addresses must be a list of IP addresses or networks", str(e))
        with open(path, "w") as f:
            f.write('[limits]\ntrusted_addresses = ["192.0.2.1/24"]\n')
        self.assertRaises(ConfigError, load_config, path)


class LoginThrottleTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock, config_with(trusted_addresses=["10.0.0.0/8"]))
        transport, session = sign_up(self.core, "Alice")
        session.line_received("quit")
        transport.disconnect()

    def attempt(self, peer, password):
        transport = RecordingTransport(peer=peer)
        transport.session = session = self.core.connect(transport)
        session.line_received("alice")
        session.line_received(password)
        return transport, session

    def test_failures_delay_the_next_attempt_on_any_connection(self):
        transport, session = self.attempt("198.51.100.7:1", "wrong")
        self.assertIn("please wait 1 second.", transport.lines())
        transport.disconnect()
        self.core.guard.login_attempted("198.51.100.7", "alice")
        # A new connection from the same address waits before it is asked.
        again, session = self.attempt("198.51.100.7:2", "secret1")
        self.assertIn("Too many failed logins; please wait 2 seconds.", again.lines())
        self.assertIsNone(session.account)
        self.clock.advance(2)
        self.assertEqual(session.account.name, "Alice")
        # The success took back its own attempt, not the earlier failures.
        self.assertEqual(self.core.guard.login_wait("198.51.100.7", "bob"), 2)

    def test_waiting_ends_with_the_connection(self):
        transport, _ = self.attempt("198.51.100.7:1", "wrong")
        self.assertIn("please wait 1 second.", transport.lines())
        transport.disconnect()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_attempts_count_before_the_check_finishes(self):
        guard = self.core.guard
        guard.login_attempted("198.51.100.7", "alice")
        self.assertEqual(guard.login_wait("198.51.100.7", "carol"), 1)
        guard.login_succeeded("198.51.100.7", "alice")
        self.assertEqual(guard.login_wait("198.51.100.7", "alice"), 0)

    def fail_from_many_addresses(self, count):
        for n in range(count):
            wait = self.core.guard.login_wait(f"198.51.100.{n}", "alice")
            transport, _ = self.attempt(f"198.51.100.{n}:1", "wrong")
            self.clock.advance(wait)
            transport.disconnect()

    def test_account_is_throttled_from_other_addresses(self):
        self.fail_from_many_addresses(3)
        transport, session = self.attempt("203.0.113.9:1", "secret1")
        self.assertIn("Too many failed logins; please wait 4 seconds.", transport.lines())
        self.clock.advance(4)
        self.assertEqual(session.account.name, "Alice")

    def test_trusted_address_is_not_delayed(self):
        self.fail_from_many_addresses(5)
        self.assertTrue(self.core.guard.login_wait("198.51.100.9", "alice"))
        transport, session = self.attempt("10.1.2.3:1", "secret1")
        self.assertNotIn("Too many failed logins", transport.lines())
        self.assertEqual(session.account.name, "Alice")

    def test_account_creations_per_address(self):
        core = make_core(self.clock, config_with(max_accounts_per_address=2, account_creation_interval=3600))
        for name in ("Bob", "Carol"):
            transport = RecordingTransport(peer="198.51.100.1:1")
            transport.session = core.connect(transport)
            for line in (name, "yes", "secret1", "secret1"):
                transport.session.line_received(line)
            self.assertEqual(transport.session.account.name, name)
        transport = RecordingTransport(peer="198.51.100.1:2")
        session = core.connect(transport)
        session.line_received("Dave")
        self.assertIn("Too many accounts have been created from your address; try again in 60 minutes.", transport.lines())
        self.assertEqual(transport.events[-1], ("prompt", "Name: "))
        self.assertIsNone(self.successResultOf(core.store.account_by_name("Dave")))
        self.clock.advance(3600)
        # That connection timed out at the login prompt meanwhile.
        transport = RecordingTransport(peer="198.51.100.1:3")
        core.connect(transport).line_received("Dave")
        self.assertIn("Create it?", transport.output())
