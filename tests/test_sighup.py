"""
Reloading on SIGHUP: the configuration is read once and every
reconfigurable service in the tree takes it; an invalid file changes
nothing.
"""

import signal

from twisted.application.service import MultiService, Service
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.sighup import IReconfigurable, ReloadService


@implementer(IReconfigurable)
class Recording(Service):
    def __init__(self, name, result=True):
        self.setName(name)
        self.result = result
        self.configs = []

    def reconfigService(self, new_config):
        self.configs.append(new_config)
        return self.result


class FakeReactor:
    def __init__(self):
        self.calls = []

    def callFromThread(self, f, *args):
        self.calls.append((f, args))


class ReloadServiceTests(TestCase):
    def setUp(self):
        self.top = MultiService()
        self.inner = MultiService()
        self.inner.setServiceParent(self.top)
        self.first, self.second = Recording("tls"), Recording("other")
        self.first.setServiceParent(self.top)
        self.second.setServiceParent(self.inner)
        Service().setServiceParent(self.top)
        self.reactor = FakeReactor()
        self.loads = []
        self.broken = False
        self.service = ReloadService(self.reactor, self.load)
        self.service.setServiceParent(self.inner)

    def load(self):
        if self.broken:
            raise ConfigError("gateway.toml: limits.max_connections: must be at least 1")
        config = load_config()
        self.loads.append(config)
        return config

    def test_every_service_takes_the_one_configuration(self):
        self.assertTrue(self.service.reload())
        [config] = self.loads
        self.assertEqual((self.first.configs, self.second.configs), ([config], [config]))

    def test_one_failure_reported(self):
        self.second.result = False
        self.assertFalse(self.service.reload())
        self.assertEqual(len(self.first.configs), 1)

    def test_invalid_file_reconfigures_nothing(self):
        self.broken = True
        self.assertFalse(self.service.reload())
        self.assertEqual((self.first.configs, self.second.configs), ([], []))

    def test_sighup_schedules_a_reload_on_the_reactor(self):
        previous = signal.getsignal(signal.SIGHUP)
        self.addCleanup(signal.signal, signal.SIGHUP, previous)
        self.service.startService()
        handler = signal.getsignal(signal.SIGHUP)
        handler(signal.SIGHUP, None)
        self.assertEqual(self.first.configs, [])
        [(f, args)] = self.reactor.calls
        f(*args)
        self.assertEqual(len(self.first.configs), 1)
        self.service.stopService()
        self.assertEqual(signal.getsignal(signal.SIGHUP), previous)

    def test_stopping_a_service_that_never_started(self):
        previous = signal.getsignal(signal.SIGHUP)
        self.service.stopService()
        self.assertEqual(signal.getsignal(signal.SIGHUP), previous)
