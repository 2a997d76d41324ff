"""
Turning the core's text into bytes for line-oriented clients.
"""

from functools import lru_cache


#: Texts up to this many characters are cached by L{encode_line}.  A
#: broadcast line is short; a long text (a room listing everyone in it) is
#: usually sent once, and caching it would only hold on to memory.
CACHED_LENGTH = 400


def encode_line(text, encoding="utf-8", newline=True):
    """
    Encode core text for the wire: lines joined with CR LF, characters the
    encoding lacks replaced.  Texts up to L{CACHED_LENGTH} characters are
    cached, so a broadcast renders each distinct text once however many
    clients receive it.

    @type text: L{str}
    @param newline: whether to end with CR LF (C{False} for prompts).
    @rtype: L{bytes}
    """
    if len(text) > CACHED_LENGTH:
        return _encode(text, encoding, newline)
    return _encode_cached(text, encoding, newline)


def _encode(text, encoding, newline):
    wire = text.replace("\r\n", "\n").replace("\n", "\r\n")
    if newline:
        wire += "\r\n"
    return wire.encode(encoding, "replace")


_encode_cached = lru_cache(maxsize=1024)(_encode)


def decode_line(line, encoding="utf-8"):
    """
    Decode one received line; undecodable bytes become U+FFFD and control
    characters other than tab are dropped, so nothing a client sends can
    inject terminal escapes into other players' screens.

    @type line: L{bytes}
    @rtype: L{str}
    """
    text = line.decode(encoding, "replace")
    if text.isprintable():
        return text
    return "".join(c for c in text if c.isprintable() or c == "\t").replace("\t", " ")
