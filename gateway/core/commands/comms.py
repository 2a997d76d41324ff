"""
Talking: C{say}, C{emote}, C{tell}.
"""

from gateway.core.commands import Command
from gateway.errors import CommandError


def say(session, args):
    if not args:
        raise CommandError("Say what? Usage: say <text>")
    session.core.world.tell_room(session.room, f'{session.account.name} says, "{args}"', exclude=session)
    session.send(f'You say, "{args}"')


def emote(session, args):
    if not args:
        raise CommandError("Emote what? Usage: emote <action>")
    session.core.world.tell_room(session.room, f"{session.account.name} {args}")


def tell(session, args):
    name, _, text = args.partition(" ")
    text = text.strip()
    if not name or not text:
        raise CommandError("Usage: tell <name> <text>")
    target = session.core.world.find_online(name)
    if target is None:
        raise CommandError(f"Nobody called {name} is online.")
    if target is session:
        raise CommandError("Talking to yourself? Try 'say' instead.")
    target.send(f'{session.account.name} tells you, "{text}"')
    session.send(f'You tell {target.account.name}, "{text}"')


COMMANDS = (
    Command("say", say, "say <text>", "Say something to everyone in the room. Shortcut: 'text", ()),
    Command("emote", emote, "emote <action>", "Show an action, e.g. 'emote waves'. Shortcut: :waves", ("me",)),
    Command("tell", tell, "tell <name> <text>", "Say something privately to one player anywhere.", ("whisper",)),
)
