"""
MSDP over GMCP ("MoG", https://tintin.mudhalla.net/protocols/gmcp/): the
game's MSDP variables as the JSON of a structured message with package
C{MSDP}, for a player whose client takes structured messages but does not
speak MSDP itself, and that player's C{MSDP} messages back as MSDP.

From the game, a message's variables become one JSON object: a table an
object, an array a list, a value a string, and a variable given several
values (C{VAR REPORT VAL HEALTH VAL MANA}) a list of them; when a name
comes twice the last one counts.  To the game, an object's keys become
variables; a list that is a variable's value becomes that variable with
each element as one of its values (the form every MSDP game reads), an
empty list or a list inside a list an array; numbers, C{true}, C{false}
and C{null} are sent as their JSON text.
"""

import json
import re

from gateway.frontends.telnet.msdp import (
    ARRAY_CLOSE, ARRAY_OPEN, MAX_DEPTH, MSDP_VAL, MSDP_VAR, TABLE_CLOSE, TABLE_OPEN, well_formed,
)

#: The package of MSDP carried as a structured message (case-sensitive).
PACKAGE = "MSDP"

_STRUCTURE = re.compile(b"([\x01-\x06])")
_RESERVED = re.compile("[\x00-\x06]")

_VAR, _VAL = bytes([MSDP_VAR]), bytes([MSDP_VAL])
_OPEN = {dict: bytes([TABLE_OPEN]), list: bytes([ARRAY_OPEN])}
_CLOSE = {dict: bytes([TABLE_CLOSE]), list: bytes([ARRAY_CLOSE])}


class _Frame:
    """
    A table or array being filled while reading MSDP.

    @ivar container: the L{dict} or L{list} filled.
    @ivar name: in a table, the variable whose values come next.
    @ivar count: how many values that variable has had.
    """

    __slots__ = ("container", "name", "count")

    def __init__(self, container):
        self.container = container
        self.name = None
        self.count = 0

    def add(self, value):
        """
        One more value: an array's next element, or the current variable's
        value (a list of them from its second on).
        """
        container = self.container
        if isinstance(container, list):
            container.append(value)
        elif self.count == 0:
            container[self.name] = value
        elif self.count == 1:
            container[self.name] = [container[self.name], value]
        else:
            container[self.name].append(value)
        self.count += 1


def msdp_to_json(payload, encoding="utf-8"):
    """
    The variables of one MSDP subnegotiation as a JSON object.

    @param payload: the subnegotiation, without C{IAC SB MSDP} and
        C{IAC SE}.
    @type payload: L{bytes}
    @param encoding: the encoding of the game's text (undecodable bytes
        are replaced).
    @rtype: L{dict}
    @raise ValueError: when C{payload} is not well-formed MSDP (see
        L{gateway.frontends.telnet.msdp.well_formed}).
    """
    if not well_formed(payload):
        raise ValueError("not well-formed MSDP")
    parts = _STRUCTURE.split(payload)
    # A well-formed payload starts with VAR: parts[0] is empty, then each
    # structure byte comes with the plain bytes after it.
    tokens = [(parts[k][0], parts[k + 1]) for k in range(1, len(parts), 2)]
    root = {}
    stack = [_Frame(root)]
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        frame = stack[-1]
        i += 1
        if kind == MSDP_VAR:
            frame.name = text.decode(encoding, "replace")
            frame.count = 0
        elif kind == MSDP_VAL:
            opened = tokens[i][0] if i < len(tokens) else None
            if opened in (TABLE_OPEN, ARRAY_OPEN):
                inner = _Frame({} if opened == TABLE_OPEN else [])
                frame.add(inner.container)
                stack.append(inner)
                i += 1
            else:
                frame.add(text.decode(encoding, "replace"))
        else:
            # TABLE_CLOSE or ARRAY_CLOSE: well-formedness pairs them.
            stack.pop()
    return root


def json_to_msdp(data, encoding="utf-8"):
    """
    A JSON object as one MSDP subnegotiation.

    @param data: the decoded JSON.
    @param encoding: the encoding of the game's text (characters it
        cannot hold are replaced).
    @rtype: L{bytes}
    @raise ValueError: when C{data} is not an object with at least one
        variable, a name is empty, text holds a byte MSDP reserves, it
        nests deeper than L{MAX_DEPTH} or the result is longer than
        L{gateway.frontends.telnet.msdp.MAX_MSDP}.
    """
    if not isinstance(data, dict):
        raise ValueError("MSDP is sent as a JSON object")
    out = []
    _table(data, encoding, 0, out)
    payload = b"".join(out)
    if not well_formed(payload):
        raise ValueError("not well-formed as MSDP")
    return payload


def _table(table, encoding, depth, out):
    for name, value in table.items():
        out.append(_VAR + _plain(name, encoding))
        if isinstance(value, list) and value:
            for item in value:
                _value(item, encoding, depth, out)
        else:
            _value(value, encoding, depth, out)


def _value(value, encoding, depth, out):
    """
    Append C{VAL} and C{value}: plain bytes, or a table or array.
    """
    kind = type(value)
    if kind in _OPEN:
        if depth >= MAX_DEPTH:
            raise ValueError("nested too deeply")
        out.append(_VAL + _OPEN[kind])
        if kind is dict:
            _table(value, encoding, depth + 1, out)
        else:
            for item in value:
                _value(item, encoding, depth + 1, out)
        out.append(_CLOSE[kind])
    else:
        out.append(_VAL + _plain(value if isinstance(value, str) else json.dumps(value), encoding))


def _plain(text, encoding):
    """
    @return: C{text} encoded, to be sent as plain MSDP bytes.
    @raise ValueError: when it holds NUL or one of MSDP's structure bytes.
    """
    if _RESERVED.search(text):
        raise ValueError("text holds a byte MSDP reserves")
    return text.encode(encoding, "replace")
