"""
Crowded rooms: past C{world.crowd} people, comings and goings are not
announced and C{look} names only that many of those present.
"""

import dataclasses

from twisted.trial.unittest import SynchronousTestCase

from gateway.config import ConfigError, load_config
from tests.helpers import make_core, sign_up


def crowd_config(crowd):
    config = load_config()
    return dataclasses.replace(config, world=dataclasses.replace(config.world, crowd=crowd))


class CrowdTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core(config=crowd_config(2))
        self.alice, _ = sign_up(self.core, "Alice")

    def test_arrivals_announced_until_the_room_is_a_crowd(self):
        sign_up(self.core, "Bob")
        self.assertIn("Bob has arrived.", self.alice.lines())
        self.alice.clear()
        sign_up(self.core, "Carol")
        self.assertNotIn("Carol", self.alice.lines())

    def test_departures_announced_once_the_room_is_small_again(self):
        bob, _ = sign_up(self.core, "Bob")
        carol, carol_session = sign_up(self.core, "Carol")
        self.alice.clear()
        carol_session.line_received("quit")
        carol.disconnect()
        self.assertIn("Carol has left.", self.alice.lines())

    def test_walking_out_of_a_crowd_and_into_a_small_room(self):
        bob, bob_session = sign_up(self.core, "Bob")
        carol, carol_session = sign_up(self.core, "Carol")
        self.alice.clear()
        carol_session.line_received("north")
        self.assertNotIn("Carol", self.alice.lines())
        carol.clear()
        bob_session.line_received("north")
        self.assertIn("Bob leaves north.", self.alice.lines())
        self.assertIn("Bob has arrived.", carol.lines())

    def test_look_names_at_most_crowd_others(self):
        sign_up(self.core, "Bob")
        sign_up(self.core, "Carol")
        dave, dave_session = sign_up(self.core, "Dave")
        dave_session.line_received("look")
        self.assertIn("Here: Alice, Bob and 1 more", dave.lines())

    def test_look_names_everyone_in_a_small_room(self):
        bob, bob_session = sign_up(self.core, "Bob")
        bob_session.line_received("look")
        self.assertIn("Here: Alice\n", bob.lines() + "\n")


class CrowdConfigTests(SynchronousTestCase):
    def test_crowd_must_be_positive(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[world]\ncrowd = 0\n")
        error = self.assertRaises(ConfigError, load_config, path)
        self.assertIn("world.crowd", str(error))
