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
    @ivar client: the client program's name when it said so, else C{""}.
    @ivar certificate: the SHA-256 fingerprint of the client's TLS
        certificate (see L{gateway.auth.fingerprints}), else C{""}.
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
