"""
The example game plugin (examples/dice): dice rolls and the room message
board, whose posts survive a store restart.
"""

import random
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.plugin import InstalledPlugins
from gateway.game import LazyGame
from gateway.game.host import GameHost
from gateway.game.loading import load_games
from gateway.store.database import Store
from tests.daemon import ROOT
from tests.helpers import make_core, sign_up
from tests.test_game_plugins import FilePool

EXAMPLE = ROOT / "examples" / "dice"

if str(EXAMPLE) not in sys.path:
    sys.path.append(str(EXAMPLE))

from gateway_dice import game as dice  # noqa: E402


def dice_core(store=None):
    """
    A core serving C{core} and the example, loaded as the daemon loads it.
    """
    available = InstalledPlugins({
        "core": LazyGame("core", "Core", "gateway.core.commands:game"),
        "dice": LazyGame("dice", "Dice", "gateway_dice.game:game"),
    })
    return make_core(games=GameHost(load_games(["core", "dice"], available)), store=store)


class RollTests(SynchronousTestCase):
    def setUp(self):
        self.patch(dice, "_random", random.Random(4))
        self.core = dice_core()
        self.alice, self.session = sign_up(self.core, "alice")
        self.bob, _ = sign_up(self.core, "bob")
        self.alice.clear()

    def test_roll_answers_with_the_total(self):
        self.session.line_received("roll 2d6")
        expected = random.Random(4)
        first, second = expected.randint(1, 6), expected.randint(1, 6)
        self.assertEqual(self.alice.lines(), f"You roll 2d6: {first} + {second} = {first + second}.")
        self.assertEqual(self.bob.lines(), f"alice rolls 2d6: {first + second}.")

    def test_one_die(self):
        self.session.line_received("roll D20")
        self.assertRegex(self.alice.lines(), r"^You roll 1d20: (\d|1\d|20)\.$")

    def test_bad_dice_get_usage(self):
        for line in ("roll", "roll 2d", "roll 0d6", "roll 2d1", "roll 101d6", "roll 2d1001", "roll six", "roll 2d6+1"):
            self.alice.clear()
            self.session.line_received(line)
            self.assertEqual(self.alice.lines(), dice.ROLL_USAGE, line)
        self.assertEqual(self.bob.lines(), "")


class BoardTests(SynchronousTestCase):
    def setUp(self):
        self.path = Path(self.mktemp())
        self.pool = FilePool(self.path)
        self.addCleanup(lambda: self.pool.close())
        self.core = dice_core(Store(self.pool))
        self.alice, self.session = sign_up(self.core, "alice")
        self.alice.clear()

    def say(self, line):
        self.alice.clear()
        self.session.line_received(line)
        return self.alice.lines()

    def test_post_board_read(self):
        self.assertEqual(self.say("board"), "The board in The Hall is empty. Add to it with: post <text>")
        self.assertEqual(self.say("post Meet at the |rgate|n at noon"), "Your post is number 1 on the board here.")
        self.assertEqual(self.say("post " + "x" * 60), "Your post is number 2 on the board here.")
        self.assertEqual(
            self.say("board"),
            "The board in The Hall (2 posts):\n"
            "    1. alice: Meet at the ||rgate||n at noon\n"
            f"    2. alice: {'x' * 47}...\n"
            "Read one with: read <number>",
        )
        self.assertEqual(self.say("read 1"), "Post 1, by alice (1970-01-01 00:00 UTC):\nMeet at the ||rgate||n at noon")

    def test_bad_input(self):
        self.assertEqual(self.say("post"), "Post what? Usage: post <text>")
        self.assertIn("too long for the board (501 characters, at most 500)", self.say("post " + "y" * 501))
        self.assertEqual(self.say("read"), "Usage: read <number> (see 'board' for the numbers)")
        self.assertEqual(self.say("read one"), "Usage: read <number> (see 'board' for the numbers)")
        self.assertEqual(self.say("read 1"), "There is no post 1 here; the board has 0 posts.")
        self.assertEqual(self.say("board now"), "Usage: board")

    def test_boards_are_per_room(self):
        self.say("post In the hall")
        self.say("north")
        self.assertEqual(self.say("board"), "The board in The Yard is empty. Add to it with: post <text>")

    def test_oldest_posts_go(self):
        self.patch(dice, "MAX_POSTS", 2)
        for text in ("one", "two", "three"):
            self.say(f"post {text}")
        self.assertIn("Post 1, by alice (1970-01-01 00:00 UTC):\ntwo", self.say("read 1"))

    def test_posts_survive_a_restart(self):
        self.say("post Still here tomorrow")
        self.pool.close()
        self.pool = FilePool(self.path)
        core = dice_core(Store(self.pool))
        bob, session = sign_up(core, "bob")
        session.line_received("read 1")
        self.assertEqual(bob.lines(), "Post 1, by alice (1970-01-01 00:00 UTC):\nStill here tomorrow")
