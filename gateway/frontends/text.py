"""
Turning the core's text into bytes for line-oriented clients.
"""

import json
import math
from functools import lru_cache

from gateway.core import markup


#: Texts up to this many characters are cached by L{encode_line}.  A
#: broadcast line is short; a long text (a room listing everyone in it) is
#: usually sent once, and caching it would only hold on to memory.
CACHED_LENGTH = 400


def encode_line(text, encoding="utf-8", newline=True, width=0, colours=markup.NO_COLOUR):
    """
    Encode core text for the wire: long lines folded at C{width}, the
    colour markup (L{gateway.core.markup}) rendered for C{colours} or
    stripped, lines joined with CR LF, characters the encoding lacks
    replaced.  Texts up to L{CACHED_LENGTH} characters are cached, so a
    broadcast renders each distinct text once per distinct width, colour
    level and encoding however many clients receive it.

    @type text: L{str}
    @param newline: whether to end with CR LF (C{False} for prompts).
    @param width: the client's columns; C{0} for no folding.
    @param colours: the client's colour level, from
        L{gateway.core.capabilities.Capabilities.colour_level}.
    @rtype: L{bytes}
    """
    if len(text) > CACHED_LENGTH:
        return _encode(text, encoding, newline, width, colours)
    return _encode_cached(text, encoding, newline, width, colours)


def _encode(text, encoding, newline, width, colours):
    if width:
        text = markup.wrap(text, width)
    # Line ends are made CR LF after encoding, on bytes, which is quicker;
    # the encoding is ASCII-compatible (see L{gateway.config}).
    wire = markup.render(text, colours).encode(encoding, "replace")
    if b"\r" in wire:
        wire = wire.replace(b"\r\n", b"\n")
    wire = wire.replace(b"\n", b"\r\n")
    if newline:
        wire += b"\r\n"
    return wire


_encode_cached = lru_cache(maxsize=1024)(_encode)
encode_line.cache_info = _encode_cached.cache_info
encode_line.cache_clear = _encode_cached.cache_clear


def decode_line(line, encoding="utf-8"):
    """
    Decode one received line; undecodable bytes become U+FFFD and control
    characters other than tab are dropped, so nothing a client sends can
    inject terminal escapes into other players' screens.

    @type line: L{bytes}
    @rtype: L{str}
    """
    return clean_text(line.decode(encoding, "replace"))


def clean_text(text):
    """
    Drop control characters other than tab (which becomes a space) from
    received text, for frontends whose input arrives already decoded.

    @type text: L{str}
    @rtype: L{str}
    """
    if text.isprintable():
        return text
    return "".join(c for c in text if c.isprintable() or c == "\t").replace("\t", " ")


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:20]} is too large a number")
    return number


def strict_json(text):
    """
    Parse JSON as RFC 8259 defines it: no C{NaN} or C{Infinity}, no number
    too large for a float, so that what is parsed can be sent on as JSON
    that every client and game can read.

    @type text: L{str} or L{bytes}
    @return: the value parsed.
    @raise ValueError: when C{text} is not such JSON.
    @raise RecursionError: when it nests too deeply.
    """
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
