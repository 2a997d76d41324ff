"""
Moving between rooms: C{go <exit>} (exit names work on their own too).
"""

from gateway.core.commands import Command
from gateway.core.markup import escape
from gateway.errors import CommandError


async def go(session, args):
    world = session.core.world
    room = world.rooms[session.room]
    if not args:
        raise CommandError(f"Go where? Exits: {', '.join(room.exits) or 'none'}")
    target = room.exits.get(args.lower())
    if target is None:
        raise CommandError(f"You can't go '{escape(args)}' from here. Exits: {', '.join(room.exits) or 'none'}")
    await session.core.store.set_location(session.account.id, target)
    if session.closed:
        return
    name = session.account.name
    world.tell_room(room.id, f"{name} leaves {args.lower()}.", exclude=session)
    world.move(session, target)
    world.tell_room(target, f"{name} has arrived.", exclude=session)
    session.core.dispatcher.dispatch(session, "look")


COMMANDS = (Command("go", go, "go <exit>", "Walk through an exit; the exit's name alone works too.", ("walk",)),)
