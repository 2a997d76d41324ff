"""
systemd notifications over a real unix datagram socket: READY=1 once the
listeners are bound, STATUS=, WATCHDOG=1 pings, STOPPING=1.
"""

import os
import shutil
import socket
import tempfile

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from gateway.listener import ListenerService
from gateway.metrics import Metrics
from gateway.notify import STATUS_INTERVAL, Notifier, NotifyService
from gateway.service import GatewayService
from tests.helpers import make_core, sign_up
from tests.test_tls_certificates import captured_log


class NotifySocket:
    """
    A datagram socket standing in for systemd's.
    """

    def __init__(self, test, abstract=False):
        if abstract:
            self.name = f"@gateway-test-{os.getpid()}-{id(self)}"
            address = "\0" + self.name[1:]
        else:
            # Short: a unix socket path has at most 107 bytes.
            directory = tempfile.mkdtemp(prefix="gateway-notify-")
            test.addCleanup(shutil.rmtree, directory)
            self.name = address = os.path.join(directory, "notify")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(address)
        self.socket.setblocking(False)
        test.addCleanup(self.socket.close)

    def received(self):
        """
        Every datagram received so far.
        """
        messages = []
        while True:
            try:
                messages.append(self.socket.recv(4096).decode())
            except BlockingIOError:
                return messages


class NotifierTests(SynchronousTestCase):
    def test_nothing_without_notify_socket(self):
        notifier = Notifier({})
        self.assertIsNone(notifier.address)
        self.assertIsNone(notifier.watchdog)
        notifier.notify(READY=1)

    def test_path_socket(self):
        listening = NotifySocket(self)
        notifier = Notifier({"NOTIFY_SOCKET": listening.name})
        notifier.notify(READY=1, STATUS="2 players online")
        notifier.close()
        self.assertEqual(listening.received(), ["READY=1\nSTATUS=2 players online\n"])

    def test_abstract_socket(self):
        listening = NotifySocket(self, abstract=True)
        notifier = Notifier({"NOTIFY_SOCKET": listening.name})
        notifier.notify(WATCHDOG=1)
        notifier.close()
        self.assertEqual(listening.received(), ["WATCHDOG=1\n"])

    def test_watchdog_interval(self):
        environ = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
        self.assertEqual(Notifier(environ).watchdog, 15)
        # The watchdog is meant for another process.
        self.assertIsNone(Notifier(dict(environ, WATCHDOG_PID=str(os.getpid() + 1))).watchdog)
        self.assertEqual(Notifier(dict(environ, WATCHDOG_PID=str(os.getpid()))).watchdog, 15)
        self.assertIsNone(Notifier({"WATCHDOG_USEC": "30000000"}).watchdog)

    def test_send_failure_is_logged(self):
        messages = captured_log(self)
        notifier = Notifier({"NOTIFY_SOCKET": "/nonexistent/notify"})
        notifier.notify(READY=1)
        notifier.close()
        self.assertIn("Could not notify systemd (READY)", messages[0])

    def test_bad_value_is_ignored(self):
        messages = captured_log(self)
        self.assertIsNone(Notifier({"NOTIFY_SOCKET": "relative"}).address)
        self.assertEqual(messages, ["NOTIFY_SOCKET='relative' is not a socket path; systemd is not notified"])


class NotifyServiceTests(TestCase):
    def test_ready_after_listeners_bound_then_watchdog_and_stopping(self):
        listening = NotifySocket(self)
        clock = Clock()
        core = make_core(clock)
        notifier = Notifier({"NOTIFY_SOCKET": listening.name, "WATCHDOG_USEC": "4000000"})
        top = GatewayService()
        listener = ListenerService(
            "test", "tcp:0", TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), Factory.forProtocol(Protocol)
        )
        listener.setServiceParent(top)
        notify = NotifyService(notifier, core.metrics, clock)
        notify.setServiceParent(top)
        top.privilegedStartService()
        self.assertEqual(listening.received(), [])
        top.startService()
        self.assertIsNotNone(listener.port)
        self.assertEqual(listening.received(), ["READY=1\nSTATUS=0 players online\n"])
        clock.advance(2)
        self.assertEqual(listening.received(), ["WATCHDOG=1\n"])
        sign_up(core, "Alice")
        clock.advance(STATUS_INTERVAL - 2)
        self.assertEqual(listening.received(), ["WATCHDOG=1\n", "STATUS=1 player online\n"])
        stopped = top.stopService()
        self.assertEqual(listening.received(), ["STOPPING=1\nSTATUS=Stopping\n"])
        self.assertEqual(clock.getDelayedCalls(), [])
        return stopped

    def test_silent_without_systemd(self):
        clock = Clock()
        service = NotifyService(Notifier({}), Metrics(clock), clock)
        service.startService()
        self.assertEqual(clock.getDelayedCalls(), [])
        service.stopService()
