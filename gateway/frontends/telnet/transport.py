"""
The server end of the telnet byte layer: the codec of
L{gateway.frontends.telnet.codec}, with a server's password echo.
"""

from gateway.frontends.telnet.codec import TelnetCodec
from gateway.frontends.telnet.codes import ECHO


class GatewayTelnetTransport(TelnetCodec):
    """
    The telnet layer of a server connection, under the
    L{gateway.frontends.telnet.frontend.TelnetFrontend}.
    """

    def hide_input(self, hide):
        """
        Ask the client now to stop (C{True}) or go back to (C{False})
        echoing what it sends, whatever became of the previous request
        (see L{TelnetCodec.announce}).

        @type hide: L{bool}
        """
        self.announce(ECHO, True, hide)
