"""
Reconfiguring the running daemon without a restart, on SIGHUP or when
asked: the configuration file is read once, and every service that can
follow it takes its own slice of it (certificates and host keys are read
again from their files, too).
"""

import signal

from twisted.application.service import IServiceCollection, Service
from twisted.logger import Logger
from zope.interface import Interface

from gateway.errors import ConfigError


class IReconfigurable(Interface):
    """
    A service that follows a new configuration while the daemon runs.
    Every service in the tree that provides it is reconfigured by
    L{ReloadService}, in the tree's order, with the same configuration.
    """

    def reconfigService(new_config):
        """
        Apply this service's slice of C{new_config}, the configuration
        just read: what it can change while the daemon runs.  Settings it
        cannot change live it leaves as they are (the configuration
        service, L{gateway.live_settings.LiveSettingsService}, reports
        those as needing a restart).  A part that fails keeps its old
        state in service and logs why.

        @type new_config: L{gateway.config.Config}
        @return: whether the new state is in service.
        @rtype: L{bool}
        """


def reconfigurable_services(root):
    """
    Every L{IReconfigurable} service in the tree under C{root}, depth
    first.
    """
    if IReconfigurable.providedBy(root):
        yield root
    collection = IServiceCollection(root, None)
    if collection is not None:
        for child in collection:
            yield from reconfigurable_services(child)


class ReloadService(Service):
    """
    Reads the configuration file again on SIGHUP (C{systemctl reload}
    sends it) or when L{reload} is called, and hands it to every
    L{IReconfigurable} service in its parent's tree.  An invalid file
    changes nothing.
    """

    log = Logger()
    name = "reload"

    def __init__(self, reactor, load):
        """
        @param reactor: the reactor the reload runs on (an
            L{twisted.internet.interfaces.IReactorFromThreads}); the
            signal handler only schedules it there.
        @param load: reads and validates the configuration file again,
            with the command line's overrides: returns a
            L{gateway.config.Config} or raises L{ConfigError}.
        """
        self._reactor = reactor
        self._load = load
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
        Read the configuration and reconfigure every reconfigurable
        service with it.

        @return: whether the file was valid and every service follows it.
        @rtype: L{bool}
        """
        try:
            new_config = self._load()
        except ConfigError as e:
            self.log.error("Configuration reload failed, nothing changed: {error}", error=str(e))
            return False
        root = self
        while root.parent is not None:
            root = root.parent
        results = [service.reconfigService(new_config) for service in reconfigurable_services(root)]
        return all(results)
