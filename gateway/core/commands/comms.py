"""
Talking: C{say}, C{emote}, C{tell}.
"""

from gateway.core.commands import Command
from gateway.core.markup import escape
from gateway.errors import CommandError


async def say(session, args):
    if not args:
        raise CommandError("Say what? Usage: say <text>")
    args = await session.core.games.said(session, args)
    if session.closed:
        return
    name = session.account.name
    session.core.world.tell_room(
        session.room, f'{name} says, "{escape(args)}"', exclude=session,
        data=_channel("say", name, f'{name} says, "{args}"'),
    )
    session.send(f'You say, "{escape(args)}"')
    session.send_data(*_channel("say", name, f'You say, "{args}"'))


def emote(session, args):
    if not args:
        raise CommandError("Emote what? Usage: emote <action>")
    name = session.account.name
    session.core.world.tell_room(session.room, f"{name} {escape(args)}", data=_channel("emote", name, f"{name} {args}"))


def tell(session, args):
    name, _, text = args.partition(" ")
    text = text.strip()
    if not name or not text:
        raise CommandError("Usage: tell <name> <text>")
    target = session.core.world.find_online(name)
    if target is None:
        raise CommandError(f"Nobody called {escape(name)} is online.")
    if target is session:
        raise CommandError("Talking to yourself? Try 'say' instead.")
    name = session.account.name
    target.send(f'{name} tells you, "{escape(text)}"')
    target.send_data(*_channel("tell", name, f'{name} tells you, "{text}"'))
    session.send(f'You tell {target.account.name}, "{escape(text)}"')
    session.send_data(*_channel("tell", name, f'You tell {target.account.name}, "{text}"'))
    if target.lingering is not None:
        session.send(f"({target.account.name}'s connection has dropped; they will see it when they come back.)")


def _channel(channel, talker, text):
    """
    The structured message for a line of talk, C{Comm.Channel.Text} as GMCP
    clients know it; C{text} is plain text, without markup.
    """
    return "Comm.Channel.Text", {"channel": channel, "talker": talker, "text": text}


COMMANDS = (
    Command("say", say, "say <text>", "Say something to everyone in the room. Shortcut: 'text", ()),
    Command("emote", emote, "emote <action>", "Show an action, e.g. 'emote waves'. Shortcut: :waves", ("me",)),
    Command("tell", tell, "tell <name> <text>", "Say something privately to one player anywhere.", ("whisper",)),
)
