"""
Finding the installed game plugins, loading the selected ones, and
building one command table from them.
"""

import importlib
import sys
from contextlib import contextmanager

from gateway.core.dispatcher import Dispatcher
from gateway.errors import StartupError
from gateway.frontends.plugin import available_plugins
from gateway.interfaces import IGamePlugin


def available_games(package=None):
    """
    Every installed game plugin by name, found when called (never at import
    time) through Twisted's plugin cache, with the plugin modules that
    failed to import (see L{available_plugins}).

    @param package: the plugin package to search (C{twisted.plugins} when
        L{None}).
    @rtype: L{gateway.frontends.plugin.InstalledPlugins}
    """
    return available_plugins(IGamePlugin, package)


def load_games(names, available):
    """
    Load the game plugins called C{names}, in that order.

    @param available: the L{gateway.frontends.plugin.InstalledPlugins}
        from L{available_games}.
    @return: a L{list} of C{(name, game)}, each game an
        L{gateway.interfaces.IGame}.
    @raise StartupError: for a name no installed plugin has, or a plugin
        whose code cannot be imported (its traceback is the cause).
    """
    loaded = []
    for name in names:
        plugin = available.get(name)
        if plugin is None:
            raise StartupError(f"game.plugins: {name!r} is not an installed game plugin (available: {available.describe()})")
        try:
            game = plugin.load()
        except ImportError as e:
            raise StartupError(f"game plugin {name!r} cannot be imported: {e}") from e
        loaded.append((name, game))
    return loaded


def command_table(loaded):
    """
    One L{Dispatcher} for the commands of every loaded game, listed in
    plugin order.

    @param loaded: C{(name, game)} pairs from L{load_games}.
    @raise StartupError: naming both plugins when two of them (or naming
        the plugin when one of them twice) use the same command name or
        alias.
    """
    owners = {}
    commands = []
    for plugin, game in loaded:
        for command in game.commands:
            for word in (command.name,) + tuple(command.aliases):
                other = owners.get(word)
                if other == plugin:
                    raise StartupError(f"game plugin {plugin!r} has two commands called {word!r}")
                if other is not None:
                    raise StartupError(
                        f"game plugins {other!r} and {plugin!r} both have a command called {word!r}; "
                        f"leave one of them out of game.plugins"
                    )
                owners[word] = plugin
            commands.append(command)
    return Dispatcher(commands)


#: Modules a reload never imports afresh: the gateway and Twisted code that
#: runs the game, whose classes live objects are instances of.
_KEPT = ("gateway.core.game", "gateway.errors", __name__, "twisted.internet.defer")


@contextmanager
def fresh_modules(packages):
    """
    Import C{packages} afresh inside the block: their modules (and
    submodules) are taken out of L{sys.modules}, so imports load the
    current source.  When the block raises, every module is put back as
    it was, so the code in service stays consistent.

    @param packages: dotted names of packages or modules.
    @raise StartupError: when C{packages} hold gateway's or Twisted's own
        running code (a plugin declaring C{package = "gateway"}), before
        anything is changed.
    """
    prefixes = tuple(f"{name}." for name in packages)
    names = set(packages)
    for kept in _KEPT:
        if kept in names or kept.startswith(prefixes):
            owner = next(name for name in packages if kept == name or kept.startswith(f"{name}."))
            raise StartupError(f"the game plugin package {owner!r} holds {kept}, which cannot be imported afresh")
    saved = {
        name: module for name, module in sys.modules.items()
        if name in names or name.startswith(prefixes)
    }
    for name in saved:
        del sys.modules[name]
    importlib.invalidate_caches()
    try:
        yield
    except BaseException:
        for name in [n for n in sys.modules if n in names or n.startswith(prefixes)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, module in saved.items():
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)
        raise
