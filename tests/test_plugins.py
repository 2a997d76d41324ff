"""
Frontend plugins: discovery of the built-ins, of a third-party plugin on
its own C{PYTHONPATH} entry, reporting of unknown names, broken plugin
modules and bad plugin options.
"""

import io
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
from tests.helpers import make_core

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
        self.assertEqual([service.listener for service in parent], ["play"])


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
