"""
Driving the telnet frontend over a L{StringTransport}: byte-exact
negotiation tests without sockets.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import ISSLTransport
from zope.interface import alsoProvides
from twisted.internet.testing import StringTransport

from gateway.frontends.telnet import GatewayTelnetTransport, TelnetFrontend
from gateway.frontends.telnet.codes import (
    CHARSET, DO, EOR, GA, GMCP, IAC, MCCP2, MSSP, NAWS, NEW_ENVIRON, SB, SE, TTYPE, WILL,
)
from gateway.config import build_settings
from gateway.frontends.telnet.options import TelnetOptions
from tests.helpers import make_core

#: What the server sends first with the default options: its offers.
OFFERS = (
    IAC + WILL + EOR + IAC + DO + TTYPE + IAC + DO + NAWS + IAC + DO + NEW_ENVIRON + IAC + WILL + CHARSET
    + IAC + WILL + MSSP + IAC + WILL + GMCP + IAC + WILL + MCCP2
)
#: Then at once the banner and the name prompt, marked with GA.
BANNER = (
    b"Welcome to gateway.\r\nA small shared world. Type a name to log in or to create an account.\r\n"
    b"Name: " + IAC + GA
)


def sb(option, payload):
    """
    C{IAC SB option payload IAC SE}, with IAC in the payload doubled.
    """
    return IAC + SB + option + payload.replace(IAC, IAC + IAC) + IAC + SE


class TelnetConnection:
    """
    One telnet connection to a core, over a L{StringTransport}.

    @ivar protocol: the L{GatewayTelnetTransport}.
    @ivar frontend: its L{TelnetFrontend}.
    @ivar wire: the L{StringTransport} (what the server wrote); it
        provides L{ISSLTransport} when C{tls} is true.
    """

    def __init__(self, core=None, peer="127.0.0.1", tls=False, **options):
        self.core = core or make_core()
        settings = build_settings(TelnetOptions, options, "options")
        self.protocol = GatewayTelnetTransport(TelnetFrontend, self.core, settings)
        self.wire = StringTransport(peerAddress=IPv4Address("TCP", peer, 40000),
                                    hostAddress=IPv4Address("TCP", "127.0.0.1", 4000))
        if tls:
            alsoProvides(self.wire, ISSLTransport)
            self.wire.getPeerCertificate = lambda: None  # no client certificate
        self.protocol.makeConnection(self.wire)
        self.frontend = self.protocol.protocol

    @property
    def caps(self):
        return self.frontend.capabilities

    def take(self):
        """
        What the server wrote since the last call.
        """
        data = self.wire.value()
        self.wire.clear()
        return data

    def feed(self, data, split=None):
        """
        Deliver C{data} from the client, in two pieces at C{split} when
        given.
        """
        if split is None:
            self.protocol.dataReceived(data)
        else:
            self.protocol.dataReceived(data[:split])
            self.protocol.dataReceived(data[split:])

    def line(self, text):
        self.feed(text.encode("utf-8") + b"\r\n")

    def sign_up(self, name, password="secret1"):
        for text in (name, "yes", password, password):
            self.line(text)
