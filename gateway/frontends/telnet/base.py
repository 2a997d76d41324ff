"""
The shape of an option handler, and EOR, which needs no more than it.
"""

from gateway.frontends.telnet.codes import EOR, NAMES
from gateway.logtext import Logger, loggable


class OptionHandler:
    """
    One telnet option of the frontend.

    @cvar option: the option code.
    @cvar offer: C{"will"} when the server offers to perform the option at
        connect, C{"do"} when it asks the client to.  The offers are made
        by L{gateway.frontends.telnet.transport.GatewayTelnetTransport.offer};
        a refusal is quietly accepted.
    @cvar sides: the sides the option may be on: C{True} for the server's
        (we C{WILL}), C{False} for the client's (it C{WILL}s).
    @ivar frontend: the L{gateway.frontends.telnet.frontend.TelnetFrontend}.
    """

    # Every connection has one of each handler: slots (in every subclass)
    # keep them small.
    __slots__ = ("frontend",)
    option = None
    offer = "will"
    sides = frozenset([True])
    log = Logger()

    def __init__(self, frontend):
        self.frontend = frontend

    @property
    def name(self):
        return NAMES[self.option]

    def send(self, payload):
        """
        Send C{IAC SB option payload IAC SE}.
        """
        self.frontend.transport.requestNegotiation(self.option, payload)

    def enabled(self, local):
        """
        The option is now on, on the server's side when C{local}.
        """

    def disabled(self, local):
        """
        The option is now off.
        """

    def received(self, data):
        """
        A subnegotiation arrived for this option (without C{IAC SB option}
        and C{IAC SE}); ignored unless a handler knows what to do.
        """
        self.log.debug("Ignored a {name} subnegotiation {data}", name=self.name, data=loggable(data, 64))


class EndOfRecord(OptionHandler):
    """
    EOR (RFC 885): when on, prompts end with C{IAC EOR}.
    """

    __slots__ = ()
    option = EOR
