"""
NEW-ENVIRON (RFC 1572) with the MUD New-Environ Standard variables: the
client's name and version, terminal type, MTTS bits, character set and,
behind a proxy, the player's real address.
"""

import ipaddress

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import NEW_ENVIRON
from gateway.frontends.telnet.terminal import MAX_NAME, apply_mtts, clean_name
from gateway.logtext import loggable

IS, SEND, INFO = b"\x00", b"\x01", b"\x02"
VAR, VALUE, ESC, USERVAR = 0, 1, 2, 3

#: The MNES variables asked for and recorded; others are ignored.
VARIABLES = ("CLIENT_NAME", "CLIENT_VERSION", "TERMINAL_TYPE", "MTTS", "CHARSET", "IPADDRESS")


def parse_variables(data):
    """
    Parse the C{VAR name VALUE value ...} list of an C{IS} or C{INFO}
    (either of C{VAR} and C{USERVAR}; C{ESC} quotes the next byte).

    @type data: L{bytes}
    @return: C{(name, value)} pairs, C{value} L{None} when undefined.
    @rtype: L{list} of L{tuple} of L{bytes}
    """
    pairs, name, value, target = [], None, None, None
    escaped = False
    for byte in data:
        if escaped:
            escaped = False
        elif byte == ESC:
            escaped = True
            continue
        elif byte in (VAR, USERVAR):
            if name is not None:
                pairs.append((bytes(name), None if value is None else bytes(value)))
            name, value, target = bytearray(), None, "name"
            continue
        elif byte == VALUE:
            if name is not None:
                value, target = bytearray(), "value"
            continue
        if target == "name":
            name.append(byte)
        elif target == "value":
            value.append(byte)
    if name is not None:
        pairs.append((bytes(name), None if value is None else bytes(value)))
    return pairs


class Environment(OptionHandler):
    """
    Asks for the MNES variables and records them in L{values}, updating
    the capabilities; a later C{INFO} updates them again.

    @ivar values: variable name to value (L{str}), MNES names only.
    """

    __slots__ = ("values", "_address_logged")

    option = NEW_ENVIRON
    offer = "do"
    sides = frozenset([False])

    def __init__(self, frontend):
        super().__init__(frontend)
        self.values = {}
        self._address_logged = False

    def enabled(self, local):
        self.send(SEND + b"".join(bytes([VAR]) + name.encode("ascii") for name in VARIABLES))

    def received(self, data):
        if data[:1] not in (IS, INFO):
            super().received(data)
            return
        for raw_name, raw_value in parse_variables(data[1:]):
            name = raw_name.decode("ascii", "replace")
            value = clean_name(raw_value[:MAX_NAME * 4]) if raw_value is not None else ""
            # Clients answer variables they do not know with an empty value.
            if name in VARIABLES and value:
                self._record(name, value)
        self.frontend.changed()

    def _record(self, name, value):
        self.values[name] = value
        frontend, caps = self.frontend, self.frontend.capabilities
        if name == "CLIENT_NAME":
            caps.client = value
        elif name == "CLIENT_VERSION":
            caps.client_version = value
        elif name == "TERMINAL_TYPE":
            caps.terminal = value
        elif name == "CHARSET" and value.upper() in ("UTF-8", "UTF8"):
            frontend.set_encoding("utf-8")
        elif name == "MTTS" and value.isdigit():
            apply_mtts(frontend, int(value))
        elif name == "IPADDRESS":
            self._proxied_address(value)

    def _proxied_address(self, value):
        frontend = self.frontend
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            self._log_address("Ignored IPADDRESS '{value}' that is no address", value=loggable(value))
            return
        if not frontend.from_trusted_proxy():
            self._log_address(
                "Ignored IPADDRESS {value} from {peer}, which is not a trusted proxy",
                value=value, peer=frontend.capabilities.peer,
            )
            return
        self._log_address("{peer} relays a player from {address}", peer=frontend.capabilities.peer, address=address)
        frontend.capabilities.peer = str(address) if address.version == 4 else f"[{address}]"

    def _log_address(self, format, **fields):
        """
        Log what became of an C{IPADDRESS}: the first one of the connection
        only, as a client may send thousands.
        """
        if not self._address_logged:
            self._address_logged = True
            self.log.info(format, **fields)
