"""
What the core knows about a client: a small record the frontend fills in.
"""

from dataclasses import dataclass

from gateway.core import markup


@dataclass
class Capabilities:
    """
    @ivar protocol: the frontend's name as players see it in C{who}
        (C{"telnet"}, C{"ssh"}, ...).
    @ivar secure: whether the connection is encrypted.
    @ivar width: terminal columns.
    @ivar height: terminal rows.
    @ivar ansi: whether the client renders ANSI colour.
    @ivar utf8: whether the client takes UTF-8.
    @ivar peer: the client's address as text, for logs.
    @ivar client: the client program's name when it said so, else C{""}.
    @ivar certificate: the SHA-256 fingerprint of the client's TLS
        certificate (see L{gateway.auth.fingerprints}), else C{""}.
    @ivar client_version: the client program's version when it said so.
    @ivar terminal: the terminal type the client reported, else C{""}.
    @ivar xterm256: whether the client renders the xterm 256 colours.
    @ivar truecolor: whether the client renders 24-bit colour.
    @ivar screen_reader: whether the player uses a screen reader (text is
        then not folded to the width, and colour is left out).
    @ivar structured: whether the client takes structured messages
        (L{gateway.interfaces.IStructuredTransport.send_data}).
    @ivar names_pending: whether the client is still saying its names
        (a telnet client's TTYPE cycle: L{client}, L{terminal} and MTTS
        flags may change soon).
    @ivar laid_out: whether the text the session is sent is laid out by
        its author already and so is not folded: set by the core relaying
        a game (L{gateway.upstream.core.UpstreamCore}), which lays out its
        own text for the width it is told through NAWS, so that players see
        it as they would connected to the game directly.
    """

    protocol: str
    secure: bool = False
    width: int = 80
    height: int = 24
    ansi: bool = False
    utf8: bool = True
    peer: str = ""
    client: str = ""
    certificate: str = ""
    client_version: str = ""
    terminal: str = ""
    xterm256: bool = False
    truecolor: bool = False
    screen_reader: bool = False
    structured: bool = False
    names_pending: bool = False
    laid_out: bool = False

    @property
    def host(self):
        """
        The host part of L{peer}: what per-address limits count.  It
        follows L{peer}, which a frontend may update (a player relayed by a
        trusted proxy).
        """
        return host_from_peer(self.peer)

    def colour_level(self):
        """
        The richest colour this client renders, for L{markup.render}.
        """
        if not self.ansi or self.screen_reader:
            return markup.NO_COLOUR
        if self.truecolor:
            return markup.TRUECOLOR
        if self.xterm256:
            return markup.XTERM_256
        return markup.ANSI_16

    def wrap_width(self):
        """
        The width to fold text at: the terminal's, or C{0} (no folding) for
        screen readers, which read a folded sentence as two, and for text
        laid out already (L{laid_out}).
        """
        return 0 if self.screen_reader or self.laid_out else self.width


def host_from_peer(peer):
    """
    The host part of a peer description as
    L{gateway.frontends.addresses.describe} writes it: C{"192.0.2.5:4242"}
    gives C{"192.0.2.5"}, C{"[2001:db8::1]:22"} and C{"[2001:db8::1]"}
    give C{"2001:db8::1"}; anything else (C{"unix"}, an address without a
    port) is its own host.

    @type peer: L{str}
    @rtype: L{str}
    """
    if peer.startswith("["):
        host, bracket, _ = peer[1:].partition("]")
        return host if bracket else peer
    host, colon, port = peer.rpartition(":")
    return host if colon and port.isdigit() and ":" not in host else peer
