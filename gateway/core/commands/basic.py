"""
Looking around and finding out: C{help}, C{look}, C{who}, C{quit}.
"""

from gateway.core.commands import Command
from gateway.core.durations import describe_duration
from gateway.core.markup import escape
from gateway.errors import CommandError


def help_(session, args):
    dispatcher = session.core.dispatcher
    if args:
        command = dispatcher.commands.get(args.lower())
        if command is None or not command.allowed(session):
            raise CommandError(f"There is no command '{escape(args)}'. Type 'help' for the list.")
        aliases = f" (also: {', '.join(command.aliases)})" if command.aliases else ""
        session.send(f"{command.usage}{aliases}\n  {command.summary}")
        return
    listed = [c for c in dispatcher.listed if c.allowed(session)]
    width = max(len(c.name) for c in listed)
    lines = [f"  {c.name.ljust(width)}  {c.summary}" for c in listed]
    session.send(
        "Commands:\n" + "\n".join(lines) + "\nExit names (north, n, up, ...) work as commands too. "
        "Type 'help <command>' for details."
    )


def look(session, args):
    if args:
        raise CommandError("Usage: look")
    world = session.core.world
    room = world.rooms[session.room]
    others = [s.account.name for s in world.occupants(room.id) if s is not session]
    exits = ", ".join(f"|g{name}|n" for name in room.exits) if room.exits else "none"
    lines = [f"|C{room.name}|n", room.description, f"Exits: {exits}"]
    if others:
        shown = others[: world.crowd]
        more = f" and {len(others) - len(shown)} more" if len(others) > len(shown) else ""
        lines.append(f"Here: {', '.join(shown)}{more}")
    session.send("\n".join(lines))
    session.send_data("Room.Info", {"id": room.id, "name": room.name, "exits": dict(room.exits), "players": others})


def who(session, args):
    if args:
        raise CommandError("Usage: who")
    online = session.core.world.online()
    now = session.core.clock.seconds()
    width = max((len(s.account.name) for s in online), default=0)
    # Everyone in the world: a lingering player counts, an account with
    # several connections attached counts once.
    count = len(online)
    lines = [f"{count} {'player' if count == 1 else 'players'} online:"]
    for other in online:
        if other.lingering is not None:
            via, state = "-", f"lingering {describe_duration(now - other.lingering.since)}"
        else:
            connections = other.connections()
            via = ", ".join(s.capabilities.protocol + (" (secure)" if s.capabilities.secure else "") for s in connections)
            state = f"idle {describe_duration(now - max(s.last_input_at for s in connections))}"
        lines.append(f"  {other.account.name.ljust(width)}  {via:<18} {state}")
    session.send("\n".join(lines))


def quit_(session, args):
    session.close("Goodbye.")


COMMANDS = (
    Command("help", help_, "help [command]", "List the commands, or explain one."),
    Command("look", look, "look", "Describe the room you are in and who is here.", ("l",)),
    Command("who", who, "who", "List who is online and how they are connected."),
    Command("quit", quit_, "quit", "Leave the world and disconnect.", ("logout",)),
)
