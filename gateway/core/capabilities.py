"""
What the core knows about a client: a small record the frontend fills in.
"""

from dataclasses import dataclass


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
    @ivar host: the host part of the client's address (what per-address
        limits count); taken from L{peer} when the frontend leaves it empty.
    @ivar client: the client program's name when it said so, else C{""}.
    """

    protocol: str
    secure: bool = False
    width: int = 80
    height: int = 24
    ansi: bool = False
    utf8: bool = True
    peer: str = ""
    client: str = ""
    host: str = ""

    def __post_init__(self):
        if not self.host:
            self.host = host_from_peer(self.peer)


def host_from_peer(peer):
    """
    The host part of a peer description as
    L{gateway.frontends.addresses.describe} writes it: C{"192.0.2.5:4242"}
    gives C{"192.0.2.5"}, C{"[2001:db8::1]:22"} gives C{"2001:db8::1"};
    anything else (C{"unix"}) is its own host.

    @type peer: L{str}
    @rtype: L{str}
    """
    if peer.startswith("["):
        host, bracket, _ = peer[1:].partition("]")
        return host if bracket else peer
    host, colon, port = peer.rpartition(":")
    return host if colon and port.isdigit() and ":" not in host else peer
