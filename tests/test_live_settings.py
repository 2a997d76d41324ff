"""
Re-reading the configuration file on reload: live settings applied,
the others reported, an invalid file changes nothing.
"""

import functools
from pathlib import Path

from twisted.application.service import MultiService
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from gateway.config import load_config
from gateway.frontends.limits import ConnectionLimiter
from gateway.frontends.lines import build_factory as lines_factory
from gateway.frontends.telnet import build_factory as telnet_factory
from gateway.live_settings import LiveSettingsService
from gateway.shutdown import ShutdownService
from gateway.sighup import ReloadService
from tests.helpers import connect, make_core, sign_up
from tests.test_tls_certificates import captured_log

LISTENER = '[listeners.telnet]\nfrontend = "telnet"\nendpoint = "tcp:4000:interface=127.0.0.1"\n'


class ConfigReloadTests(TestCase):
    def setUp(self):
        directory = Path(self.mktemp())
        directory.mkdir()
        self.path = directory / "gateway.toml"
        self.write("[limits]\nmax_connections = 100\n")
        self.clock = Clock()
        config = load_config(self.path)
        self.core = make_core(self.clock, config)
        self.limiter = ConnectionLimiter(self.clock, config.limits)
        self.shutdown = ShutdownService(self.core, self.limiter, config.shutdown, self.clock)
        top = MultiService()
        for service in (LiveSettingsService(self.core), self.limiter, self.shutdown):
            service.setServiceParent(top)
        self.service = ReloadService(self.clock, functools.partial(load_config, self.path))
        self.service.setServiceParent(top)
        self.messages = captured_log(self)

    def write(self, text):
        self.path.write_text(LISTENER + text)

    def test_live_settings_are_applied(self):
        self.write(
            '[server]\nbanner = "Hello from {name}."\n'
            "[limits]\nmax_connections = 50\ntrusted_addresses = [\"10.0.0.0/8\"]\n"
            '[login]\ntimeout = 30\n[shutdown]\nmessage = "Back soon."\n'
        )
        self.assertTrue(self.service.reload())
        settings = self.core.settings
        self.assertEqual(settings.limits.max_connections, 50)
        self.assertEqual(settings.login.timeout, 30)
        self.assertEqual(self.limiter.limits, settings.limits)
        self.assertIn("10.1.2.3", self.limiter.trusted)
        self.assertIn("10.1.2.3", self.core.guard.trusted)
        self.assertEqual(self.shutdown.settings.message, "Back soon.")
        self.assertIn(
            "Configuration reloaded from {}, applied: server.banner {!r} -> 'Hello from {{name}}.'; "
            "login.timeout 60.0 -> 30.0; limits.max_connections 100 -> 50; "
            "limits.trusted_addresses [] -> ['10.0.0.0/8']; shutdown.message 'The server is shutting down. Goodbye.' -> 'Back soon.'".format(
                self.path, load_config().server.banner
            ),
            self.messages,
        )
        # A new connection gets the new banner and login timeout.
        transport, _ = connect(self.core)
        self.assertIn("Hello from gateway.", transport.output())
        self.clock.advance(30)
        self.assertIn("Login timed out after 30 seconds. Goodbye.", transport.output())

    def test_restart_only_settings_are_reported_not_applied(self):
        before = self.core.settings
        self.path.write_text(
            '[server]\ndata_dir = "elsewhere"\n[limits]\nmax_connections = 100\n'
            '[listeners.telnet]\nfrontend = "telnet"\nendpoint = "tcp:4100:interface=127.0.0.1"\n'
            '[listeners.lines]\nfrontend = "lines"\nendpoint = "tcp:4101:interface=127.0.0.1"\n'
        )
        self.assertTrue(self.service.reload())
        self.assertIs(self.core.settings, before)
        self.assertIn(
            f"Configuration changes in {self.path} not applied, they need a restart: "
            "server.data_dir 'var' -> 'elsewhere'; listeners.lines (added); listeners.telnet (changed)",
            self.messages,
        )
        # Still not applied, so reported again on the next reload.
        self.messages.clear()
        self.service.reload()
        self.assertIn("listeners.telnet (changed)", self.messages[-1])

    def test_upstream_changes_wait_for_a_restart(self):
        self.write('[limits]\nmax_connections = 100\n[upstreams.mud]\nendpoint = "tcp:127.0.0.1:4000"\n')
        self.service.reload()
        self.assertIn(
            f"Configuration changes in {self.path} not applied, they need a restart: upstreams.mud (added)",
            self.messages,
        )

    def test_mixed_changes_apply_only_the_live_ones(self):
        self.write('[server]\nname = "other"\n[limits]\nmax_connections = 7\n')
        self.service.reload()
        self.assertEqual(self.core.settings.limits.max_connections, 7)
        self.assertEqual(self.core.settings.server.name, "gateway")
        self.assertIn("server.name 'gateway' -> 'other'", self.messages[-1])

    def test_invalid_file_changes_nothing(self):
        before = self.core.settings
        for text in ("[limits]\nmax_connections = 0\n", "[limits\n", "[nonsense]\n"):
            self.write(text)
            self.assertFalse(self.service.reload())
            self.assertIs(self.core.settings, before)
            self.assertIs(self.limiter.limits, before.limits)
            self.assertTrue(self.messages[-1].startswith(f"Configuration reload failed, nothing changed: {self.path}: "))
        self.path.unlink()
        self.assertFalse(self.service.reload())
        self.assertIn("cannot read configuration", self.messages[-1])

    def test_no_changes(self):
        before = self.core.settings
        self.assertTrue(self.service.reload())
        self.assertIs(self.core.settings, before)
        self.assertEqual(self.messages, [f"Configuration reloaded from {self.path}: no changes"])

    def test_idle_timeout_switched_on_and_off_for_open_sessions(self):
        transport, _ = sign_up(self.core, "Alice")
        self.write("[limits]\nmax_connections = 100\nidle_timeout = 120\nidle_warning = 60\n")
        self.service.reload()
        self.clock.advance(59)
        self.assertNotIn("You have been idle", transport.output())
        self.clock.advance(1)
        self.assertIn("you will be disconnected in 60 seconds", transport.output())
        # Switched off again before the cut: the session stays.
        self.write("[limits]\nmax_connections = 100\n")
        self.service.reload()
        self.clock.advance(3600)
        self.assertFalse(transport.closed)

    def test_command_rate_applies_to_open_sessions(self):
        transport, session = sign_up(self.core, "Alice")
        self.write("[limits]\nmax_connections = 100\ncommands_per_second = 1\ncommand_burst = 1\n")
        self.service.reload()
        for _ in range(3):
            session.line_received("look")
        self.assertEqual(transport.output().count("Exits:"), 1)
        self.clock.advance(1)
        self.assertEqual(transport.output().count("Exits:"), 2)

    def test_line_length_applies_to_open_connections(self):
        transports = []
        for build in (telnet_factory, lines_factory):
            protocol = build(self.core, self.core.portal, {}).buildProtocol(None)
            transport = StringTransport()
            protocol.makeConnection(transport)
            transports.append((protocol, transport))
        self.write("[limits]\nmax_connections = 100\nmax_line_bytes = 100\n")
        self.service.reload()
        for protocol, transport in transports:
            protocol.dataReceived(b"x" * 101 + b"\r\n")
            self.assertIn(b"That line was too long (over 100 bytes) and was ignored.", transport.value())

    def test_login_throttles_keep_their_counts_unless_their_settings_change(self):
        guard = self.core.guard
        guard.login_attempted("192.0.2.1", "alice")
        self.write("[limits]\nmax_connections = 99\n")
        self.service.reload()
        self.assertGreater(self.core.guard.login_wait("192.0.2.1", "bob"), 0)
        self.write("[limits]\nmax_connections = 99\nlogin_failure_delay = 2\n")
        self.service.reload()
        self.assertEqual(self.core.guard.login_wait("192.0.2.1", "bob"), 0)
        guard.login_attempted("192.0.2.1", "alice")
        self.assertEqual(self.core.guard.login_wait("192.0.2.1", "bob"), 2)

    def test_new_connection_rate_follows_the_reload(self):
        self.write("[limits]\nmax_connections = 100\nmax_new_connections_per_address = 1\n")
        self.service.reload()
        self.assertIsNone(self.limiter.admit("192.0.2.1"))
        self.assertIn("Too many new connections", self.limiter.admit("192.0.2.1"))
