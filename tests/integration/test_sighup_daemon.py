"""
SIGHUP to a running daemon: the configuration file is read again, changes
that need a restart are reported, and a broken file changes nothing.
"""

import signal
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.daemon import Daemon, LineClient
from tests.integration.test_tls_integration import wait_for


class DaemonSIGHUPTests(TestCase):
    def test_sighup_rereads_the_configuration(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        listener = '[listeners.telnet]\nfrontend = "telnet"\nendpoint = "tcp:0:interface=127.0.0.1"\n'
        config.write_text(listener)
        daemon = Daemon(directory / "data", config=config)
        self.addCleanup(daemon.stop)
        daemon.start()
        port = daemon.ports["telnet"]
        before = LineClient(port)
        self.addCleanup(before.close)
        before.expect("Name: ")
        config.write_text(
            listener.replace("tcp:0:", "tcp:1:") + '[server]\nbanner = "Reloaded banner."\n[login]\ntimeout = 2\n'
        )
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(daemon, "login.timeout 60.0 -> 2.0")
        self.assertIn("not applied, they need a restart: listeners.telnet (changed)", daemon.output())
        after = LineClient(port)
        self.addCleanup(after.close)
        after.expect("Reloaded banner.")
        self.assertIn("Login timed out after 2 seconds.", after.read_until_closed(timeout=15))
        # A broken file changes nothing; the daemon carries on.
        config.write_text(listener + "[limits]\nmax_connections = -1\n")
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(daemon, "Configuration reload failed, nothing changed")
        third = LineClient(port)
        self.addCleanup(third.close)
        third.expect("Reloaded banner.")
        self.assertNotIn("Traceback", daemon.output())
