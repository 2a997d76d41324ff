"""
Frontend plugins: discovery of the built-ins, of a third-party plugin on
its own C{PYTHONPATH} entry, reporting of unknown names, broken plugin
modules and bad plugin options.
"""

import io
import os
import shutil
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

from twisted.application.service import MultiService
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from gateway.config import load_config
from gateway.errors import ConfigError, StartupError
from gateway.frontends.plugin import InstalledPlugins, LazyFrontend, available_frontends
from gateway.interfaces import IFrontendPlugin
from gateway.service import build_listeners
from gateway.tap import Options
from tests.daemon import ROOT, Daemon, LineClient, run_daemon_to_exit, sign_up
from tests.helpers import make_core

EXAMPLE = ROOT / "examples" / "jsonlines"

GOOD_PLUGIN = """
from gateway.frontends.plugin import LazyFrontend
good = LazyFrontend("good", "A good frontend", "gateway.frontends.telnet:build_factory")
"""

BROKEN_PLUGIN = """
raise RuntimeError("this plugin is broken on purpose")
"""


def write_plugins(root, package, modules):
    """
    Write plugin modules into C{root/package} (a directory with no
    C{__init__.py} when C{package} is C{twisted/plugins}).

    @param modules: module name to source text.
    @return: the package directory.
    """
    directory = Path(root, package)
    directory.mkdir(parents=True)
    for name, source in modules.items():
        (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return directory


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


class DiscoveryTests(TestCase):
    def test_builtin_frontends(self):
        """
        The built-in frontends are found as plugins providing
        L{IFrontendPlugin}, without importing their protocol code.
        """
        frontends = available_frontends()
        self.assertIsInstance(frontends, InstalledPlugins)
        for name in ("telnet", "websocket"):
            self.assertIsInstance(frontends[name], LazyFrontend)
            verifyObject(IFrontendPlugin, frontends[name])
        self.assertEqual(frontends["websocket"].factory_path, "gateway.frontends.websocket:build_factory")
        self.assertEqual(frontends.broken, {})

    def plugin_package(self, modules):
        """
        A fresh importable plugin package holding C{modules}, removed from
        C{sys.path} and C{sys.modules} after the test.
        """
        root = Path(self.mktemp()).resolve()
        name = f"gateway_test_plugins_{abs(hash(str(root)))}"
        write_plugins(root, name, dict(modules, __init__=""))
        sys.path.insert(0, str(root))

        def clean():
            sys.path.remove(str(root))
            for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[module]

        self.addCleanup(clean)
        __import__(name)
        return sys.modules[name]

    def test_broken_plugin_reported_others_found(self):
        """
        A plugin module that raises on import is reported by module name and
        error, and the other plugins in the package are still found.
        """
        package = self.plugin_package({"good": GOOD_PLUGIN, "broken": BROKEN_PLUGIN})
        frontends = available_frontends(package)
        self.assertEqual(sorted(frontends), ["good"])
        self.assertEqual(
            frontends.broken, {f"{package.__name__}.broken": "RuntimeError: this plugin is broken on purpose"}
        )
        self.assertIn("failed to import", frontends.describe())
        self.assertIn(f"(broken) {package.__name__}.broken: RuntimeError", frontends.listing())
        # Twisted logs the traceback while building its plugin cache.
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_first_plugin_of_a_name_wins(self):
        """
        Two plugins with one name: the one in the module that sorts first is
        used, the other ignored.
        """
        package = self.plugin_package({
            "a_first": GOOD_PLUGIN,
            "b_second": GOOD_PLUGIN.replace("A good frontend", "A shadowed frontend"),
        })
        self.assertEqual(available_frontends(package)["good"].description, "A good frontend")


class ListenerErrorTests(TestCase):
    """
    L{build_listeners} names the listener in everything it reports.
    """

    def build(self, frontends, options=None):
        path = Path(self.mktemp())
        path.write_text(
            '[listeners.play]\nfrontend = "good"\nendpoint = "tcp:0:interface=127.0.0.1"\n'
            + ("[listeners.play.options]\n" + options if options else "")
        )
        config = load_config(path)
        core = make_core(config=config)
        parent = MultiService()
        build_listeners(config, core, MemoryReactor(), parent, frontends)
        return config, parent

    def test_unknown_frontend_lists_available_and_broken(self):
        frontends = InstalledPlugins({"telnet": object()}, {"twisted.plugins.bad": "ImportError: no module named x"})
        e = self.assertRaises(ConfigError, self.build, frontends)
        self.assertIn("listeners.play.frontend 'good' is not an installed frontend", str(e))
        self.assertIn(
            "(available: telnet; plugin modules that failed to import: "
            "twisted.plugins.bad (ImportError: no module named x))", str(e),
        )

    def test_missing_dependency_names_the_listener(self):
        frontends = InstalledPlugins({"good": LazyFrontend("good", "", "gateway_no_such_module:build")})
        e = self.assertRaises(StartupError, self.build, frontends)
        self.assertEqual(
            str(e),
            "listeners.play (frontend 'good'): the frontend's code cannot be imported: "
            "No module named 'gateway_no_such_module'",
        )

    def test_failing_plugin_names_the_listener(self):
        frontends = InstalledPlugins({"good": LazyFrontend("good", "", "gateway.frontends.plugin:InstalledPlugins")})
        e = self.assertRaises(StartupError, self.build, frontends)
        self.assertIn("listeners.play (frontend 'good'): the frontend plugin failed: TypeError", str(e))
        self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)

    def test_valid_listener_is_added(self):
        frontends = InstalledPlugins({"good": LazyFrontend("good", "", "gateway.frontends.telnet:build_factory")})
        _, parent = self.build(frontends)
        self.assertEqual([service.name for service in parent], ["play"])


class CommandLineTests(TestCase):
    def test_list_frontends(self):
        out = io.StringIO()
        with redirect_stdout(out):
            e = self.assertRaises(SystemExit, Options().parseOptions, ["--list-frontends"])
        self.assertEqual(e.code, 0)
        self.assertIn("Installed frontends:\n", out.getvalue())
        self.assertRegex(out.getvalue(), r"\n  telnet +Telnet")
        self.assertRegex(out.getvalue(), r"\n  websocket +WebSocket")

    def test_help_lists_frontends(self):
        usage = str(Options())
        self.assertIn("--list-frontends", usage)
        self.assertRegex(usage, r"Installed frontends .*:\n(  .*\n)*  telnet +Telnet")
        self.assertRegex(usage, r"\n  lines +UTF-8 lines")


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
