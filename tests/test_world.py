"""
Loading the world file: every mistake is named with the file.
"""

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from gateway.core.world import load_rooms, paragraphs
from gateway.errors import StartupError
from gateway.frontends.text import encode_line

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


class ParagraphTests(SynchronousTestCase):
    """
    Descriptions are paragraphs: a blank line breaks them, the author's
    line breaks do not, and each client's width folds them once.
    """

    def test_lines_joined_blank_lines_kept(self):
        text = "\nA wide square of\n  worn flagstones.\n\n \t\nA dry fountain.\r\n\r\nLanes   lead off.\n"
        self.assertEqual(paragraphs(text), "A wide square of worn flagstones.\n\nA dry fountain.\n\nLanes lead off.")

    def test_empty(self):
        self.assertEqual(paragraphs(" \n\n "), "")

    def test_folded_once_to_the_client_width(self):
        """
        At 40, 60, 80 and 120 columns every line of every shipped
        description fills the width as far as its words allow: no line
        is cut short by the line breaks of the file.
        """
        rooms, _ = load_rooms(ROOT / "etc" / "world.toml")
        for width in (40, 60, 80, 120):
            for room in rooms.values():
                shown = encode_line(room.description, width=width).decode().split("\r\n")[:-1]
                # Continuation lines start with the hanging indent.
                self.assertEqual([" ".join(line.strip() for line in p.split("\r\n"))
                                  for p in "\r\n".join(shown).split("\r\n\r\n")],
                                 room.description.split("\n\n"))
                for line, following in zip(shown, shown[1:]):
                    self.assertLessEqual(len(line), width)
                    if following:
                        # The next line's first word did not fit on this one.
                        self.assertGreater(len(line) + 1 + len(following.split()[0]), width, (width, room.id, shown))
