"""
Third-party frontend plugins in real C{twistd} processes: listed when on
C{PYTHONPATH}, broken ones reported without stopping the daemon, unknown
names refused at startup, and the example plugin serving players.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.daemon import ROOT, Daemon, LineClient, run_daemon_to_exit, sign_up
from tests.test_plugins import BROKEN_PLUGIN, write_plugins

EXAMPLE = ROOT / "examples" / "jsonlines"


def run_twistd(args, pythonpath=()):
    """
    Run C{twistd gateway ARGS} with extra C{PYTHONPATH} entries; returns
    C{(status, output)}.
    """
    path = os.pathsep.join([str(ROOT), *map(str, pythonpath), os.environ.get("PYTHONPATH", "")])
    process = subprocess.run(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "gateway", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
        env=dict(os.environ, PYTHONPATH=path),
    )
    return process.returncode, process.stdout.decode("utf-8", "replace")


class ThirdPartyPluginTests(TestCase):
    """
    Plugins living in their own directory on C{PYTHONPATH}, in real
    C{twistd} processes.  The example is copied out of the tree so Twisted's
    plugin cache is written into the test's temporary directory.
    """

    def copy_example(self):
        target = Path(self.mktemp()).resolve()
        shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("dropin.cache", "__pycache__"))
        return target

    def test_example_plugin_listed_only_when_on_path(self):
        status, output = run_twistd(["--list-frontends"], [self.copy_example()])
        self.assertEqual(status, 0, output)
        self.assertRegex(output, r"\n  jsonlines +JSON lines")
        self.assertRegex(output, r"\n  telnet +Telnet")
        status, output = run_twistd(["--list-frontends"])
        self.assertEqual(status, 0, output)
        self.assertNotIn("jsonlines", output)

    def test_broken_third_party_plugin_reported(self):
        root = Path(self.mktemp()).resolve()
        write_plugins(root, "twisted/plugins", {"gateway_test_broken": BROKEN_PLUGIN})
        status, output = run_twistd(["--list-frontends"], [root])
        self.assertEqual(status, 0, output)
        self.assertIn(
            "(broken) twisted.plugins.gateway_test_broken: RuntimeError: this plugin is broken on purpose", output
        )
        self.assertRegex(output, r"\n  telnet +Telnet")

    def test_broken_plugin_does_not_stop_the_daemon(self):
        root = Path(self.mktemp()).resolve()
        write_plugins(root, "twisted/plugins", {"gateway_test_broken": BROKEN_PLUGIN})
        data = Path(self.mktemp()).resolve()
        data.mkdir()
        daemon = Daemon(
            data / "var", listen=["telnet=tcp:0:interface=127.0.0.1", "ssh=off"],
            env={"PYTHONPATH": os.pathsep.join([str(ROOT), str(root)])},
        )
        self.addCleanup(daemon.stop)
        daemon.start()
        player = LineClient(daemon.ports["telnet"])
        self.addCleanup(player.close)
        player.expect("Name: ")
        self.assertIn(
            "Plugin module twisted.plugins.gateway_test_broken failed to import and is not available: "
            "RuntimeError: this plugin is broken on purpose", daemon.output(),
        )

    def test_unknown_frontend_stops_the_daemon(self):
        config = Path(self.mktemp()).resolve()
        config.write_text('[listeners.play]\nfrontend = "gopher"\nendpoint = "tcp:0:interface=127.0.0.1"\n')
        status, output = run_daemon_to_exit(["--config", str(config), "--data-dir", str(config.parent / "var")])
        self.assertEqual(status, 1, output)
        self.assertIn(f"gateway: {config}: listeners.play.frontend 'gopher' is not an installed frontend", output)
        self.assertRegex(output, r"\(available: [^)]*\btelnet\b[^)]*\bwebsocket\b[^)]*\)")
        self.assertNotIn("Traceback", output)

    def test_example_plugin_served_with_telnet(self):
        """
        The example plugin serves a listener: a JSON-lines client and a
        telnet player log in and hear each other.
        """
        data = Path(self.mktemp()).resolve()
        data.mkdir()
        config = data / "gateway.toml"
        config.write_text(textwrap.dedent("""
            [listeners.telnet]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            [listeners.json]
            frontend = "jsonlines"
            endpoint = "tcp:0:interface=127.0.0.1"
            [listeners.json.options]
            hello = true
        """))
        path = os.pathsep.join([str(ROOT), str(self.copy_example())])
        daemon = Daemon(data / "var", config=config, env={"PYTHONPATH": path})
        self.addCleanup(daemon.stop)
        daemon.start(expect=2)

        bot = LineClient(daemon.ports["json"])
        self.addCleanup(bot.close)
        bot.expect('{"type":"hello","protocol":"gateway-jsonlines/1"}\n')
        bot.expect('{"type":"prompt","text":"Name: "}\n')
        for answer, wanted in [
            ("Robo", "Create it? (yes/no) "), ("yes", "characters): "),
            ("secret1", "Repeat the password: "), ("secret1", "Exits:"),
        ]:
            bot.send_line(f'{{"type":"line","text":"{answer}"}}')
            bot.expect(wanted)
        self.assertNotIn('"secret1"', daemon.output())

        player = LineClient(daemon.ports["telnet"])
        self.addCleanup(player.close)
        sign_up(player, "Tess")
        bot.expect("Tess has arrived.")
        player.send_line("say hello robot")
        bot.expect('{"type":"text","text":"Tess says, \\"hello robot\\""}\n')
        bot.send_line('{"type":"line","text":"say beep"}')
        player.expect('Robo says, "beep"')
        bot.send_line("not json")
        bot.expect('{"type":"error","text":"messages must be JSON objects"}\n')
