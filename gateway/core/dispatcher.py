"""
Command lookup: one line of input to one handler call.
"""

from gateway.core.markup import escape
from gateway.errors import CommandError

#: Short forms players type for common exits.
_EXIT_ABBREVIATIONS = {
    "n": "north", "s": "south", "e": "east", "w": "west",
    "u": "up", "d": "down", "ne": "northeast", "nw": "northwest",
    "se": "southeast", "sw": "southwest",
}

#: Leading punctuation that stands for a command, as MUD players expect.
_PREFIXES = {"'": "say", '"': "say", ":": "emote"}


class Dispatcher:
    """
    Finds the command for a line and calls its handler.

    Handlers are called as C{handler(session, args)} and may return a value,
    a L{Deferred}, or be C{async def}; the session runs them one at a time
    and reports their failures.  An exit's name alone runs the C{go}
    command, when there is one.

    @ivar commands: name to L{gateway.core.commands.Command}, aliases
        included.
    """

    def __init__(self, commands):
        """
        @param commands: an iterable of L{gateway.core.commands.Command}.
        """
        self.commands = {}
        self.listed = []
        for command in commands:
            self.listed.append(command)
            for name in (command.name,) + command.aliases:
                if name in self.commands:
                    raise ValueError(f"two commands are called {name!r}")
                self.commands[name] = command

    def dispatch(self, session, line):
        """
        Run the command on C{line} for C{session}.

        @raise CommandError: for an unknown command.
        @return: whatever the handler returns.
        """
        line = line.strip()
        if not line:
            return None
        if line[0] in _PREFIXES:
            name, args = _PREFIXES[line[0]], line[1:]
        else:
            name, _, args = line.partition(" ")
            name = name.lower()
        command = self.commands.get(name)
        if command is not None and command.allowed(session):
            return command.handler(session, args.strip())
        exits = session.core.world.rooms[session.room].exits
        exit_name = _EXIT_ABBREVIATIONS.get(name, name)
        go = self.commands.get("go")
        if go is not None and not args and exit_name in exits:
            return go.handler(session, exit_name)
        raise CommandError(f"Unknown command '{escape(name)}'. Type 'help' for the list of commands.")
