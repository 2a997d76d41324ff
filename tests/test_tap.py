"""
twistd integration: options, the service tree, plugin lookup, listeners.
"""

import types
from pathlib import Path

from twisted.application.service import IService
from twisted.internet.defer import fail, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactor
from twisted.plugin import IPlugin, getPlugins
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from gateway.config import load_config
from gateway.errors import ConfigError, StartupError
from gateway.frontends.limits import LimitingFactory
from gateway.frontends.plugin import available_frontends
from gateway.interfaces import IFrontendPlugin
from gateway.listener import ListenerService
from gateway.sighup import reconfigurable_services
from gateway.service import build_listeners
from gateway.tap import Options, makeService
from tests.helpers import make_core, prepared_host_keys, service_on_defaults


class OptionsTests(SynchronousTestCase):
    def test_listen_repeatable(self):
        options = Options()
        options.parseOptions(["--config", "x.toml", "--listen", "telnet=tcp:1234", "--listen", "ssh=off"])
        self.assertEqual(options["listen"], {"telnet": "tcp:1234", "ssh": "off"})
        self.assertEqual(options["config"], "x.toml")

    def test_listen_malformed(self):
        self.assertRaises(usage.UsageError, Options().parseOptions, ["--listen", "telnet"])

    def test_help_text_reads_as_sentences(self):
        """
        C{--help} shows each option's description without the gaps a
        docstring's line breaks would leave in it.
        """
        options_part = Options().getUsage(width=80).split("\n\n")[0].splitlines()[1:]
        self.assertTrue(any("--list-games" in line for line in options_part))
        for line in options_part:
            description = line.strip()
            if description.startswith("-"):
                description = description.partition("  ")[2].strip()
            self.assertNotIn("  ", description, line)

    def test_bad_config_exits_with_message(self):
        options = Options()
        options.parseOptions(["--config", "/nonexistent.toml"])
        error = self.assertRaises(SystemExit, makeService, options)
        self.assertEqual(str(error), "gateway: /nonexistent.toml: cannot read configuration: No such file or directory")

    def test_make_service_builds_tree(self):
        service = service_on_defaults(Path(self.mktemp()))
        self.assertTrue(IService.providedBy(service))
        self.assertEqual(
            [s.listener for s in service if isinstance(s, ListenerService)], ["telnet", "ssh", "telnet-tls", "lines-tls"]
        )
        self.assertEqual(
            [s.name for s in reconfigurable_services(service)],
            ["config", "limits", "sessions", "listeners.telnet", "listeners.ssh", "tls", "listeners.telnet-tls",
             "listeners.lines-tls", "game"],
        )
        # The daemon leaves its start-up objects out of garbage collection.
        self.assertTrue(service.freeze_on_start)

    def test_start_freezes_start_up_objects(self):
        """
        Starting with C{freeze_on_start} collects, then freezes what is left;
        without it, the collector is left alone.
        """
        from gateway import service as module

        calls = []
        fake = types.SimpleNamespace(
            collect=lambda: calls.append("collect"), freeze=lambda: calls.append("freeze"), get_freeze_count=lambda: 7
        )
        self.patch(module, "gc", fake)
        top = module.GatewayService()
        top.startService()
        self.assertEqual(calls, [])
        top.stopService()
        top = module.GatewayService()
        top.freeze_on_start = True
        top.startService()
        self.assertEqual(calls, ["collect", "freeze"])
        top.stopService()

    def test_listeners_named_like_services_of_the_daemon(self):
        """
        Listeners may be called like the daemon's own services (C{game},
        C{tls}, C{store}, ...): the tree is built with all of them.
        """
        names = ["game", "tls", "store", "sessions", "config", "limits", "reload"]
        data = Path(self.mktemp())
        prepared_host_keys(data)
        config = data / "gateway.toml"
        config.write_text("".join(f'[listeners.{name}]\nfrontend = "lines"\nendpoint = "tcp:0"\n' for name in names))
        options = Options()
        options.parseOptions(["--config", str(config), "--data-dir", str(data)])
        service = makeService(options)
        self.assertEqual(sorted(s.listener for s in service if isinstance(s, ListenerService)), sorted(names))

    def test_sessions_stop_after_listeners_before_store(self):
        names = [s.name for s in service_on_defaults(Path(self.mktemp()))]
        self.assertLess(names.index("store"), names.index("sessions"))
        self.assertLess(names.index("sessions"), names.index("listeners.telnet"))

    def test_every_listener_is_limited(self):
        listeners = [s for s in service_on_defaults(Path(self.mktemp())) if isinstance(s, ListenerService)]
        self.assertTrue(listeners)
        for listener in listeners:
            self.assertIsInstance(listener.factory, LimitingFactory)

    def test_twistd_plugin_registered(self):
        from twisted.application.service import IServiceMaker

        names = [p.tapname for p in getPlugins(IServiceMaker)]
        self.assertIn("gateway", names)


class FrontendPluginTests(SynchronousTestCase):
    def test_builtin_telnet_found(self):
        frontends = available_frontends()
        self.assertIn("telnet", frontends)
        self.assertTrue(IFrontendPlugin.providedBy(frontends["telnet"]))
        self.assertTrue(IPlugin.providedBy(frontends["telnet"]))

    def test_unknown_frontend_lists_available(self):
        config = load_config(overrides={})
        listener = config.listeners["telnet"]
        config = config.__class__(**{**config.__dict__, "listeners": {"telnet": listener.__class__(frontend="gopher", endpoint="tcp:0", name="telnet")}})
        error = self.assertRaises(ConfigError, build_listeners, config, make_core(), MemoryReactor(), _Parent(), available_frontends())
        self.assertIn("listeners.telnet.frontend 'gopher' is not an installed frontend (available: ", str(error))
        self.assertIn("telnet", str(error).split("available: ")[1])

    def test_bad_frontend_options_name_the_listener(self):
        config = load_config()
        listener = config.listeners["telnet"]
        config = config.__class__(**{**config.__dict__, "listeners": {"telnet": listener.__class__(frontend="telnet", endpoint="tcp:0", options={"colour": True}, name="telnet")}})
        error = self.assertRaises(ConfigError, build_listeners, config, make_core(), MemoryReactor(), _Parent(), available_frontends())
        self.assertIn("(defaults): listeners.telnet (frontend 'telnet'): unknown key options.colour", str(error))


class _Parent:
    def addService(self, service):
        pass


class _Endpoint:
    def __init__(self, result):
        self.result = result

    def listen(self, factory):
        return self.result


class _Port:
    def __init__(self):
        self.stopped = False

    def getHost(self):
        from twisted.internet.address import IPv4Address

        return IPv4Address("TCP", "127.0.0.1", 4000)

    def stopListening(self):
        self.stopped = True
        return succeed(None)


class ListenerServiceTests(SynchronousTestCase):
    def test_bind_failure_names_listener_and_endpoint(self):
        error = CannotListenError("127.0.0.1", 4000, OSError(98, "Address already in use"))
        service = ListenerService("telnet", "tcp:4000:interface=127.0.0.1", _Endpoint(fail(error)), object())
        raised = self.assertRaises(StartupError, service.privilegedStartService)
        self.assertIn("listener 'telnet' cannot listen on tcp:4000:interface=127.0.0.1: Couldn't listen on 127.0.0.1:4000", str(raised))

    def test_listens_and_stops(self):
        port = _Port()
        service = ListenerService("telnet", "tcp:4000", _Endpoint(succeed(port)), object())
        service.privilegedStartService()
        service.startService()
        self.assertIs(service.port, port)
        service.stopService()
        self.assertTrue(port.stopped)
