"""
Reloading the game plugins from inside the game: C{reload} (admins only).
"""

from gateway.core.commands import Command
from gateway.errors import CommandError


def reload_(session, args):
    if session.account.role != "admin":
        raise CommandError("Unknown command 'reload'. Type 'help' for the list of commands.")
    if args:
        raise CommandError("Usage: reload")
    session.send(session.core.games.reload().message)


COMMANDS = (
    Command(
        "reload", reload_, "reload",
        "Admins: import the game plugins afresh; everyone stays connected and where they are.",
    ),
)
