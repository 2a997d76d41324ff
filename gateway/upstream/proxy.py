"""
The HAProxy PROXY protocol (versions 1 and 2): the header a connection
starts with to tell the server the client's real address.

An upstream with C{client_address = "proxy-v1"} or C{"proxy-v2"} is sent
L{proxy_header} first on each session's connection; a listener with
C{trusted_proxies} reads one with L{read_header} (see
L{gateway.frontends.proxied}).

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
import re
import struct
from dataclasses import dataclass

from twisted.internet.address import IPv4Address, IPv6Address

#: The first 12 bytes of every version 2 header.
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"

#: How every version 1 header starts.
V1_PREFIX = b"PROXY "

#: The longest version 1 header, its CRLF included.
V1_MAX_LENGTH = 107

#: The longest version 2 header read: the addresses of a UNIX socket and
#: room for the type-length-value records HAProxy adds (ALPN, server name,
#: TLS details, unique id).
V2_MAX_LENGTH = 4096

_V1_TCP = re.compile(rb"PROXY (TCP4|TCP6) (\S+) (\S+) (\d{1,5}) (\d{1,5})\r\n\Z")

_V2_VERSION = 0x20
_V2_LOCAL = 0x00
_V2_PROXY = 0x01
_V2_UNSPEC = 0x00
_V2_TCP4 = 0x11
_V2_TCP6 = 0x21
_V2_UNIX = 0x31
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


class InvalidHeader(Exception):
    """
    What a connection started with is not a PROXY header; the message says
    why.
    """


@dataclass(frozen=True)
class Header:
    """
    A PROXY header read from the start of a connection.

    @ivar source: the client's address (an L{IPv4Address} or
        L{IPv6Address}), or L{None} when the header announces no address
        (C{UNKNOWN}, C{LOCAL}, a UNIX socket): the connection's own peer
        address stands.
    @ivar destination: the address the client connected to, or L{None}
        likewise.
    @ivar length: how many bytes the header took; what follows is the
        client's.
    """

    source: object
    destination: object
    length: int


def read_header(data):
    """
    Read the PROXY header (version 1 or 2) at the start of C{data}.

    @param data: what the connection sent so far.
    @type data: L{bytes}
    @return: a L{Header}, or L{None} when C{data} is the start of a header
        that is not complete yet.
    @raise InvalidHeader: when C{data} does not start with a header, or
        the header is malformed or longer than the specification (version
        1) or L{V2_MAX_LENGTH} (version 2) allows.
    """
    if data[:12] == V2_SIGNATURE[: len(data)]:
        return _read_v2(data)
    if data[:6] == V1_PREFIX[: len(data)]:
        return _read_v1(data)
    raise InvalidHeader("the connection did not start with a PROXY header")


def _read_v1(data):
    end = data.find(b"\r\n", 0, V1_MAX_LENGTH)
    if end < 0:
        if len(data) >= V1_MAX_LENGTH:
            raise InvalidHeader(f"PROXY version 1 header longer than {V1_MAX_LENGTH} bytes")
        return None
    line = data[: end + 2]
    if line.startswith(b"PROXY UNKNOWN"):
        return Header(None, None, len(line))
    match = _V1_TCP.match(line)
    if match is None:
        raise InvalidHeader("malformed PROXY version 1 header")
    family, source, destination, sport, dport = match.groups()
    version = 4 if family == b"TCP4" else 6
    return Header(_v1_address(version, source, sport), _v1_address(version, destination, dport), len(line))


def _v1_address(version, host, port):
    try:
        ip = ipaddress.ip_address(host.decode("ascii"))
    except ValueError:
        ip = None
    if ip is None or ip.version != version:
        raise InvalidHeader(f"PROXY version 1 header with a bad IPv{version} address")
    number = int(port)
    if number > 65535:
        raise InvalidHeader("PROXY version 1 header with a port over 65535")
    return _address(ip, number)


def _address(ip, port):
    """
    The Twisted address of C{ip} and C{port}: an L{IPv4Address} for an
    IPv4 or IPv4-mapped IPv6 address, else an L{IPv6Address}.
    """
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    kind = IPv4Address if ip.version == 4 else IPv6Address
    return kind("TCP", str(ip), port)


def _read_v2(data):
    if len(data) < _V2_FIXED.size:
        return None
    _, command, family, size = _V2_FIXED.unpack_from(data)
    if command >> 4 != 2:
        raise InvalidHeader(f"PROXY version 2 signature with version {command >> 4}")
    if command & 0x0F not in (_V2_LOCAL, _V2_PROXY):
        raise InvalidHeader(f"PROXY version 2 header with unknown command {command & 0x0F}")
    length = _V2_FIXED.size + size
    if length > V2_MAX_LENGTH:
        raise InvalidHeader(f"PROXY version 2 header of {length} bytes, over {V2_MAX_LENGTH}")
    if len(data) < length:
        return None
    if command & 0x0F == _V2_LOCAL or family in (_V2_UNSPEC, _V2_UNIX):
        return Header(None, None, length)
    if family == _V2_TCP4:
        width = 4
    elif family == _V2_TCP6:
        width = 16
    else:
        raise InvalidHeader(f"PROXY version 2 header with unsupported address family 0x{family:02x}")
    if size < 2 * width + 4:
        raise InvalidHeader("PROXY version 2 header too short for its addresses")
    body = data[_V2_FIXED.size : length]
    source = ipaddress.ip_address(body[:width])
    destination = ipaddress.ip_address(body[width : 2 * width])
    sport, dport = struct.unpack_from("!HH", body, 2 * width)
    return Header(_address(source, sport), _address(destination, dport), length)
