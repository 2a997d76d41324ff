"""
debian/production-config: the Debian package's /etc/gateway/gateway.toml is
the documented etc/gateway.toml with production defaults, and the build
stops when it cannot be made so.
"""

import importlib.machinery
import importlib.util
import io
from contextlib import redirect_stderr
from pathlib import Path

from twisted.trial.unittest import SkipTest, TestCase

from gateway.config import load_config
from tests.daemon import ROOT

SCRIPT = ROOT / "debian" / "production-config"


def load_script():
    loader = importlib.machinery.SourceFileLoader("production_config", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class ProductionConfigTests(TestCase):
    def setUp(self):
        if not SCRIPT.exists():
            raise SkipTest(f"{SCRIPT} is not here (the package build copies only tests/ and etc/)")
        self.script = load_script()
        self.directory = Path(self.mktemp())
        self.directory.mkdir()
        self.destination = self.directory / "etc" / "gateway.toml"

    def convert(self, text):
        source = self.directory / "source.toml"
        source.write_text(text)
        errors = io.StringIO()
        with redirect_stderr(errors):
            status = self.script.main(source, self.destination)
        return status, errors.getvalue()

    def test_documented_configuration(self):
        """
        The documented configuration becomes a valid one with the data in
        /var/lib/gateway and every listener on all addresses, port kept,
        but the metrics listener, which stays on loopback.
        """
        source = ROOT / "etc" / "gateway.toml"
        status, errors = self.convert(source.read_text())
        self.assertEqual((status, errors), (0, ""))
        before, after = load_config(source), load_config(self.destination)
        self.assertEqual(str(after.data_dir), "/var/lib/gateway")
        self.assertEqual(sorted(after.listeners), sorted(before.listeners))
        for name, listener in after.listeners.items():
            port = before.listeners[name].endpoint.split(":")[1]
            if listener.frontend == "metrics":
                self.assertEqual(listener.endpoint, f"tcp:{port}:interface=127.0.0.1")
            else:
                self.assertEqual(listener.endpoint, f"tcp6:{port}:interface=\\:\\:")
        self.assertEqual(after.server.banner, before.server.banner)
        self.assertTrue(self.destination.read_text().startswith("# /etc/gateway/gateway.toml"))

    def test_listener_it_cannot_move(self):
        """
        An enabled listener whose endpoint has no production form stops the
        build, naming it, and no file is left behind.
        """
        status, errors = self.convert(
            '[server]\ndata_dir = "var"\n[listeners.local]\nfrontend = "telnet"\nendpoint = "unix:/run/gateway.sock"\n'
        )
        self.assertEqual(status, 1)
        self.assertIn("listeners.local.endpoint 'unix:/run/gateway.sock'", errors)
        self.assertFalse(self.destination.exists())

    def test_disabled_listener_is_kept(self):
        """
        A disabled listener is copied unchanged.
        """
        status, errors = self.convert(
            '[server]\ndata_dir = "var"\n'
            '[listeners.local]\nfrontend = "telnet"\nendpoint = "unix:/run/gateway.sock"\nenabled = false\n'
        )
        self.assertEqual((status, errors), (0, ""))
        self.assertEqual(load_config(self.destination).listeners["local"].endpoint, "unix:/run/gateway.sock")

    def test_invalid_setting(self):
        """
        A setting gateway refuses stops the build with gateway's message.
        """
        status, errors = self.convert('[server]\ndata_dir = "var"\nhash_threads = 0\n')
        self.assertEqual(status, 1)
        self.assertIn("server.hash_threads must be a number of at least 1, not 0", errors)

    def test_no_data_dir_line(self):
        """
        Without exactly one data_dir line there is nothing to point at
        /var/lib/gateway.
        """
        status, errors = self.convert("[server]\n")
        self.assertEqual(status, 1)
        self.assertIn("expected one 'data_dir = \"...\"' line, found 0", errors)
