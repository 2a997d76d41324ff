"""
MSDP, the MUD Server Data Protocol (https://tintin.mudhalla.net/protocols/msdp/):
variables sent next to the text, offered to telnet clients when the core
relays MSDP to a game (L{gateway.interfaces.IMSDPRelay}).
"""

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import MSDP
from gateway.interfaces import IMSDPInput
from gateway.logtext import loggable

#: MSDP's structure bytes.
MSDP_VAR, MSDP_VAL, TABLE_OPEN, TABLE_CLOSE, ARRAY_OPEN, ARRAY_CLOSE = range(1, 7)

#: An MSDP subnegotiation longer than this is not passed on.
MAX_MSDP = 16384

#: Tables and arrays nest at most this deep.
MAX_DEPTH = 16


def well_formed(payload):
    """
    Whether C{payload} is one well-formed MSDP subnegotiation of at most
    L{MAX_MSDP} bytes: variables C{VAR name (VAL value)+}, each name not
    empty, a value plain bytes, a table (C{TABLE_OPEN} variables
    C{TABLE_CLOSE}) or an array (C{ARRAY_OPEN (VAL value)* ARRAY_CLOSE})
    nested at most L{MAX_DEPTH} deep, and no NUL or IAC byte.

    @type payload: L{bytes}
    @rtype: L{bool}
    """
    if not payload or len(payload) > MAX_MSDP or 0 in payload or 255 in payload:
        return False
    end = _variables(payload, 0, 0)
    return end == len(payload)


def _plain(payload, i):
    """
    @return: the index after the plain bytes from C{i}.
    """
    while i < len(payload) and payload[i] > ARRAY_CLOSE:
        i += 1
    return i


def _variables(payload, i, depth):
    """
    Read one or more variables from C{i} (none before a C{TABLE_CLOSE}
    when C{depth}).

    @return: the index after them, or C{-1} when malformed.
    """
    while i < len(payload) and payload[i] == MSDP_VAR:
        name_end = _plain(payload, i + 1)
        if name_end == i + 1 or name_end >= len(payload) or payload[name_end] != MSDP_VAL:
            return -1
        i = _values(payload, name_end, depth)
        if i < 0:
            return -1
    return i if depth or i else -1


def _values(payload, i, depth):
    """
    Read C{(VAL value)*} from C{i}.

    @return: the index after them, or C{-1} when malformed.
    """
    while i < len(payload) and payload[i] == MSDP_VAL:
        i += 1
        if i < len(payload) and payload[i] in (TABLE_OPEN, ARRAY_OPEN):
            if depth >= MAX_DEPTH:
                return -1
            table = payload[i] == TABLE_OPEN
            i = (_variables if table else _values)(payload, i + 1, depth + 1)
            if i < 0 or i >= len(payload) or payload[i] != (TABLE_CLOSE if table else ARRAY_CLOSE):
                return -1
            i += 1
        else:
            i = _plain(payload, i)
    return i


class Msdp(OptionHandler):
    """
    MSDP on the server's side: what the client sends goes to the session
    when well-formed; the core's relay sends through L{send_msdp}.
    """

    __slots__ = ()

    option = MSDP

    def enabled(self, local):
        self._changed()

    def disabled(self, local):
        self._changed()

    def _changed(self):
        session = self.frontend.session
        if IMSDPInput.providedBy(session):
            session.msdp_changed()

    def received(self, data):
        session = self.frontend.session
        if not well_formed(data):
            self.log.debug("Ignored malformed MSDP from {peer}: {data}", peer=self.frontend.capabilities.peer,
                           data=loggable(data, 64))
        elif IMSDPInput.providedBy(session):
            session.msdp_received(data)
