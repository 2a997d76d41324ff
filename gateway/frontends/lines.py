"""
The C{lines} frontend: UTF-8 lines ending in LF or CR LF, no negotiation,
for scripts, bots and C{openssl s_client}.  The first line the server sends
is C{OK gateway <version>}; every message, prompts included, is a whole
line.  Over TLS, a client certificate bound to an account (C{cert add})
logs that account in without a password; any other goes through the
usual login (the listener's C{client_certificates = "required"} has the
handshake gate turn those away first).
"""

from dataclasses import dataclass

from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Protocol, ServerFactory
from zope.interface import implementer

from gateway import __version__
from gateway.auth.fingerprints import client_fingerprint
from gateway.config import build_settings
from gateway.core.capabilities import Capabilities
from gateway.frontends.addresses import describe
from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.frontends.text import decode_line, encode_line
from gateway.interfaces import IInputFlow, IOutputFlow, ISessionTransport

@implementer(ISessionTransport, IInputFlow, IOutputFlow)
class LinesFrontend(Protocol):
    """
    Adapts a line connection to a core session.

    What the lines of one read make the core send goes out as one write
    per session (see L{gateway.frontends.limits.LimitedProtocol}), and reading pauses
    while the session's queue of waiting commands is full.
    """

    protocol_name = "lines"

    def __init__(self, core, settings):
        """
        @param core: the L{gateway.interfaces.IGatewayCore}.
        @param settings: this listener's L{LinesOptions}.
        """
        self.core = core
        self.settings = settings
        self.session = None
        self._closing = False

    def connectionMade(self):
        secure = ISSLTransport.providedBy(self.transport)
        fingerprint = client_fingerprint(self.transport) if secure else ""
        self.capabilities = Capabilities(
            protocol=self.protocol_name, secure=secure, peer=describe(self.transport.getPeer()),
            certificate=fingerprint,
        )
        core = self.core  # not self: the buffer must not point back here
        self._lines = LineBuffer(lambda: core.limits.max_line_bytes)
        self.send(f"OK gateway {__version__}")
        self.session = self.core.connect(self)

    def dataReceived(self, data):
        self._lines.feed(data)
        self._deliver()

    def _deliver(self):
        """
        Hand the session the lines received, until they are used up or the
        session pauses input.
        """
        for line in self._lines.lines():
            if line is TOO_LONG:
                # Through the session, in order with what the batch of the
                # read holds for it.
                self.session.send(f"That line was too long (over {self._lines.max_bytes} bytes) and was ignored.")
            else:
                self.session.line_received(decode_line(line))

    def connectionLost(self, reason):
        if self.session is not None:
            self.session.connection_lost(reason)
            # The session points back here: let go of it, so a closed
            # connection is freed as soon as nothing uses it.
            self.session = None

    # ISessionTransport

    def send(self, text):
        self.transport.write(encode_line(text))

    def send_prompt(self, text):
        self.send(text)

    def set_echo(self, on):
        pass

    def close(self, reason=None):
        # The reason is written first and the connection closes once it is
        # sent; the connection limits cut a client that does not take it.
        if self._closing:
            return
        self._closing = True
        if reason:
            self.send(reason)
        self.transport.loseConnection()

    # IOutputFlow: the connection pauses a producer while the client leaves
    # output unread.

    def register_output_producer(self, producer):
        self.transport.registerProducer(producer, True)

    def unregister_output_producer(self):
        self.transport.unregisterProducer()

    # IInputFlow: pause reading from the connection; what was read stays in
    # the line buffer meanwhile.

    def pause_input(self):
        self._lines.paused = True
        self.transport.pauseProducing()

    def resume_input(self):
        self._lines.paused = False
        self._deliver()
        if not self._lines.paused:
            self.transport.resumeProducing()


@dataclass(frozen=True)
class LinesOptions:
    """
    The C{options} table of a lines listener.  It has no options of its
    own yet; unknown keys are refused.
    """


def build_factory(core, portal, options):
    """
    The protocol factory for a lines listener (see
    L{gateway.interfaces.IFrontendPlugin.getFactory}).
    """
    settings = build_settings(LinesOptions, options, "options")
    factory = ServerFactory()
    factory.protocol = lambda: LinesFrontend(core, settings)
    return factory
