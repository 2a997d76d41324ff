"""
The HAProxy PROXY protocol (versions 1 and 2): the header a connection
starts with to tell the server the client's real address.

An upstream with C{client_address = "proxy-v1"} or C{"proxy-v2"} is sent
L{proxy_header} first on each session's connection.

Version 1 is one line of text::

    PROXY TCP4 192.0.2.7 198.51.100.1 41000 4000\\r\\n

Version 2 is binary: the 12-byte L{V2_SIGNATURE}, a version and command
byte, an address family and transport byte, a two-byte length, then the
addresses (4 or 16 bytes each) and ports, then optional type-length-value
records.  A connection whose addresses are not TCP over IP (a UNIX socket,
an unknown peer) is sent C{PROXY UNKNOWN} (version 1) or the C{LOCAL}
command (version 2): the server then uses the connection's own addresses.
"""

import ipaddress
import struct

from twisted.internet.address import IPv4Address, IPv6Address

#: The first 12 bytes of every version 2 header.
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"

_V2_VERSION = 0x20
_V2_LOCAL = 0x00
_V2_PROXY = 0x01
_V2_UNSPEC = 0x00
_V2_TCP4 = 0x11
_V2_TCP6 = 0x21
_V2_FIXED = struct.Struct("!12sBBH")


def proxy_header(version, source, destination):
    """
    The PROXY header announcing a connection from C{source} to
    C{destination}.

    Addresses of different families are both given as IPv6 (an IPv4
    address as C{::ffff:192.0.2.7}); an IPv4-mapped IPv6 address paired
    with an IPv4 one is given as IPv4.  A scope (C{fe80::1%eth0}) is left
    out: the header has no room for it.

    @param version: C{1} (text) or C{2} (binary).
    @param source: the client's address: an L{IPv4Address} or
        L{IPv6Address} of type C{"TCP"}; anything else (a
        L{twisted.internet.address.UNIXAddress}, L{None}) is announced as
        unknown.
    @param destination: the address the client connected to, likewise.
    @rtype: L{bytes}
    @raise ValueError: for a version other than 1 or 2.
    """
    if version not in (1, 2):
        raise ValueError(f"PROXY protocol version must be 1 or 2, not {version!r}")
    pair = _ip_pair(source, destination)
    if version == 1:
        if pair is None:
            return b"PROXY UNKNOWN\r\n"
        (src, sport), (dst, dport) = pair
        family = "TCP4" if src.version == 4 else "TCP6"
        return f"PROXY {family} {_text(src)} {_text(dst)} {sport} {dport}\r\n".encode("ascii")
    if pair is None:
        return _V2_FIXED.pack(V2_SIGNATURE, _V2_VERSION | _V2_LOCAL, _V2_UNSPEC, 0)
    (src, sport), (dst, dport) = pair
    body = src.packed + dst.packed + struct.pack("!HH", sport, dport)
    family = _V2_TCP4 if src.version == 4 else _V2_TCP6
    return _V2_FIXED.pack(V2_SIGNATURE, _V2_VERSION | _V2_PROXY, family, len(body)) + body


def _ip_pair(source, destination):
    """
    Both addresses as C{(ip, port)} of one family, or L{None} when either
    is not a TCP address over IP.
    """
    src, dst = _ip(source), _ip(destination)
    if src is None or dst is None:
        return None
    if src[0].version != dst[0].version:
        src, dst = _as_ipv6(src), _as_ipv6(dst)
    return src, dst


def _ip(address):
    """
    C{(ip, port)} for a TCP address over IP (IPv4-mapped IPv6 addresses as
    IPv4), else L{None}.
    """
    if not isinstance(address, (IPv4Address, IPv6Address)) or address.type != "TCP":
        return None
    try:
        ip = ipaddress.ip_address(address.host.partition("%")[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip, address.port


def _text(ip):
    """
    An address's text, an IPv4-mapped one as C{::ffff:192.0.2.7} whatever
    the Python version's own spelling.
    """
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def _as_ipv6(pair):
    ip, port = pair
    if ip.version == 4:
        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    return ip, port
