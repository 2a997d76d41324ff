"""
Describing peer addresses for people and logs.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress


def describe(address):
    """
    C{"203.0.113.5:4242"}, C{"[2001:db8::1]:4242"}, C{"unix"} or the
    address's repr for anything else.
    """
    if isinstance(address, IPv4Address):
        return f"{address.host}:{address.port}"
    if isinstance(address, IPv6Address):
        return f"[{address.host}]:{address.port}"
    if isinstance(address, UNIXAddress):
        return "unix"
    return repr(address)


def host_of(address):
    """
    The host part of an IP address, or the description of any other
    address (all UNIX-socket peers count as one host).
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        return address.host
    return describe(address)
