"""
The built-in world as an L{IGatewayCore}: what every frontend and plugin is
given.
"""

import dataclasses
from pathlib import Path

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from gateway.config import load_config
from gateway.interfaces import IGatewayCore
from tests.helpers import RecordingTransport, make_core, sign_up
from tests.test_throttle import config_with


class GameCoreContractTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1000)
        self.core = make_core(self.clock)

    def test_provides_the_interface(self):
        self.assertTrue(verifyObject(IGatewayCore, self.core))

    def test_limits_follow_a_reload(self):
        self.assertEqual(self.core.limits.max_line_bytes, load_config().limits.max_line_bytes)
        self.core.reconfigure(config_with(max_line_bytes=77))
        self.assertEqual(self.core.limits.max_line_bytes, 77)

    def test_status_counts_players_by_protocol(self):
        sign_up(self.core, "Alice", protocol="telnet")
        sign_up(self.core, "Bob", protocol="telnet")
        sign_up(self.core, "Carol", protocol="ssh")
        self.clock.advance(42)
        status = self.core.status()
        self.assertEqual(status.players, {"telnet": 2, "ssh": 1})
        self.assertEqual(status.online, 3)
        self.assertEqual((status.started_at, status.uptime), (1000, 42))
        config = load_config()
        self.assertEqual((status.name, status.host_name), (config.server.name, config.server.host_name))

    def test_status_leaves_out_who_is_logging_in(self):
        self.core.connect(RecordingTransport("telnet"))
        self.assertEqual(self.core.status().players, {})

    def test_status_carries_the_operator_listing(self):
        config = load_config()
        config = dataclasses.replace(config, mssp=dataclasses.replace(config.mssp, fields={"GENRE": "Fantasy"}))
        self.assertEqual(make_core(self.clock, config).status().listing, {"GENRE": "Fantasy"})

    def test_file_path(self):
        config = load_config()
        self.assertEqual(self.core.file_path("", "key"), config.data_dir / "key")
        self.assertEqual(self.core.file_path("/etc/key", "key"), Path("/etc/key"))

    def test_connect_with_an_account_enters_the_world(self):
        owner, session = sign_up(self.core, "Alice")
        owner.disconnect()
        transport = RecordingTransport("ssh")
        transport.session = self.core.connect(transport, session.account)
        self.assertIn("Exits:", transport.lines())
        self.assertEqual(self.core.status().players, {"ssh": 1})
        self.assertEqual(self.clock.getDelayedCalls(), [])  # no login timer

    def test_connect_with_a_bound_certificate_logs_in(self):
        owner, session = sign_up(self.core, "Alice")
        self.successResultOf(self.core.store.bind_certificate(session.account.id, "AB:CD"))
        owner.disconnect()
        transport = RecordingTransport("telnet")
        transport.capabilities.certificate = "AB:CD"
        transport.session = self.core.connect(transport)
        self.assertTrue(transport.lines().startswith("Logged in as Alice by your client certificate."))
        self.assertEqual(self.core.status().players, {"telnet": 1})

    def test_connect_with_an_unbound_certificate_asks_for_a_name(self):
        transport = RecordingTransport("telnet")
        transport.capabilities.certificate = "AB:CD"
        transport.session = self.core.connect(transport)
        self.assertEqual(transport.events[-1], ("prompt", "Name: "))


class CertificateLoginTests(SynchronousTestCase):
    """
    How L{IGatewayCore.connect} logs in by a client certificate when the
    lookup fails or takes a while.
    """

    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        owner, session = sign_up(self.core, "Alice")
        self.successResultOf(self.core.store.bind_certificate(session.account.id, "AB:CD"))
        session.line_received("quit")
        owner.disconnect()

    def connect(self):
        transport = RecordingTransport("lines")
        transport.capabilities.certificate = "AB:CD"
        transport.session = self.core.connect(transport)
        return transport

    def test_failed_lookup_closes_with_an_apology(self):
        self.patch(self.core.portal, "login", lambda *args: fail(RuntimeError("disk on fire")))
        transport = self.connect()
        self.assertEqual(
            transport.events[-1],
            ("close", "Sorry, logging in with your certificate went wrong on our side; it has been logged."),
        )
        self.assertIsNone(transport.session.account)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_lines_wait_for_the_lookup(self):
        portal = self.core.portal
        pending = []

        def login(*args):
            pending.append((Deferred(), args))
            return pending[-1][0]

        self.patch(portal, "login", login)
        transport = self.connect()
        transport.session.line_received("who")
        self.assertIsNone(transport.session.account)
        self.assertNotIn("online", transport.lines())
        [(waiting, args)] = pending
        waiting.callback(self.successResultOf(type(portal).login(portal, *args)))
        self.assertIn("1 player online:", transport.lines())

    def test_connection_lost_during_the_lookup(self):
        pending = Deferred()
        self.patch(self.core.portal, "login", lambda *args: pending)
        transport = self.connect()
        transport.disconnect()
        pending.errback(UnauthorizedLogin())
        self.assertEqual(self.core.sessions, set())
        self.assertEqual(transport.events, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
