"""
The real daemon as an operator watches it: started with a systemd-style
C{NOTIFY_SOCKET} (READY=1, WATCHDOG=1, STOPPING=1), players logged in over
telnet and SSH, C{/metrics} scraped with an HTTP client, and
C{gateway-admin status} reading the same listener.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import ProxyHandler, build_opener

from twisted.trial.unittest import TestCase

from tests.daemon import ROOT, Daemon, LineClient, log_in, sign_up
from tests.integration.test_ssh_integration import SSH_OPTIONS, prepared_host_keys

EPHEMERAL = "tcp:0:interface=127.0.0.1"


class OperationsTests(TestCase):
    def setUp(self):
        directory = tempfile.mkdtemp(prefix="gateway-ops-")
        self.addCleanup(shutil.rmtree, directory)
        self.notify_path = os.path.join(directory, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.addCleanup(self.notify.close)
        data = Path(self.mktemp()).resolve()
        prepared_host_keys(data)
        self.daemon = Daemon(
            data, config=ROOT / "etc" / "gateway.toml",
            listen=[f"telnet={EPHEMERAL}", f"ssh={EPHEMERAL}", f"metrics={EPHEMERAL}"],
            env={"NOTIFY_SOCKET": self.notify_path, "WATCHDOG_USEC": "2000000"},
        )
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=3)

    def notification(self, wanted, timeout=15):
        """
        Wait for a datagram holding C{wanted}; return every one received.
        """
        received = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.notify.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                received.append(self.notify.recv(4096).decode())
            except socket.timeout:
                break
            if wanted in received[-1]:
                return received
        self.fail(f"no {wanted!r} from the daemon; received {received}")

    def scrape(self):
        url = f"http://127.0.0.1:{self.daemon.ports['metrics']}/metrics"
        # No proxy: Debian's package build points http_proxy at a closed port.
        with build_opener(ProxyHandler({})).open(url, timeout=10) as response:
            self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            return response.read().decode()

    def test_notify_metrics_and_status(self):
        self.assertEqual(self.notification("READY=1"), ["READY=1\nSTATUS=0 players online\n"])
        self.notification("WATCHDOG=1")

        alice = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(alice.close)
        sign_up(alice, "Alice")
        bob = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(bob.close)
        sign_up(bob, "Bob")
        ssh = None
        if shutil.which("sshpass") and shutil.which("ssh"):
            ssh = subprocess.run(
                ["sshpass", "-p", "secret1", "ssh"] + SSH_OPTIONS + ["-o", "PubkeyAuthentication=no"]
                + ["-p", str(self.daemon.ports["ssh"]), "alice@127.0.0.1", "who"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
            )
            self.assertEqual(ssh.returncode, 0, ssh.stderr)
            self.assertIn("2 players online:", ssh.stdout)

        text = self.scrape()
        self.assertIn('gateway_sessions{frontend="telnet",state="playing"} 2.0', text)
        self.assertIn('gateway_signups_total{result="ok"} 2.0', text)
        self.assertIn('gateway_connections_accepted_total{listener="telnet"} 2.0', text)
        self.assertIn("process_resident_memory_bytes", text)
        self.assertIn("python_twisted_reactor_tick_time_bucket", text)
        if ssh is not None:
            self.assertIn('gateway_ssh_auth_attempts_total{method="password",result="ok"} 1.0', text)
        self.assertIn("STATUS=2 players online\n", "".join(self.notification("STATUS=2 players online")))

        config = Path(self.mktemp())
        config.write_text(
            f'[listeners.metrics]\nfrontend = "metrics"\n'
            f'endpoint = "tcp:{self.daemon.ports["metrics"]}:interface=127.0.0.1"\n'
        )
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        status = subprocess.run(
            [sys.executable, "-m", "gateway.admin", "--config", str(config), "--data-dir", self.mktemp(), "status"],
            capture_output=True, text=True, timeout=30, env=env,
        )
        self.assertEqual(status.returncode, 0, status.stderr)
        lines = status.stdout.splitlines()
        self.assertTrue(lines[0].startswith("Up for "), lines)
        self.assertEqual(lines[1], "Players online: 2 (2 telnet); lingering: 0; logging in: 0.")
        self.assertIn("sign-ups: 2 ok.", lines[3])

        self.daemon.stop()
        self.notification("STOPPING=1")

    def test_admin_shutdown_stops_the_daemon(self):
        """
        An admin's C{shutdown} counts down, warns the players and stops the
        daemon the way SIGTERM does: everyone gets C{shutdown.message}, the
        daemon says STOPPING=1 and exits with status 0.
        """
        self.notification("READY=1")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        created = subprocess.run(
            [sys.executable, "-m", "gateway.admin", "--data-dir", str(self.daemon.data_dir),
             "create-account", "Root", "--admin", "--password-stdin"],
            input="secret1\n", capture_output=True, text=True, timeout=60, env=env,
        )
        self.assertEqual(created.returncode, 0, created.stderr)
        player = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(player.close)
        sign_up(player, "Alice")
        root = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(root.close)
        log_in(root, "Root")
        root.send_line("shutdown 6 back soon")
        player.expect("The server shuts down in 6 seconds (back soon).")
        player.expect("The server shuts down in 5 seconds (back soon).")
        self.assertIn("The server is shutting down. Goodbye.", player.read_until_closed(timeout=30))
        self.assertEqual(self.daemon.process.wait(30), 0)
        self.notification("STOPPING=1")
        self.assertIn("Admin Root asked for a shutdown in 6 seconds (back soon)", self.daemon.output())
