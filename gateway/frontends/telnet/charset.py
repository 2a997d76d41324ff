"""
CHARSET (RFC 2066): agreeing on UTF-8 with clients that can say so.

A client's names are matched against a fixed set (UTF-8 and the listener's
fallback encoding) by their normalised spelling; they never reach
L{codecs.lookup}, whose cache would keep every unknown name for good.
"""

import codecs
from encodings import normalize_encoding
from encodings.aliases import aliases

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import CHARSET

REQUEST, ACCEPTED, REJECTED = b"\x01", b"\x02", b"\x03"
_TTABLE = b"[TTABLE]"

MAX_NAMES = 32
"""
How many names of one request are looked at; the rest are ignored.
"""

MAX_NAME_BYTES = 40
"""
A longer name is no character set anyone supports, and is ignored.
"""

MAX_REQUESTS = 8
"""
How many client requests one connection gets answered; later ones are
rejected unread.
"""


def canonical(name):
    """
    The codec module name of the character set spelt C{name} (text), going
    by the standard alias table only: C{"UTF8"}, C{"utf-8"} and C{"U8"}
    are all C{"utf_8"}.  An unknown name comes back normalised.

    @rtype: L{str}
    """
    normalised = normalize_encoding(name).lower()
    return aliases.get(normalised, normalised)


class Charset(OptionHandler):
    """
    The server offers C{WILL CHARSET} and, once the client agrees, asks for
    UTF-8.  Until the client accepts (and if it never answers or refuses)
    the listener's fallback encoding stays in force: nothing waits on the
    answer.  A client may also ask first (C{WILL CHARSET}); then the server
    accepts UTF-8 or the fallback from the client's list, or rejects it.
    """

    __slots__ = ("_asked", "_requests")

    option = CHARSET
    sides = frozenset([True, False])

    def __init__(self, frontend):
        super().__init__(frontend)
        self._asked = False
        self._requests = 0

    def enabled(self, local):
        if local:
            self._asked = True
            self.send(REQUEST + b";UTF-8")

    def received(self, data):
        kind, rest = data[:1], data[1:]
        if kind == ACCEPTED and self._asked:
            self._asked = False
            if _readable(rest) and canonical(rest.decode("ascii")) == "utf_8":
                self.frontend.set_encoding("utf-8")
                self.frontend.changed()
        elif kind == REJECTED and self._asked:
            self._asked = False
            self.log.debug("Client refused UTF-8; keeping {encoding}", encoding=self.frontend.encoding)
        elif kind == REQUEST:
            self._requests += 1
            self._answer(rest)
        else:
            super().received(data)

    def _answer(self, offer):
        """
        Answer the client's REQUEST: RFC 2066 has the server reject it
        while its own request is outstanding, and this one rejects it
        after L{MAX_REQUESTS}.
        """
        chosen = None
        if not self._asked and self._requests <= MAX_REQUESTS:
            chosen = self._choose(offer)
        if chosen is None:
            self.send(REJECTED)
            return
        name, codec = chosen
        self.send(ACCEPTED + name)
        self.frontend.set_encoding(codec)
        self.frontend.changed()

    def _choose(self, offer):
        """
        The name in C{offer} to accept, with the codec it stands for:
        UTF-8 if offered, else the fallback encoding if offered, else
        L{None}.
        """
        if offer.startswith(_TTABLE):
            offer = offer[len(_TTABLE) + 1:]
        separator = offer[:1]
        if not separator:
            return None
        fallback = codecs.lookup(self.frontend.settings.encoding).name
        supported = {canonical("utf-8"): "utf-8", canonical(fallback): fallback}
        chosen = None
        for name in offer[1:].split(separator, MAX_NAMES)[:MAX_NAMES]:
            if not _readable(name):
                continue
            codec = supported.get(canonical(name.decode("ascii")))
            if codec == "utf-8":
                return name, codec
            if codec is not None and chosen is None:
                chosen = name, codec
        return chosen


def _readable(name):
    """
    Whether C{name} (bytes) could be a character set's name: printable
    ASCII of at most L{MAX_NAME_BYTES}.
    """
    return 0 < len(name) <= MAX_NAME_BYTES and name.isascii() and name.decode("ascii").isprintable()
