"""
TLS settings in the configuration, and wrapping listeners' factories.
"""

from pathlib import Path

from twisted.application.service import MultiService
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import ServerFactory
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase

from gateway.config import load_config
from gateway.errors import ConfigError, StartupError
from gateway.frontends.limits import LimitingFactory
from gateway.frontends.plugin import InstalledPlugins
from gateway.frontends.tls.handshake import HandshakeGateFactory
from gateway.interfaces import IRefusingFactory
from gateway.sighup import IReconfigurable
from gateway.service import build_listeners
from tests.helpers import make_core


def write(directory, text):
    path = Path(directory) / "gateway.toml"
    path.write_text(f"[server]\ndata_dir = {str(directory)!r}\n" + text)
    return path


class FakePlugin:
    """
    A third-party frontend plugin.
    """

    name = "echo"
    description = "test"

    def __init__(self):
        self.factory = ServerFactory()

    def getFactory(self, core, portal, options):
        return self.factory


class ConfigTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()

    def assertRefused(self, text, message):
        with self.assertRaises(ConfigError) as caught:
            load_config(write(self.directory, text))
        self.assertIn(message, str(caught.exception))

    def test_defaults(self):
        config = load_config()
        self.assertEqual(config.tls.min_version, "TLSv1.2")
        self.assertEqual(config.tls.handshake_timeout, 10.0)
        self.assertEqual(config.tls.max_handshakes, 64)
        listeners = {name: (l.frontend, l.endpoint, l.tls) for name, l in config.listeners.items()}
        self.assertEqual(listeners, {
            "telnet": ("telnet", "tcp:4000:interface=127.0.0.1", False),
            "ssh": ("ssh", "tcp:4022:interface=127.0.0.1", False),
            "telnet-tls": ("telnet", "tcp:4001:interface=127.0.0.1", True),
            "lines-tls": ("lines", "tcp:4443:interface=127.0.0.1", True),
            "web": ("websocket", "tcp:4080:interface=127.0.0.1", False),
            "metrics": ("metrics", "tcp:9104:interface=127.0.0.1", False),
        })

    def test_shipped_file_matches_defaults(self):
        shipped = load_config(Path(__file__).parent.parent / "etc" / "gateway.toml")
        defaults = load_config()
        self.assertEqual(shipped.tls, defaults.tls)

        def served(config):
            return {
                name: (l.frontend, l.endpoint, l.tls, l.client_certificates, l.certificate_fingerprints)
                for name, l in config.listeners.items() if l.enabled
            }

        self.assertEqual(served(shipped), served(defaults))

    def test_bad_version(self):
        self.assertRefused("[tls]\nmin_version = 'TLSv1.0'\n", "tls.min_version must be one of 'TLSv1.2', 'TLSv1.3', not 'TLSv1.0'")

    def test_bad_timeout(self):
        self.assertRefused("[tls]\nhandshake_timeout = 0\n", "tls.handshake_timeout must be a number greater than 0")

    def test_client_certificates_need_tls(self):
        self.assertRefused(
            "[listeners.a]\nfrontend = 'lines'\nendpoint = 'tcp:0'\nclient_certificates = 'required'\n",
            "listeners.a: client certificates need tls = true",
        )

    def test_allow_list_needs_client_certificates(self):
        self.assertRefused(
            "[listeners.a]\nfrontend = 'lines'\nendpoint = 'tcp:0'\ntls = true\ncertificate_fingerprints = ['" + "AB" * 32 + "']\n",
            'listeners.a: certificate_fingerprints need client_certificates = "optional" or "required"',
        )

    def test_bad_mode(self):
        self.assertRefused(
            "[listeners.a]\nfrontend = 'lines'\nendpoint = 'tcp:0'\ntls = true\nclient_certificates = 'yes'\n",
            "listeners.a.client_certificates must be one of 'off', 'optional', 'required'",
        )

    def test_bad_fingerprint(self):
        self.assertRefused(
            "[listeners.a]\nfrontend = 'lines'\nendpoint = 'tcp:0'\ntls = true\ncertificate_fingerprints = ['AB:CD']\n",
            "listeners.a.certificate_fingerprints must be a list of SHA-256 fingerprints",
        )


class WrappingTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()
        self.plugin = FakePlugin()

    def build(self, text):
        config = load_config(write(self.directory, text))
        parent = MultiService()
        build_listeners(config, make_core(config=config), MemoryReactorClock(), parent, InstalledPlugins({"echo": self.plugin}))
        return parent

    def test_any_frontend_wrapped_when_tls(self):
        parent = self.build(
            "[listeners.plain]\nfrontend = 'echo'\nendpoint = 'tcp:0'\n"
            "[listeners.secure]\nfrontend = 'echo'\nendpoint = 'tcp:0'\ntls = true\nclient_certificates = 'required'\n"
        )
        # Connection limits outside, TLS inside them, the frontend within.
        self.assertIs(parent.getServiceNamed("listeners.plain").factory.wrappedFactory, self.plugin.factory)
        limited = parent.getServiceNamed("listeners.secure").factory
        self.assertIsInstance(limited, LimitingFactory)
        wrapped = limited.wrappedFactory
        self.assertIsInstance(wrapped, TLSMemoryBIOFactory)
        # Frontends and libraries that look for TLS find it.
        self.assertTrue(ISSLTransport.implementedBy(wrapped.protocol))
        self.assertTrue(IRefusingFactory.providedBy(wrapped))
        self.assertIsInstance(wrapped.wrappedFactory, HandshakeGateFactory)
        self.assertIs(wrapped.wrappedFactory.wrappedFactory, self.plugin.factory)
        self.assertEqual(wrapped.wrappedFactory.client_certificates, "required")
        self.assertTrue(IReconfigurable.providedBy(parent.getServiceNamed("tls")))

    def test_no_tls_service_without_tls_listeners(self):
        parent = self.build("[listeners.plain]\nfrontend = 'echo'\nendpoint = 'tcp:0'\n")
        self.assertRaises(KeyError, parent.getServiceNamed, "tls")

    def test_missing_certificate_stops_start(self):
        with self.assertRaises(StartupError) as caught:
            self.build(
                "[tls]\ncertificate = 'missing.pem'\nkey = 'key.pem'\n"
                "[listeners.secure]\nfrontend = 'echo'\nendpoint = 'tcp:0'\ntls = true\n"
            )
        self.assertEqual(
            str(caught.exception),
            f"{self.directory / 'missing.pem'}: cannot read the TLS certificate: No such file or directory",
        )

    def test_certificate_without_key(self):
        with self.assertRaises(ConfigError) as caught:
            self.build("[tls]\ncertificate = 'cert.pem'\n[listeners.secure]\nfrontend = 'echo'\nendpoint = 'tcp:0'\ntls = true\n")
        self.assertIn("gateway.toml: tls.certificate and tls.key must be set together", str(caught.exception))
