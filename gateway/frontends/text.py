"""
Turning the core's text into bytes for line-oriented clients.
"""

from functools import lru_cache

from gateway.core import markup


@lru_cache(maxsize=1024)
def encode_line(text, encoding="utf-8", newline=True, width=0, colours=markup.NO_COLOUR):
    """
    Encode core text for the wire: long lines folded at C{width}, the
    colour markup (L{gateway.core.markup}) rendered for C{colours} or
    stripped, lines joined with CR LF, characters the encoding lacks
    replaced.  Cached, so a broadcast renders each distinct text once per
    distinct width, colour level and encoding however many clients
    receive it.

    @type text: L{str}
    @param newline: whether to end with CR LF (C{False} for prompts).
    @param width: the client's columns; C{0} for no folding.
    @param colours: the client's colour level, from
        L{gateway.core.capabilities.Capabilities.colour_level}.
    @rtype: L{bytes}
    """
    if width:
        text = markup.wrap(text, width)
    wire = markup.render(text, colours).replace("\r\n", "\n").replace("\n", "\r\n")
    if newline:
        wire += "\r\n"
    return wire.encode(encoding, "replace")


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
