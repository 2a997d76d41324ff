"""
C{gateway-admin status}: finding the metrics listener, its messages when
there is none or it does not answer, and the figures it prints.
"""

import io
import socket
import sys
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from gateway.admin import AdminError, _metrics_address, main
from gateway.config import ListenerSettings
from gateway.metrics import describe
from tests.helpers import connect, log_in, make_core, sign_up


class StatusTests(SynchronousTestCase):
    def run_admin(self, config_text):
        config = Path(self.mktemp())
        config.write_text(config_text)
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        status = main(["--config", str(config), "--data-dir", self.mktemp(), "status"])
        return status, out.getvalue(), err.getvalue()

    def test_no_metrics_listener(self):
        status, out, err = self.run_admin('[listeners.telnet]\nfrontend = "telnet"\nendpoint = "tcp:4000"\n')
        self.assertEqual((status, out), (1, ""))
        self.assertIn("no metrics listener is enabled; add [listeners.metrics]", err)

    def test_listener_does_not_answer(self):
        unused = socket.socket()
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        unused.close()
        status, out, err = self.run_admin(
            f'[listeners.metrics]\nfrontend = "metrics"\nendpoint = "tcp:{port}:interface=127.0.0.1"\n'
        )
        self.assertEqual(status, 1)
        self.assertIn(
            f"gateway-admin: the daemon's metrics listener listeners.metrics (tcp:{port}:interface=127.0.0.1) "
            "does not answer", err,
        )

    def test_endpoints(self):
        def address(endpoint):
            return _metrics_address(ListenerSettings(frontend="metrics", endpoint=endpoint, name="metrics"))

        self.assertEqual(address("tcp:9104:interface=127.0.0.1"), ("tcp", "127.0.0.1", 9104))
        self.assertEqual(address("tcp:port=9104"), ("tcp", "127.0.0.1", 9104))
        self.assertEqual(address("tcp6:9104:interface=\\:\\:"), ("tcp", "::1", 9104))
        self.assertEqual(address("tcp6:9104:interface=\\:\\:1"), ("tcp", "::1", 9104))
        self.assertEqual(address("unix:/run/gateway/metrics.sock"), ("unix", "/run/gateway/metrics.sock", None))
        error = self.assertRaises(AdminError, address, "systemd:domain=INET:index=0")
        self.assertIn("status reads tcp, tcp6 or unix endpoints", str(error))


class DescribeTests(SynchronousTestCase):
    def test_figures_from_the_text_format(self):
        clock = Clock()
        clock.advance(1000)
        core = make_core(clock)
        _, alice = sign_up(core, "Alice", protocol="telnet")
        alice.line_received("look")
        sign_up(core, "Bob", protocol="ssh")
        log_in(core, "Bob", password="wrong")
        connect(core, "telnet")
        core.metrics.connection_refused("server_full")
        text = generate_latest(core.metrics.registry).decode()
        samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
        self.assertEqual(describe(samples, 1000 + 3725), [
            "Up for 1 hour 2 minutes 5 seconds.",
            "Players online: 2 (1 ssh, 1 telnet); lingering: 0; logging in: 2.",
            "Connections accepted: 0; refused: 1 server_full.",
            "Logins: 1 failed; SSH: none; sign-ups: 2 ok.",
            "Commands run: 1 ok; output cuts: 0; input lines refused: 0.",
            "Password hashing: 0 running or waiting.",
        ])
