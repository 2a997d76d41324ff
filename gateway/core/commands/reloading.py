"""
Reloading the game plugins from inside the game: C{reload} (admins only).
"""

from twisted.logger import Logger

from gateway.core.commands import Command
from gateway.errors import CommandError

log = Logger()


def reload_(session, args):
    if args:
        raise CommandError("Usage: reload")
    result = session.core.games.reload()
    log.info("Admin {admin} reloaded the game plugins: {result}", admin=session.account.name, result=result.message)
    session.send(result.message)


COMMANDS = (
    Command(
        "reload", reload_, "reload",
        "Admin: import the game plugins afresh; everyone stays connected and where they are.", admin=True,
    ),
)
