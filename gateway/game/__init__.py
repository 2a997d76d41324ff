"""
Game plugins: what a game is made of (L{Game}), how a plugin declares one
without importing it (L{LazyGame}), and the host that runs the active ones
(L{gateway.game.host.GameHost}).
"""

import importlib

from twisted.plugin import IPlugin
from zope.interface import implementer

from gateway.interfaces import IGame, IGamePlugin


@implementer(IGame)
class Game:
    """
    A game plugin's contribution, with a do-nothing default for every hook:
    build one with the commands (and rooms, tick) it has, or subclass it
    and override the hooks it needs.
    """

    commands = ()
    rooms = None
    tick_interval = None

    def __init__(self, commands=None, rooms=None, tick_interval=None):
        """
        @param commands: the game's L{gateway.core.commands.Command}s.
        @param rooms: the path of its rooms file, or L{None}.
        @param tick_interval: seconds between L{tick}s, or L{None}.
        """
        if commands is not None:
            self.commands = tuple(commands)
        if rooms is not None:
            self.rooms = rooms
        if tick_interval is not None:
            self.tick_interval = tick_interval

    def setup(self, core):
        pass

    def stop(self):
        pass

    def logged_in(self, session):
        pass

    def left(self, session):
        pass

    def entered(self, session, previous):
        pass

    def said(self, session, text):
        return text

    def tick(self, core):
        pass


@implementer(IPlugin, IGamePlugin)
class LazyGame:
    """
    A game plugin whose code is imported only when it is loaded.

    @ivar entry: C{"package.module:function"}; C{function()} returns the
        L{IGame}.
    @ivar package: the dotted name of the package (or module) whose
        modules a reload imports afresh: by default the top-level package
        of C{entry}.
    """

    def __init__(self, name, description, entry, package=None):
        self.name = name
        self.description = description
        self.entry = entry
        self.package = package or entry.partition(":")[0].partition(".")[0]

    def load(self):
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)()
