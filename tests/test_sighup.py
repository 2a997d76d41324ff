"""
Reloading on SIGHUP: every reloadable service in the tree.
"""

import signal

from twisted.application.service import MultiService, Service
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from gateway.sighup import IReloadable, ReloadService


@implementer(IReloadable)
class Counting(Service):
    def __init__(self, name, result=True):
        self.setName(name)
        self.result = result
        self.reloads = 0

    def reload(self):
        self.reloads += 1
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
        self.first, self.second = Counting("tls"), Counting("other")
        self.first.setServiceParent(self.top)
        self.second.setServiceParent(self.inner)
        Service().setServiceParent(self.top)
        self.reactor = FakeReactor()
        self.service = ReloadService(self.reactor)
        self.service.setServiceParent(self.inner)

    def test_reloads_every_reloadable_service(self):
        self.assertTrue(self.service.reload())
        self.assertEqual((self.first.reloads, self.second.reloads), (1, 1))

    def test_one_failure_reported(self):
        self.second.result = False
        self.assertFalse(self.service.reload())
        self.assertEqual(self.first.reloads, 1)

    def test_sighup_schedules_a_reload_on_the_reactor(self):
        previous = signal.getsignal(signal.SIGHUP)
        self.addCleanup(signal.signal, signal.SIGHUP, previous)
        self.service.startService()
        handler = signal.getsignal(signal.SIGHUP)
        handler(signal.SIGHUP, None)
        self.assertEqual(self.first.reloads, 0)
        [(f, args)] = self.reactor.calls
        f(*args)
        self.assertEqual(self.first.reloads, 1)
        self.service.stopService()
        self.assertEqual(signal.getsignal(signal.SIGHUP), previous)

    def test_stopping_a_service_that_never_started(self):
        previous = signal.getsignal(signal.SIGHUP)
        self.service.stopService()
        self.assertEqual(signal.getsignal(signal.SIGHUP), previous)
