"""
The built-in commands, served as the game plugin C{core} (L{game}).  Each
is a L{Command}: a name, aliases, a one-line summary and usage for C{help},
and a handler C{handler(session, args)}.
"""

from dataclasses import dataclass
from typing import Callable, Tuple


@dataclass(frozen=True)
class Command:
    """
    @ivar name: what players type.
    @ivar handler: C{handler(session, args)}; plain, Deferred-returning or
        C{async def}.
    @ivar usage: the syntax, e.g. C{"tell <name> <text>"}.
    @ivar summary: one line for C{help}.
    @ivar aliases: other names for the same command.
    @ivar admin: whether only accounts with the admin role may run (and
        see) it; to anyone else it does not exist.
    """

    name: str
    handler: Callable
    usage: str
    summary: str
    aliases: Tuple[str, ...] = ()
    admin: bool = False

    def allowed(self, session):
        """
        Whether C{session}'s account may run (and see) this command.
        """
        return not self.admin or session.account.role == "admin"


def default_commands():
    """
    Every built-in command, in the order C{help} lists them.
    """
    from gateway.core.commands import account, admin, basic, cert, comms, keys, movement, reloading

    return (
        basic.COMMANDS + comms.COMMANDS + movement.COMMANDS + account.COMMANDS + keys.COMMANDS
        + cert.COMMANDS + reloading.COMMANDS + admin.COMMANDS
    )


def game():
    """
    The game plugin C{core}: the built-in commands (its C{say} runs the
    game plugins' C{said} hooks).

    @rtype: L{gateway.game.Game}
    """
    from gateway.game import Game

    return Game(default_commands())
