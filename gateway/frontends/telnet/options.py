"""
A telnet listener's C{options} table, and its protocol factory.
"""

from dataclasses import dataclass

from twisted.internet.protocol import ServerFactory

from gateway.config import build_settings, networks, setting, text_encoding
from gateway.frontends.telnet.frontend import TelnetFrontend
from gateway.frontends.telnet.transport import GatewayTelnetTransport


def _not_negative(value):
    if value < 0:
        return "0 (off) or a number of seconds"


@dataclass(frozen=True)
class TelnetOptions:
    """
    The C{options} table of a telnet listener.

    @ivar encoding: the encoding for clients that do not agree to UTF-8
        through CHARSET, MTTS or MNES.
    @ivar mccp: whether to offer MCCP2 compression.
    @ivar gmcp: whether to offer GMCP.
    @ivar mssp: whether to offer MSSP to crawlers.
    @ivar keepalive: seconds between C{IAC NOP} keepalives, C{0} for none.
    @ivar nodelay: whether to set TCP_NODELAY: each write leaves at once
        instead of waiting (Nagle) for the client's delayed acknowledgement.
        Off by default: in busy rooms it costs up to 80 % more CPU per line
        (docs/benchmarks.md).
    @ivar trusted_proxies: addresses or networks of proxies whose MNES
        C{IPADDRESS} (the player's real address) is believed.
    """

    encoding: str = setting("utf-8", text_encoding)
    mccp: bool = setting(True)
    gmcp: bool = setting(True)
    mssp: bool = setting(True)
    keepalive: float = setting(0.0, _not_negative)
    nodelay: bool = setting(False)
    trusted_proxies: list = setting([], networks)


def build_factory(core, portal, options):
    """
    The protocol factory for a telnet listener (see
    L{gateway.interfaces.IFrontendPlugin.getFactory}).
    """
    settings = build_settings(TelnetOptions, options, "options")
    factory = ServerFactory()
    factory.protocol = lambda: GatewayTelnetTransport(TelnetFrontend, core, settings)
    return factory
