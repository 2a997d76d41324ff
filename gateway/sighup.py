"""
Reloading parts of the running daemon (certificates, ...) without a
restart, on SIGHUP or when asked.
"""

import signal

from twisted.application.service import IServiceCollection, Service
from twisted.logger import Logger
from zope.interface import Interface


class IReloadable(Interface):
    """
    A service that can re-read its files while the daemon runs.  Every
    service in the tree that provides it is reloaded by L{ReloadService}.
    """

    def reload():
        """
        Re-read what this service serves.  A reload that fails keeps the
        old state in service and logs why.

        @return: whether the new state is in service.
        @rtype: L{bool}
        """


def reloadable_services(root):
    """
    Every L{IReloadable} service in the tree under C{root}, depth first.
    """
    if IReloadable.providedBy(root):
        yield root
    collection = IServiceCollection(root, None)
    if collection is not None:
        for child in collection:
            yield from reloadable_services(child)


class ReloadService(Service):
    """
    Reloads every L{IReloadable} service in its parent's tree on SIGHUP
    (C{systemctl reload} sends it) or when L{reload} is called.
    """

    log = Logger()
    name = "reload"

    def __init__(self, reactor):
        """
        @param reactor: the reactor the reload runs on (an
            L{twisted.internet.interfaces.IReactorFromThreads}); the
            signal handler only schedules it there.
        """
        self._reactor = reactor
        self._previous = None

    def startService(self):
        super().startService()
        self._previous = signal.signal(signal.SIGHUP, self._signalled)

    def stopService(self):
        super().stopService()
        if self._previous is not None:
            signal.signal(signal.SIGHUP, self._previous)
            self._previous = None

    def _signalled(self, signum, frame):
        self._reactor.callFromThread(self.reload)

    def reload(self):
        """
        Reload every reloadable service.

        @return: whether all of them reloaded.
        @rtype: L{bool}
        """
        root = self
        while root.parent is not None:
            root = root.parent
        results = []
        for service in reloadable_services(root):
            self.log.info("Reloading {service}", service=service.name)
            results.append(service.reload())
        return all(results)
