"""
The client's address and scheme as an HTTP reverse proxy (nginx, Caddy,
HAProxy in HTTP mode) reports them in a request it forwards:
C{X-Forwarded-For} and C{X-Forwarded-Proto}, or the C{Forwarded} header
of RFC 7239 (C{for=...;proto=...}), whichever the listener is told its
proxies write.

Each proxy on the way appends the address it received the request from,
so the client is the right-most address that is not itself a trusted
proxy: whatever a client writes into the header itself stays to the left
of it, and is never read, however malformed.  Only a listener's
C{trusted_proxies} are asked (see L{gateway.frontends.websocket}).
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

#: One C{name=value} pair of a C{Forwarded} element and what ends it.
_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)=("(?:[^"\\]|\\.)*"|[^\s,;"]*)\s*(;|$)')

_SCHEMES = {"https": True, "wss": True, "http": False, "ws": False}


class MalformedHeader(ValueError):
    """
    A forwarding header that cannot be read; its text says why.
    """


@dataclass(frozen=True)
class Forwarding:
    """
    What a trusted proxy says about the client it forwards.

    @ivar address: the client's L{ipaddress.IPv4Address} or
        L{ipaddress.IPv6Address}, or L{None} when the headers name none (or
        only C{unknown}, an obfuscated name or something unreadable).
    @ivar secure: whether the client reached the proxy over TLS
        (C{proto=https}), or L{None} when the headers do not say (or say
        something unreadable).
    @ivar problems: why parts of the headers were ignored, for the log.
    """

    address: Optional[object] = None
    secure: Optional[bool] = None
    problems: tuple = ()

    def peer(self):
        """
        The client's address as L{gateway.core.capabilities.Capabilities.peer}
        holds an address without a port: C{"203.0.113.5"} or
        C{"[2001:db8::1]"}.
        """
        return str(self.address) if self.address.version == 4 else f"[{self.address}]"


def forwarding(headers, trusted, header):
    """
    What the forwarding headers of a request say about its client.

    Entries are read from the right and no further than the client's, so
    what a client wrote into the header itself, however malformed, is
    never read.  The address and the scheme are read apart: one that
    cannot be read is left out (and said in C{problems}), the other kept.

    @param headers: the request's headers, lower-case names to values
        (repeated headers joined with commas).
    @param trusted: the listener's trusted proxies, a
        L{gateway.core.throttle.Trusted}.
    @param header: the header the proxies write, C{"x-forwarded-for"}
        (with C{X-Forwarded-Proto}) or C{"forwarded"}; the other is
        ignored, as a client may have written it.
    @rtype: L{Forwarding}
    """
    if header == "forwarded":
        return _rfc_7239(headers.get("forwarded", ""), trusted)
    return _x_forwarded(headers.get("x-forwarded-for", ""), headers.get("x-forwarded-proto", ""), trusted)


def _rfc_7239(value, trusted):
    """
    L{forwarding} from a C{Forwarded} header: the client's element names
    its address (C{for=}) and scheme (C{proto=}).
    """
    # Split at every comma: the entries of trusted proxies hold none, and
    # a client's unbalanced quote must not run into them.
    elements = value.split(",") if value.strip() else []
    pairs = {}

    def address_at(index):
        pairs[index] = _pairs(elements[index])
        return _node(pairs[index]["for"], "Forwarded") if "for" in pairs[index] else None

    if not elements:
        return Forwarding()
    try:
        index, address = _client(len(elements), address_at, trusted)
    except MalformedHeader as e:
        return Forwarding(problems=(str(e),))
    proto = pairs[index].get("proto")
    try:
        return Forwarding(address, None if proto is None else _scheme(proto))
    except MalformedHeader as e:
        return Forwarding(address, problems=(str(e),))


def _x_forwarded(addresses, schemes, trusted):
    """
    L{forwarding} from C{X-Forwarded-For} and C{X-Forwarded-Proto}: one
    scheme for the request, or one for each address.
    """
    nodes, protos = _list(addresses), _list(schemes)
    problems, index, address, secure = [], None, None, None
    if nodes:
        try:
            index, address = _client(len(nodes), lambda index: _node(nodes[index], "X-Forwarded-For"), trusted)
        except MalformedHeader as e:
            problems.append(str(e))
    if protos:
        try:
            if len(protos) > 1 and (len(protos) != len(nodes) or index is None):
                raise MalformedHeader(f"X-Forwarded-Proto lists {len(protos)} schemes for {len(nodes)} addresses")
            secure = _scheme(protos[index if len(protos) > 1 else 0])
        except MalformedHeader as e:
            problems.append(str(e))
    return Forwarding(address, secure, tuple(problems))


def _list(value):
    """
    The items of a comma-separated header value.
    """
    return [item.strip() for item in value.split(",")] if value.strip() else []


def _pairs(element):
    """
    The pairs of a C{Forwarded} element: lower-case names to unquoted
    values.

    @raise MalformedHeader: when it is not a list of pairs.
    """
    pairs, position = {}, 0
    while position < len(element) and element[position:].strip():
        match = _PAIR.match(element, position)
        if match is None:
            raise MalformedHeader(f"Forwarded is not a list of name=value pairs at {element[position:][:40]!r}")
        name, raw, _ = match.groups()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        pairs[name.lower()] = raw
        position = match.end()
    return pairs


def _client(count, address_at, trusted):
    """
    The client among the addresses a request passed: the right-most that
    is not a trusted proxy (the left-most when all are).

    @param count: how many entries the header has.
    @param address_at: reads the address of an entry by its index: an
        L{ipaddress} address, or L{None} for one that is missing,
        C{unknown} or an obfuscated name.
    @return: C{(index, address)} of the client.
    @raise MalformedHeader: when an entry read cannot be.
    """
    for index in range(count - 1, -1, -1):
        address = address_at(index)
        if address is None or str(address) not in trusted:
            return index, address
    return 0, address_at(0)


def _node(text, header):
    """
    The IP address of a node as a header writes it: C{203.0.113.5},
    C{203.0.113.5:4242}, C{[2001:db8::1]}, C{[2001:db8::1]:4242} or a bare
    IPv6 address; L{None} for C{unknown} and obfuscated names
    (C{_hidden}).

    @raise MalformedHeader: for anything else.
    """
    if text.lower() == "unknown" or text.startswith("_"):
        return None
    host = text
    if text.startswith("["):
        host, bracket, port = text[1:].partition("]")
        if not bracket or (port and not re.fullmatch(r":[0-9]{1,5}", port)):
            host = text
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not port.isdigit():
            host = text
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        raise MalformedHeader(f"{header} names {text[:60]!r}, which is not an IP address") from None


def _scheme(value):
    """
    Whether a C{proto} value is a TLS scheme.

    @raise MalformedHeader: when it is no web scheme.
    """
    try:
        return _SCHEMES[value.lower()]
    except KeyError:
        raise MalformedHeader(f"the forwarded scheme {value[:20]!r} is not http or https") from None
