"""
What a core says about itself: L{gateway.interfaces.IGatewayCore.status}.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CoreStatus:
    """
    The server's status at one moment.

    @ivar name: the server's name (C{server.name}).
    @ivar host_name: the name players reach it by (C{server.host_name}).
    @ivar started_at: when the core started, in seconds since the epoch.
    @ivar uptime: seconds since then.
    @ivar players: protocol name (C{"telnet"}, C{"ssh"}, ...) to how many
        players are online over it; protocols nobody uses are left out.
    @ivar listing: the operator's own fields for MUD lists (the C{[mssp]}
        table), name to a L{str} or a L{list} of them.
    """

    name: str
    host_name: str
    started_at: float
    uptime: float
    players: dict = field(default_factory=dict)
    listing: dict = field(default_factory=dict)

    @property
    def online(self):
        """
        How many players are online, over every protocol.
        """
        return sum(self.players.values())
