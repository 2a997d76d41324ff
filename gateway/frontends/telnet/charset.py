"""
CHARSET (RFC 2066): agreeing on UTF-8 with clients that can say so.
"""

import codecs

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import CHARSET

REQUEST, ACCEPTED, REJECTED = b"\x01", b"\x02", b"\x03"
_TTABLE = b"[TTABLE]"
_UTF8_NAMES = ("UTF-8", "UTF8")


class Charset(OptionHandler):
    """
    The server offers C{WILL CHARSET} and, once the client agrees, asks for
    UTF-8.  Until the client accepts (and if it never answers or refuses)
    the listener's fallback encoding stays in force: nothing waits on the
    answer.  A client may also ask first (C{WILL CHARSET}); then the server
    accepts UTF-8 or the fallback from the client's list, or rejects it.
    """

    __slots__ = ("_asked",)

    option = CHARSET
    sides = frozenset([True, False])

    def __init__(self, frontend):
        super().__init__(frontend)
        self._asked = False

    def enabled(self, local):
        if local:
            self._asked = True
            self.send(REQUEST + b";UTF-8")

    def received(self, data):
        kind, rest = data[:1], data[1:]
        if kind == ACCEPTED and self._asked:
            self._asked = False
            if rest.decode("ascii", "replace").upper() in _UTF8_NAMES:
                self.frontend.set_encoding("utf-8")
                self.frontend.changed()
        elif kind == REJECTED and self._asked:
            self._asked = False
            self.log.debug("Client refused UTF-8; keeping {encoding}", encoding=self.frontend.encoding)
        elif kind == REQUEST:
            self._answer(rest)
        else:
            super().received(data)

    def _answer(self, offer):
        """
        Answer the client's REQUEST: RFC 2066 has the server reject it
        while its own request is outstanding.
        """
        if offer.startswith(_TTABLE):
            offer = offer[len(_TTABLE) + 1:]
        names = offer[1:].split(offer[:1]) if offer[:1] else []
        chosen = None
        if not self._asked:
            fallback = codecs.lookup(self.frontend.settings.encoding).name
            for name in names:
                codec = _codec_name(name)
                if codec == "utf-8" or (chosen is None and codec == fallback):
                    chosen = name
                    if codec == "utf-8":
                        break
        if chosen is None:
            self.send(REJECTED)
            return
        self.send(ACCEPTED + chosen)
        self.frontend.set_encoding(chosen.decode("ascii"))
        self.frontend.changed()


def _codec_name(name):
    """
    Python's name for the character set C{name} (bytes), or L{None}.
    """
    try:
        return codecs.lookup(name.decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
