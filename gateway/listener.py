"""
A listener: one frontend's factory served on one endpoint.
"""

from twisted.application.service import Service
from twisted.logger import Logger
from zope.interface import implementer

from gateway.errors import StartupError
from gateway.frontends.addresses import describe
from gateway.sighup import IReconfigurable


@implementer(IReconfigurable)
class ListenerService(Service):
    """
    Listens in L{privilegedStartService} (before twistd drops privileges, so
    ports below 1024 work) and fails start-up, naming the listener and the
    endpoint, when the endpoint cannot be listened on.

    On a reload it passes the new configuration on to its frontend's
    factory when that provides L{IReconfigurable} (the SSH frontend's
    does: it reads its host keys again); its own endpoint and options
    change with a restart.

    @ivar listener: the listener's name in the configuration; the
        service is named C{listeners.NAME}.
    """

    log = Logger()

    def __init__(self, name, description, endpoint, factory, frontend=None):
        """
        @param name: the listener's name in the configuration.
        @param description: the endpoint string, for messages.
        @param endpoint: an L{twisted.internet.interfaces.IStreamServerEndpoint}.
        @param factory: the protocol factory to serve.
        @param frontend: the frontend plugin's own factory, which C{factory}
            wraps (in the connection limits, TLS, ...), or L{None}.
        """
        self.frontend = frontend
        self.listener = name
        # Its key in the configuration: never the name of one of the
        # daemon's own services ("game", "tls", "store"...).
        self.setName(f"listeners.{name}")
        self.description = description
        self.endpoint = endpoint
        self.factory = factory
        self.port = None
        self._listening = None

    def privilegedStartService(self):
        super().privilegedStartService()
        failures = []
        starting = True

        def failed(failure):
            if starting:
                failures.append(failure)
            else:
                # An endpoint that answers later (none of Twisted's stream
                # server endpoints do) can only report it in the log.
                self.log.critical(self._failure_message(failure))

        self._listening = self.endpoint.listen(self.factory)
        self._listening.addCallbacks(self._listened, failed)
        starting = False
        if failures:
            raise StartupError(self._failure_message(failures[0]))

    def _failure_message(self, failure):
        return f"listener {self.listener!r} cannot listen on {self.description}: {failure.getErrorMessage()}"

    def _listened(self, port):
        self.port = port
        self.log.info(
            "Listener {name} serving on {endpoint} ({address})",
            name=self.listener, endpoint=self.description, address=describe(port.getHost()),
        )
        return port

    def reconfigService(self, new_config):
        if IReconfigurable.providedBy(self.frontend):
            return self.frontend.reconfigService(new_config)
        return True

    def startService(self):
        if self._listening is None:
            self.privilegedStartService()
        super().startService()

    def stopService(self):
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        if self._listening is not None:
            self._listening.cancel()
