"""
MSSP, the MUD Server Status Protocol: what MUD lists and crawlers read
about the server (https://tintin.mudhalla.net/protocols/mssp/).
"""

from gateway import __version__
from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import MSSP

MSSP_VAR, MSSP_VAL = b"\x01", b"\x02"


def status_fields(core, port, settings):
    """
    The server's status as MSSP variables: live figures first, then the
    protocols this listener speaks, then the operator's own fields from
    C{[mssp]}.

    @param core: the listener's L{gateway.interfaces.IGatewayCore}.
    @param port: the listener's port, or L{None} (UNIX sockets).
    @param settings: the listener's L{gateway.frontends.telnet.options.TelnetOptions}.
    @return: C{(name, values)} pairs, C{values} a L{list} of L{str}.
    """
    status = core.status()
    flag = lambda on: "1" if on else "0"  # noqa: E731
    fields = [
        ("NAME", [status.name]),
        ("PLAYERS", [str(status.online)]),
        ("UPTIME", [str(int(status.started_at))]),
        ("HOSTNAME", [status.host_name]),
        ("CODEBASE", [f"gateway {__version__}"]),
        ("ANSI", ["1"]), ("UTF-8", ["1"]), ("XTERM 256 COLORS", ["1"]), ("XTERM TRUE COLORS", ["1"]),
        ("MCCP", [flag(settings.mccp)]), ("GMCP", [flag(settings.gmcp)]),
        ("MSDP", ["0"]), ("MXP", ["0"]), ("MSP", ["0"]), ("PUEBLO", ["0"]), ("VT100", ["0"]),
    ]
    if port is not None:
        fields.insert(3, ("PORT", [str(port)]))
    for name, value in status.listing.items():
        values = value if isinstance(value, list) else [value]
        fields.append((name, [str(v) for v in values]))
    return fields


def encode_fields(fields):
    """
    The MSSP subnegotiation payload; bytes MSSP reserves (NUL, VAR, VAL,
    IAC) are left out of names and values.

    @rtype: L{bytes}
    """
    def clean(text):
        return text.encode("utf-8").translate(None, b"\x00\x01\x02\xff")

    out = []
    for name, values in fields:
        out.append(MSSP_VAR + clean(name))
        out.extend(MSSP_VAL + clean(value) for value in values)
    return b"".join(out)


class ServerStatus(OptionHandler):
    """
    Sends the status table when the client (usually a crawler) agrees to
    MSSP.
    """

    __slots__ = ()

    option = MSSP

    def enabled(self, local):
        frontend = self.frontend
        port = getattr(frontend.transport.getHost(), "port", None)
        self.send(encode_fields(status_fields(frontend.core, port, frontend.settings)))
