"""
The example game plugin (examples/dice) in the real daemon, used over
telnet and over the real OpenSSH client: a post made on one is read on the
other, survives a daemon restart, and C{gateway-admin reload-game} keeps
the players connected.

The plugin is the one installed next to gateway (C{make venv} and
C{.ci/run} install it); where it is not installed (Debian's packages) a
copy of examples/dice goes on the daemon's C{PYTHONPATH}.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.daemon import ROOT, Daemon, LineClient, log_in, sign_up
from tests.integration.test_ssh_integration import EPHEMERAL, SSH_OPTIONS, need, prepared_host_keys
from tests.integration.test_tls_integration import wait_for

EXAMPLE = ROOT / "examples" / "dice"


def example_path(directory):
    """
    Where the daemon finds the example: L{None} when it is installed, else
    a copy of it in C{directory} (so Twisted's plugin cache is not written
    into the source tree).
    """
    spec = importlib.util.find_spec("gateway_dice")
    if spec is not None and not Path(spec.origin).is_relative_to(EXAMPLE):
        return None
    target = directory / "dice"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("dropin.cache", "__pycache__", "*.egg-info", "build"))
    return target


class DicePluginTests(TestCase):
    def setUp(self):
        need("ssh", "sshpass")
        base = Path(self.mktemp()).resolve()
        data = base / "data"
        prepared_host_keys(data)
        config = self.config = base / "gateway.toml"
        self.configure('["core", "dice"]')
        env = {}
        path = example_path(base)
        if path is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(path), os.environ.get("PYTHONPATH", "")])
        self.env = env
        self.daemon = Daemon(data, config=config, listen=[f"telnet={EPHEMERAL}", f"ssh={EPHEMERAL}"], env=env)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)

    def configure(self, plugins):
        """
        Write the configuration: etc/gateway.toml with C{[game] plugins}
        set to C{plugins} (TOML text).
        """
        text = (ROOT / "etc" / "gateway.toml").read_text()
        text = text.replace('plugins = ["core"]', f"plugins = {plugins}")
        text = text.replace('file = "world.toml"', f'file = "{ROOT / "etc" / "world.toml"}"')
        self.config.write_text(text)

    def telnet(self, name, new=False):
        client = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(client.close)
        (sign_up if new else log_in)(client, name)
        return client

    def ssh(self, user, *command):
        args = ["sshpass", "-p", "secret1", "ssh"] + SSH_OPTIONS + [
            "-p", str(self.daemon.ports["ssh"]), "-o", "PubkeyAuthentication=no", f"{user}@127.0.0.1",
        ] + list(command)
        result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def test_post_on_one_protocol_read_on_the_other_and_after_a_restart(self):
        alice = self.telnet("alice", new=True)
        self.telnet("bob", new=True).close()
        self.assertIn("Your post is number 1 on the board here.", self.ssh("bob", "post", "Hello from SSH"))
        alice.send_line("read 1")
        alice.expect("Post 1, by bob (")
        alice.expect("Hello from SSH")
        alice.send_line("post Hello from telnet")
        alice.expect("Your post is number 2 on the board here.")
        self.assertIn("Hello from telnet", self.ssh("bob", "read", "2"))
        alice.send_line("roll 2d6")
        alice.expect("You roll 2d6: ")

        alice.close()
        self.daemon.stop()
        self.daemon.start(expect=2)
        output = self.ssh("bob", "board")
        self.assertIn("1. bob: Hello from SSH", output)
        self.assertIn("2. alice: Hello from telnet", output)
        alice = self.telnet("alice")
        alice.send_line("read 1")
        alice.expect("Hello from SSH")

    def test_reload_game_keeps_players_connected(self):
        alice = self.telnet("alice", new=True)
        env = dict(os.environ, PYTHONPATH=self.env.get("PYTHONPATH", str(ROOT)))
        result = subprocess.run(
            [sys.executable, "-m", "gateway.admin", "--data-dir", str(self.daemon.data_dir), "reload-game"],
            capture_output=True, text=True, timeout=60, env=env,
        )
        self.assertEqual((result.returncode, result.stdout), (0, "Game plugins reloaded: core, dice.\n"), result.stderr)
        alice.send_line("post After the reload")
        alice.expect("Your post is number 1 on the board here.")

    def test_sighup_applies_a_changed_plugin_list(self):
        alice = self.telnet("alice", new=True)
        self.configure('["core"]')
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(self.daemon, "Game plugins reloaded: core\n")
        alice.send_line("roll 2d6")
        alice.expect("Unknown command 'roll'.")
        self.configure('["core", "dice"]')
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(self.daemon, "Game plugins reloaded: core, dice")
        alice.send_line("roll 2d6")
        alice.expect("You roll 2d6: ")
        self.assertNotIn("Traceback", self.daemon.output())
