"""
The client's address and scheme as an HTTP reverse proxy (nginx, Caddy,
HAProxy in HTTP mode) reports them in a request it forwards:
C{X-Forwarded-For} and C{X-Forwarded-Proto}, or the C{Forwarded} header
of RFC 7239 (C{for=...;proto=...}), whichever the listener is told its
proxies write.

Each proxy on the way appends the address it received the request from,
so the client is the right-most address that is not itself a trusted
proxy: whatever a client writes into the header itself stays to the left
of it.  Only a listener's C{trusted_proxies} are asked (see
L{gateway.frontends.websocket}).
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

#: One C{name=value} pair of a C{Forwarded} element and what ends it.
_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)=("(?:[^"\\]|\\.)*"|[^\s,;"]*)\s*([,;]|$)')

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
        only C{unknown} or an obfuscated name).
    @ivar secure: whether the client reached the proxy over TLS
        (C{proto=https}), or L{None} when the headers do not say.
    """

    address: Optional[object] = None
    secure: Optional[bool] = None

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

    @param headers: the request's headers, lower-case names to values
        (repeated headers joined with commas).
    @param trusted: the listener's trusted proxies, a
        L{gateway.core.throttle.Trusted}.
    @param header: the header the proxies write, C{"x-forwarded-for"}
        (with C{X-Forwarded-Proto}) or C{"forwarded"}; the other is
        ignored, as a client may have written it.
    @rtype: L{Forwarding}
    @raise MalformedHeader: when a header read cannot be.
    """
    if header == "forwarded":
        if "forwarded" not in headers:
            return Forwarding()
        elements = _elements(headers["forwarded"])
        index, address = _client([element.get("for") for element in elements], trusted, "Forwarded")
        proto = elements[index].get("proto")
        return Forwarding(address, None if proto is None else _scheme(proto))
    protos = _list(headers.get("x-forwarded-proto", ""))
    nodes = _list(headers.get("x-forwarded-for", ""))
    index, address = _client(nodes, trusted, "X-Forwarded-For") if nodes else (None, None)
    if len(protos) > 1 and len(protos) != len(nodes):
        raise MalformedHeader(f"X-Forwarded-Proto lists {len(protos)} schemes for {len(nodes)} addresses")
    if not protos:
        return Forwarding(address)
    return Forwarding(address, _scheme(protos[index if len(protos) > 1 else 0]))


def _list(value):
    """
    The items of a comma-separated header value.
    """
    return [item.strip() for item in value.split(",")] if value.strip() else []


def _elements(value):
    """
    The elements of a C{Forwarded} header, each a L{dict} of its pairs with
    lower-case names and unquoted values.
    """
    elements, current, position = [], {}, 0
    while value[position:].strip():
        match = _PAIR.match(value, position)
        if match is None:
            raise MalformedHeader(f"Forwarded is not a list of name=value pairs at {value[position:][:40]!r}")
        name, raw, separator = match.groups()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        current[name.lower()] = raw
        position = match.end()
        if separator != ";":
            elements.append(current)
            current = {}
    if current:
        elements.append(current)
    if not elements:
        raise MalformedHeader("Forwarded is empty")
    return elements


def _client(nodes, trusted, header):
    """
    The client among the addresses a request passed: the right-most that
    is not a trusted proxy (the left-most when all are).

    @param nodes: the addresses as the header writes them, left to right;
        L{None} for an element without one.
    @return: C{(index, address)}: the client's index in C{nodes} and its
        address, or L{None} for an address that is missing, C{unknown} or
        an obfuscated name.
    """
    addresses = [None if node is None else _node(node, header) for node in nodes]
    index = 0
    for position in range(len(addresses) - 1, -1, -1):
        if addresses[position] is None or str(addresses[position]) not in trusted:
            index = position
            break
    return index, addresses[index]


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
