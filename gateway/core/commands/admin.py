"""
Commands for accounts with the admin role: C{wall}, C{kick}, C{shutdown},
C{stats}.  Others neither see them in C{help} nor can run them.  Each use
is written to the log with who did what.
"""

from twisted.logger import Logger

from gateway.core.commands import Command
from gateway.core.durations import describe_left
from gateway.core.markup import escape
from gateway.errors import CommandError
from gateway.logtext import loggable
from gateway.metrics import describe

log = Logger()

#: The longest countdown C{shutdown} takes, in seconds (a day).
MAX_COUNTDOWN = 86400

#: The countdown of a C{shutdown} without a number of seconds.
DEFAULT_COUNTDOWN = 60


def _audit(session, what, **fields):
    log.info("Admin {admin} " + what, admin=session.account.name, **fields)


def wall(session, args):
    if not args:
        raise CommandError("Usage: wall <text>")
    text = f"|Y[{session.account.name} to everyone]|n {escape(args)}"
    online = session.core.world.online()
    for other in online:
        other.send(text)
    _audit(session, "sent to {count} players: {text}", count=len(online), text=loggable(args))


def kick(session, args):
    name, _, reason = args.partition(" ")
    reason = reason.strip()
    if not name:
        raise CommandError("Usage: kick <name> [reason]")
    target = session.core.world.find_online(name)
    if target is None:
        raise CommandError(f"Nobody called {escape(name)} is online.")
    if target is session:
        raise CommandError("You cannot kick yourself; use 'quit'.")
    because = f": {reason}" if reason else "."
    target.close(f"You have been disconnected by {session.account.name}{because}")
    session.send(f"{target.account.name} has been disconnected.")
    _audit(session, "kicked {name} ({reason})", name=target.account.name, reason=loggable(reason) or "no reason")


def shutdown(session, args):
    countdown = session.core.countdown
    first, _, message = args.partition(" ")
    if first.lower() == "cancel":
        if not countdown.cancel():
            raise CommandError("No shutdown is counting down.")
        _audit(session, "cancelled the shutdown")
        return
    seconds = DEFAULT_COUNTDOWN
    if first.isdigit():
        seconds = int(first)
    elif first:
        message = args
    if seconds > MAX_COUNTDOWN:
        raise CommandError(f"At most {MAX_COUNTDOWN} seconds. Usage: shutdown [seconds] [message] | shutdown cancel")
    message = message.strip()
    _audit(session, "asked for a shutdown in {seconds} seconds ({reason})", seconds=seconds, reason=loggable(message))
    session.send(f"The server will shut down in {describe_left(seconds)}; 'shutdown cancel' stops the countdown.")
    countdown.start(seconds, message)


def stats(session, args):
    if args:
        raise CommandError("Usage: stats")
    metrics = session.core.metrics
    samples = [s for family in metrics.registry.collect() for s in family.samples]
    session.send("\n".join(describe(samples, metrics.clock.seconds())))


COMMANDS = (
    Command("wall", wall, "wall <text>", "Admin: say something to everyone online.", admin=True),
    Command("kick", kick, "kick <name> [reason]", "Admin: disconnect a player, telling them why.", admin=True),
    Command(
        "shutdown", shutdown, "shutdown [seconds] [message] | shutdown cancel",
        "Admin: stop the server after a countdown (60 seconds by default) with warnings.", admin=True,
    ),
    Command("stats", stats, "stats", "Admin: the server's key figures.", admin=True),
)
