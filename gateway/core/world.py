"""
The shared world: rooms loaded from a data file, who is online, and who is
where.
"""

import re
import tomllib
from dataclasses import dataclass
from typing import Dict

from gateway.errors import StartupError

_ROOM_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
_EXIT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_BLANK_LINE = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Room:
    """
    One room.

    @ivar exits: exit name to room id, in the order the file lists them.
    """

    id: str
    name: str
    description: str
    exits: Dict[str, str]


def paragraphs(text):
    """
    Read C{text} as paragraphs, the way a world file's descriptions are
    written: a blank line ends a paragraph, and the lines of a paragraph
    (hard-wrapped at whatever width its author used) are joined with
    single spaces.  Each paragraph is then one line, folded once to each
    client's width when it is sent.

    @return: the paragraphs, separated by a blank line.
    @rtype: L{str}
    """
    found = [" ".join(block.split()) for block in _BLANK_LINE.split(text)]
    return "\n\n".join(paragraph for paragraph in found if paragraph)


def load_rooms(path, extra=()):
    """
    Read and check a world file, and the room files of game plugins: the
    same format, whose C{start} is optional and ignored.  Exits may lead
    to a room of any of the files.

    @param extra: the paths of the game plugins' room files.
    @return: C{(rooms, start_room_id)} where C{rooms} maps id to L{Room}.
    @raise StartupError: naming the file and the problem.
    """
    rooms, start = _read_rooms(path)
    if start not in rooms:
        raise StartupError(f"{path}: start must name one of the rooms, not {start!r}")
    where = {room_id: path for room_id in rooms}
    for other in extra:
        more, _ = _read_rooms(other)
        for room_id, room in more.items():
            if room_id in where:
                raise StartupError(f"{other}: room {room_id!r} is already defined in {where[room_id]}")
            where[room_id] = other
            rooms[room_id] = room
    for room in rooms.values():
        for exit_name, target in room.exits.items():
            if target not in rooms:
                raise StartupError(
                    f"{where[room.id]}: rooms.{room.id}.exits.{exit_name} leads to unknown room {target!r}"
                )
    return rooms, start


def _read_rooms(path):
    """
    Read the rooms of one file, without checking where exits lead.

    @return: C{(rooms, start)}; C{start} as the file gives it.
    """
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise StartupError(f"{path}: cannot read world file: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        raise StartupError(f"{path}: world file is not valid TOML: {e}")

    def bad(message):
        return StartupError(f"{path}: {message}")

    tables = raw.get("rooms")
    if not isinstance(tables, dict) or not tables:
        raise bad("expected at least one [rooms.ID] table")
    rooms = {}
    for room_id, table in tables.items():
        where = f"rooms.{room_id}"
        if not _ROOM_ID.match(room_id):
            raise bad(f"room id {room_id!r} must be 1-64 of a-z, 0-9, '-', '_'")
        if not isinstance(table, dict):
            raise bad(f"{where} must be a table")
        unknown = set(table) - {"name", "description", "exits"}
        if unknown:
            raise bad(f"unknown key {where}.{sorted(unknown)[0]} (known: description, exits, name)")
        name, description = table.get("name"), table.get("description", "")
        exits = table.get("exits", {})
        if not isinstance(name, str) or not name.strip():
            raise bad(f"{where}.name must be a non-empty string")
        if not isinstance(description, str):
            raise bad(f"{where}.description must be a string")
        if not isinstance(exits, dict) or not all(isinstance(v, str) for v in exits.values()):
            raise bad(f"{where}.exits must be a table of exit name = room id")
        for exit_name in exits:
            if not _EXIT_NAME.match(exit_name):
                raise bad(f"{where}.exits: exit name {exit_name!r} must be lower-case letters, digits and '-'")
        rooms[room_id] = Room(room_id, name.strip(), paragraphs(description), dict(exits))
    return rooms, raw.get("start")


class World:
    """
    Rooms and the players in them.

    Each online player is represented by their L{gateway.core.session.Session};
    the world keeps them by lower-cased name and by room, and fans text out
    to rooms.

    @ivar moved: called as C{moved(session, previous_room_id)} after each
        L{move}; the game plugins' host (L{gateway.game.host.GameHost}) sets
        it to run their C{entered} hooks.
    """

    def __init__(self, rooms, start_room, crowd=100):
        """
        @param rooms: room id to L{Room}.
        @param start_room: the id of the room newcomers arrive in.
        @param crowd: how many people make a room a crowd (see L{announce}).
        """
        self.rooms = rooms
        self.start_room = start_room
        self.crowd = crowd
        self._online = {}
        self._occupants = {room_id: {} for room_id in rooms}
        self.moved = lambda session, previous: None

    def replace_rooms(self, rooms):
        """
        Serve a new set of rooms (game plugins were reloaded); everyone
        stays where they are.

        @param rooms: room id to L{Room}.
        @raise StartupError: naming the rooms someone is in that C{rooms}
            leaves out; nothing is changed then.
        """
        gone = sorted(room_id for room_id, people in self._occupants.items() if people and room_id not in rooms)
        if gone:
            raise StartupError(f"rooms with players in them would disappear: {', '.join(gone)}")
        self.rooms = rooms
        self._occupants = {room_id: self._occupants.get(room_id, {}) for room_id in rooms}

    def online(self):
        """
        The sessions of everyone online, ordered by name.
        """
        return sorted(self._online.values(), key=lambda s: s.account.name.lower())

    def find_online(self, name):
        """
        The session of the online player called C{name} (any case), or None.
        """
        return self._online.get(name.lower())

    def occupants(self, room_id):
        """
        The sessions in a room, in arrival order.
        """
        return list(self._occupants[room_id].values())

    def place_for(self, location):
        """
        The room a player with saved C{location} should appear in: that room
        if it still exists, else the start room.
        """
        return location if location in self.rooms else self.start_room

    def enter(self, session, room_id):
        """
        Bring a logged-in session into the world, in C{room_id}.
        """
        self._online[session.account.name.lower()] = session
        self._place(session, room_id)

    def leave(self, session):
        """
        Take a session out of the world (logout or disconnect).  A session
        that is not (or no longer) the one registered under its name is left
        alone, so a taken-over session cannot remove its successor.
        """
        key = session.account.name.lower()
        if self._online.get(key) is session:
            del self._online[key]
        self._occupants[session.room].pop(session.id, None)

    def move(self, session, room_id):
        """
        Move a session from its room to C{room_id}, then tell L{moved}.
        """
        previous = session.room
        self._occupants[previous].pop(session.id, None)
        self._place(session, room_id)
        self.moved(session, previous)

    def _place(self, session, room_id):
        session.room = room_id
        self._occupants[room_id][session.id] = session

    def announce(self, room_id, text, exclude=None):
        """
        Tell a room someone came or went, unless it holds more than
        C{crowd} people: there such news is noise, and telling each of N
        arrivals to everyone already there would cost N squared lines.
        """
        if len(self._occupants[room_id]) <= self.crowd:
            self.tell_room(room_id, text, exclude)

    def tell_room(self, room_id, text, exclude=None, data=None):
        """
        Send C{text} to everyone in a room except C{exclude}.

        @param data: C{(package, value)}, a structured message sent with the
            text to those whose clients take them, or L{None}.
        """
        for other in self.occupants(room_id):
            if other is not exclude:
                other.send(text)
                if data is not None:
                    other.send_data(*data)
