"""
systemd's service notifications (C{sd_notify}): the documented
C{NOTIFY_SOCKET} datagram protocol, without a library.

Under a C{Type=notify} unit systemd sets C{NOTIFY_SOCKET} (a unix datagram
socket path, or an abstract one written with a leading C{@}) and, with
C{WatchdogSec=}, C{WATCHDOG_USEC}.  Without C{NOTIFY_SOCKET} nothing here
does anything.
"""

import os
import socket

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

#: Seconds between two C{STATUS=} updates (only sent when it changed).
STATUS_INTERVAL = 5.0


class Notifier:
    """
    Sends notifications to systemd's socket.

    @ivar address: the socket's address, or L{None} when not under systemd.
    @ivar watchdog: seconds between two C{WATCHDOG=1} pings (half the
        watchdog timeout), or L{None} when no watchdog is asked for.
    """

    log = Logger()

    def __init__(self, environ=None):
        """
        @param environ: the environment to read C{NOTIFY_SOCKET},
            C{WATCHDOG_USEC} and C{WATCHDOG_PID} from (L{os.environ} when
            L{None}).
        """
        if environ is None:
            environ = os.environ
        path = environ.get("NOTIFY_SOCKET", "")
        self.address = None
        self.watchdog = None
        if path.startswith("@"):
            self.address = "\0" + path[1:]
        elif path.startswith("/"):
            self.address = path
        elif path:
            self.log.warn("NOTIFY_SOCKET={path!r} is not a socket path; systemd is not notified", path=path)
        pid = environ.get("WATCHDOG_PID", "")
        usec = environ.get("WATCHDOG_USEC", "")
        if self.address is not None and usec.isdigit() and int(usec) and pid in ("", str(os.getpid())):
            self.watchdog = int(usec) / 2e6
        self._socket = None

    def notify(self, **fields):
        """
        Send C{KEY=value} lines, e.g. C{notify(READY=1, STATUS="...")}.  A
        failure is logged, never raised: the daemon serves on without
        systemd's attention.
        """
        if self.address is None:
            return
        message = "".join(f"{key}={value}\n" for key, value in fields.items()).encode("utf-8")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)
            self._socket.sendto(message, self.address)
        except OSError as e:
            self.log.warn("Could not notify systemd ({fields}): {error}", fields=" ".join(fields), error=e)

    def close(self):
        """
        Close the socket (a later L{notify} opens it again).
        """
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class NotifyService(Service):
    """
    Tells systemd the daemon is ready once every listener is bound, keeps
    its status line on the players online, pings its watchdog from the
    reactor, and says when the daemon stops.

    It is the last child of the service tree: the listeners, started
    before it, have bound their sockets when it starts (a listener that
    cannot bind ends the start-up), and it stops first.
    """

    name = "systemd-notify"

    def __init__(self, notifier, metrics, clock):
        """
        @param notifier: the L{Notifier}.
        @param metrics: the L{gateway.metrics.Metrics} the status line is
            read from.
        @param clock: the L{twisted.internet.interfaces.IReactorTime}
            running the pings.
        """
        self.notifier = notifier
        self.metrics = metrics
        self.clock = clock
        self._calls = []
        self._status = None

    def startService(self):
        super().startService()
        if self.notifier.address is None:
            return
        self._status = self.status()
        self.notifier.notify(READY=1, STATUS=self._status)
        self._repeat(self._update_status, STATUS_INTERVAL)
        if self.notifier.watchdog is not None:
            self._repeat(lambda: self.notifier.notify(WATCHDOG=1), self.notifier.watchdog)

    def _repeat(self, f, interval):
        call = LoopingCall(f)
        call.clock = self.clock
        call.start(interval, now=False)
        self._calls.append(call)

    def status(self):
        """
        @return: the status line: how many are playing.
        """
        count = self.metrics.players_online()
        return f"{count} {'player' if count == 1 else 'players'} online"

    def _update_status(self):
        status = self.status()
        if status != self._status:
            self._status = status
            self.notifier.notify(STATUS=status)

    def stopService(self):
        super().stopService()
        for call in self._calls:
            call.stop()
        self._calls = []
        if self.notifier.address is not None:
            self.notifier.notify(STOPPING=1, STATUS="Stopping")
            self.notifier.close()
