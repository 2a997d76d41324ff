"""
The telnet frontend, for telnet and MUD clients.

L{codec} parses bytes and negotiates options (RFC 1143) for either end of
a connection, L{transport} is its server end, L{frontend}
adapts the connection to a core session, and one module per option family
does the rest: L{terminal} (NAWS, TTYPE/MTTS), L{environ} (NEW-ENVIRON/MNES),
L{charset}, L{mssp}, L{gmcp}, L{mccp} and L{base} (EOR).  L{options} validates a
listener's options and builds its factory.
"""

from gateway.frontends.telnet.codec import TelnetCodec
from gateway.frontends.telnet.frontend import TelnetFrontend
from gateway.frontends.telnet.options import TelnetOptions, build_factory
from gateway.frontends.telnet.transport import GatewayTelnetTransport

__all__ = ["GatewayTelnetTransport", "TelnetCodec", "TelnetFrontend", "TelnetOptions", "build_factory"]
