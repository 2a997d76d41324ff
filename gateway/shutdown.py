"""
The graceful end of the daemon: every session is told why, its output is
given a bounded time to reach the client, and only then do the services
below (hashing threads, the database) stop.
"""

from twisted.application.service import Service
from twisted.internet.defer import TimeoutError as DeferredTimeout
from twisted.logger import Logger
from zope.interface import implementer

from gateway.sighup import IReconfigurable


@implementer(IReconfigurable)
class ShutdownService(Service):
    """
    Ends the sessions when the daemon stops: each is told
    C{shutdown.message}, then every connection is closed once its output
    is written, and connections still open after C{shutdown.grace}
    seconds are cut.  Its parent stops its children
    one after another (see L{gateway.service.GatewayService}), so the
    listeners have stopped accepting before this runs and the store closes
    after it.
    """

    name = "sessions"
    log = Logger()

    def __init__(self, core, limiter, settings, clock):
        """
        @param core: the L{gateway.core.game.GameCore}.
        @param limiter: the L{gateway.frontends.limits.ConnectionLimiter}
            that knows every open connection.
        @param settings: the L{gateway.config.ShutdownSettings}.
        @param clock: an L{twisted.internet.interfaces.IReactorTime}.
        """
        self.core = core
        self.limiter = limiter
        self.settings = settings
        self.clock = clock

    def reconfigService(self, new_config):
        """
        Take the C{[shutdown]} settings of C{new_config}.
        """
        self.settings = new_config.shutdown
        return True

    def stopService(self):
        super().stopService()
        count = len(self.core.sessions)
        self.log.info("Stopping: closing {count} sessions", count=count)
        drained = self.core.shutdown(self.settings.message)
        self.limiter.close_all()
        drained.addTimeout(self.settings.grace, self.clock)
        drained.addErrback(self._cut)
        return drained

    def _cut(self, failure):
        failure.trap(DeferredTimeout)
        cut = self.limiter.abort_all()
        self.log.warn(
            "Stopping: cut {cut} connections that had not closed after {grace:g} seconds",
            cut=cut, grace=self.settings.grace,
        )
