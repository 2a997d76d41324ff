"""
Loading the world file: every mistake is named with the file.
"""

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from gateway.core.world import load_rooms
from gateway.errors import StartupError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
start = "a"
[rooms.a]
name = "A"
description = "Room A."
exits = { north = "b" }
[rooms.b]
name = "B"
exits = { south = "a" }
"""


class WorldFileTests(SynchronousTestCase):
    def load(self, text):
        path = Path(self.mktemp())
        path.write_text(text)
        return path, load_rooms(path)

    def refused(self, text, fragment):
        path = Path(self.mktemp())
        path.write_text(text)
        error = self.assertRaises(StartupError, load_rooms, path)
        self.assertIn(str(path), str(error))
        self.assertIn(fragment, str(error))

    def test_shipped_world_loads(self):
        rooms, start = load_rooms(ROOT / "etc" / "world.toml")
        self.assertEqual(start, "plaza")
        self.assertGreaterEqual(len(rooms), 5)

    def test_good_world(self):
        _, (rooms, start) = self.load(GOOD)
        self.assertEqual(start, "a")
        self.assertEqual(rooms["a"].exits, {"north": "b"})
        self.assertEqual(rooms["b"].description, "")

    def test_missing_file(self):
        error = self.assertRaises(StartupError, load_rooms, "/nonexistent/world.toml")
        self.assertIn("/nonexistent/world.toml: cannot read world file", str(error))

    def test_mistakes(self):
        self.refused("start = 'a'\n[rooms.a\n", "not valid TOML")
        self.refused("start = 'a'\n", "expected at least one [rooms.ID] table")
        self.refused(GOOD.replace('start = "a"', 'start = "c"'), "start must name one of the rooms, not 'c'")
        self.refused(GOOD.replace('exits = { south = "a" }', 'exits = { south = "z" }'), "rooms.b.exits.south leads to unknown room 'z'")
        self.refused(GOOD.replace('name = "B"', 'name = ""'), "rooms.b.name must be a non-empty string")
        self.refused(GOOD.replace('name = "B"', 'name = "B"\ncolour = "red"'), "unknown key rooms.b.colour")
        self.refused(GOOD.replace("[rooms.b]", "[rooms.B]").replace('"b"', '"B"'), "room id 'B'")
        self.refused(GOOD.replace("north =", "North ="), "exit name 'North'")
        self.refused(GOOD.replace('exits = { south = "a" }', "exits = 5"), "rooms.b.exits must be a table")
