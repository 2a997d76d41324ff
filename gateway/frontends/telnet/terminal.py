"""
What the client says about its terminal: its size (NAWS, RFC 1073) and its
type (TTYPE, RFC 1091, with the MUD Terminal Type Standard cycle).
"""

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import NAWS, TTYPE

#: The widest and tallest terminal believed; larger reports are capped.
MAX_SIZE = 1000

IS, SEND = b"\x00", b"\x01"

# MTTS bits (https://tintin.mudhalla.net/protocols/mtts/).
MTTS_ANSI, MTTS_UTF8, MTTS_256, MTTS_SCREEN_READER, MTTS_TRUECOLOR = 1, 4, 8, 64, 256

#: Terminal type words that mean the terminal renders ANSI colour.
_ANSI_TERMINALS = ("ANSI", "XTERM", "VT100", "VT102", "VT220", "LINUX", "SCREEN", "TMUX", "RXVT", "PUTTY", "COLOR")

#: How long a terminal type or client name may be.
MAX_NAME = 64


def clean_name(data):
    """
    A name the client sent, as printable ASCII of bounded length.

    @type data: L{bytes}
    @rtype: L{str}
    """
    text = data.decode("ascii", "replace")
    return "".join(c for c in text if c.isprintable())[:MAX_NAME].strip()


class WindowSize(OptionHandler):
    """
    NAWS: the client reports its columns and rows, now and on every resize.
    """

    __slots__ = ()

    option = NAWS
    offer = "do"
    sides = frozenset([False])

    def received(self, data):
        if len(data) != 4:
            super().received(data)
            return
        width, height = int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")
        caps = self.frontend.capabilities
        # Zero means "unknown" (RFC 1073): keep what we had.
        if width:
            caps.width = min(width, MAX_SIZE)
        if height:
            caps.height = min(height, MAX_SIZE)
        self.frontend.changed()


class TerminalType(OptionHandler):
    """
    TTYPE with the MTTS cycle: the first answer names the client, the
    second the terminal, the third is C{"MTTS <bits>"}.  A client that
    answers the same twice has no more to say; one without MTTS names its
    terminal first.  At most three requests are sent.  The client's
    C{names_pending} capability is on from the connection's start until
    the cycle ends.
    """

    __slots__ = ("replies", "_requests")

    option = TTYPE
    offer = "do"
    sides = frozenset([False])
    MAX_REQUESTS = 3

    def __init__(self, frontend):
        super().__init__(frontend)
        self.replies = []
        self._requests = 0
        frontend.capabilities.names_pending = True

    def enabled(self, local):
        self._request()

    def _request(self):
        self._requests += 1
        self.send(SEND)

    def received(self, data):
        if data[:1] != IS or len(self.replies) >= self._requests:
            super().received(data)
            return
        value = clean_name(data[1:])
        previous = self.replies[-1] if self.replies else None
        self.replies.append(value)
        caps = self.frontend.capabilities
        word, _, bits = value.upper().partition(" ")
        if word == "MTTS" and bits.isdigit():
            apply_mtts(self.frontend, int(bits))
            caps.names_pending = False
        elif value != previous:
            if len(self.replies) == 2:
                # Two different answers: the first was the client's name.
                caps.client = caps.client or previous
            caps.terminal = value
            self._apply_terminal(value.upper())
            if self._requests < self.MAX_REQUESTS:
                self._request()
            else:
                caps.names_pending = False
        else:
            # The same answer twice: the client has no more to say.
            caps.names_pending = False
        self.frontend.changed()

    def _apply_terminal(self, terminal):
        caps = self.frontend.capabilities
        if any(word in terminal for word in _ANSI_TERMINALS):
            caps.ansi = True
        if "256COLOR" in terminal:
            caps.xterm256 = True
        if "TRUECOLOR" in terminal or "DIRECT" in terminal:
            caps.truecolor = True


def apply_mtts(frontend, bits):
    """
    Set the capabilities from an MTTS bit vector (from TTYPE or the MNES
    C{MTTS} variable).
    """
    caps = frontend.capabilities
    caps.ansi = bool(bits & MTTS_ANSI)
    caps.xterm256 = bool(bits & MTTS_256)
    caps.truecolor = bool(bits & MTTS_TRUECOLOR)
    caps.screen_reader = bool(bits & MTTS_SCREEN_READER)
    if bits & MTTS_UTF8:
        frontend.set_encoding("utf-8")
