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

from twisted.internet.protocol import Protocol, ServerFactory
from zope.interface import implementer

from gateway import __version__
from gateway.config import build_settings
from gateway.frontends.base import LineFrontend, capabilities_of
from gateway.frontends.text import encode_line
from gateway.interfaces import IOutputFlow

@implementer(IOutputFlow)
class LinesFrontend(LineFrontend, Protocol):
    """
    Adapts a line connection to a core session: every message, prompts
    included, is one UTF-8 line.
    """

    protocol_name = "lines"

    def __init__(self, core, settings):
        """
        @param core: the L{gateway.interfaces.IGatewayCore}.
        @param settings: this listener's L{LinesOptions}.
        """
        self.core = core
        self.settings = settings

    def connectionMade(self):
        self.capabilities = capabilities_of(self.transport, self.protocol_name)
        self.buffer_lines()
        self.send(f"OK gateway {__version__}")
        self.session_started(self.core.connect(self))

    def dataReceived(self, data):
        self.data_received(data)

    def connectionLost(self, reason):
        self.end_session(reason)

    # ISessionTransport

    def send(self, text):
        self.transport.write(encode_line(text))

    def send_prompt(self, text):
        self.send(text)

    def set_echo(self, on):
        pass


@dataclass(frozen=True)
class LinesOptions:
    """
    The C{options} table of a lines listener: it has no keys, and any key
    given is refused.
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
