"""
The active game plugins in service: their command table, their hooks and
ticks, their rooms, and reloading them without dropping anyone.
"""

import uuid
from dataclasses import dataclass

from twisted.internet.defer import succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.core.calls import call_handler
from gateway.core.world import load_rooms
from gateway.errors import StartupError
from gateway.game.data import PluginData
from gateway.game.loading import available_games, command_table, fresh_modules, load_games


@dataclass(frozen=True)
class ReloadResult:
    """
    How a reload went, for the admin who asked for it.

    @ivar ok: whether the new version is in service.
    @ivar message: one line saying what happened (with the reference id
        of the logged failure when it failed).
    """

    ok: bool
    message: str


class GameHost:
    """
    Runs the active game plugins for one L{gateway.core.game.GameCore}.

    @ivar loaded: C{(plugin name, game)} pairs in C{[game] plugins} order.
    @ivar dispatcher: the L{gateway.core.dispatcher.Dispatcher} of their
        commands; replaced, never changed, by a reload.
    @ivar world_file: the world file whose rooms the plugins' rooms join.
    """

    log = Logger()

    def __init__(self, loaded, world_file=None, discover=available_games):
        """
        @param loaded: C{(name, game)} pairs from
            L{gateway.game.loading.load_games}.
        @param world_file: the world file, or L{None} when the world was
            built some other way (then reloads keep its rooms).
        @param discover: finds the installed plugins on a reload (see
            L{available_games}).
        @raise StartupError: when two games use the same command name.
        """
        self.loaded = list(loaded)
        self.dispatcher = command_table(self.loaded)
        self.world_file = world_file
        self._discover = discover
        self._ticks = []
        self.core = None

    @property
    def names(self):
        """
        The names of the active plugins, in order.
        """
        return [name for name, _ in self.loaded]

    def room_files(self):
        """
        The room files of the active games, in order.
        """
        return _room_files(self.loaded)

    def attach(self, core):
        """
        Serve C{core}: set up every game and start their ticks.

        @raise StartupError: naming the game whose setup raised.
        """
        self.core = core
        core.world.moved = self.entered
        try:
            self._set_up(self.loaded)
        except StartupError as e:
            self.log.failure("Game plugins failed to start: {reason}", _cause(e), reason=str(e))
            raise
        self._start_ticks()

    def stop(self):
        """
        Stop the ticks and tell every game it is out of service.
        """
        self._stop_ticks()
        self._stop_games(self.loaded)

    def data(self, plugin):
        """
        The persistent data of the plugin called C{plugin}.

        @rtype: L{PluginData}
        """
        return PluginData(self.core.store, plugin)

    # Hooks

    def logged_in(self, session):
        """
        Run every game's C{logged_in} hook for C{session}.

        @return: a L{Deferred} firing when all have run.
        """
        return self._fire("logged_in", session, session)

    def left(self, session):
        """
        Run every game's C{left} hook for C{session}.
        """
        return self._fire("left", session, session)

    def entered(self, session, previous):
        """
        Run every game's C{entered} hook: C{session} came from room
        C{previous}.
        """
        return self._fire("entered", session, session, previous)

    def said(self, session, text):
        """
        Pass C{text}, about to be said by C{session}, through every game's
        C{said} hook, each given what the previous one returned.

        @return: a L{Deferred} firing with the text to say, or failing with
            the L{gateway.errors.CommandError} of the game that vetoed it.
        """
        d = succeed(text)
        for name, game in self.loaded:
            d.addCallback(self._said, name, game, session)
        return d

    @staticmethod
    def _said(text, name, game, session):
        def check(result):
            if not isinstance(result, str):
                raise TypeError(f"the said hook of game plugin {name!r} returned {result!r}, not a str")
            return result

        return call_handler(game.said, session, text).addCallback(check)

    def _fire(self, hook, session, *args):
        d = succeed(None)
        for name, game in self.loaded:
            d.addCallback(self._run_hook, name, game, hook, session, args)
        return d

    def _run_hook(self, _, name, game, hook, session, args):
        d = call_handler(getattr(game, hook), *args)
        return d.addErrback(self._hook_failed, name, hook, session)

    def _hook_failed(self, failure, name, hook, session):
        ref = uuid.uuid4().hex[:8]
        self.log.failure(
            "The {hook} hook of game plugin {plugin} failed (ref {ref})", failure, hook=hook, plugin=name, ref=ref
        )
        if session is not None:
            session.send(f"Sorry, something went wrong on our side (reference {ref}). It has been logged.")

    # Ticks

    def _start_ticks(self):
        for name, game in self.loaded:
            if game.tick_interval:
                call = LoopingCall(self._tick, name, game)
                call.clock = self.core.clock
                call.start(game.tick_interval, now=False)
                self._ticks.append(call)

    def _tick(self, name, game):
        return call_handler(game.tick, self.core).addErrback(self._hook_failed, name, "tick", None)

    # Life cycle

    def _set_up(self, loaded):
        """
        Run the setup of each game in C{loaded}; when one raises, those
        already set up are stopped.

        @raise StartupError: naming the game whose setup raised, caused by
            what it raised.
        """
        done = []
        for name, game in loaded:
            try:
                game.setup(self.core)
            except Exception as e:
                self._stop_games(done)
                raise StartupError(f"game plugin {name!r} failed to set up: {type(e).__name__}: {e}") from e
            done.append((name, game))

    def _stop_ticks(self):
        ticks, self._ticks = self._ticks, []
        for call in ticks:
            call.stop()

    def _stop_games(self, loaded):
        for name, game in loaded:
            try:
                game.stop()
            except Exception:
                self.log.failure("Stopping game plugin {plugin} failed", plugin=name)

    def reload(self, names=None):
        """
        Import the game plugins afresh and serve the new version: a new
        command table, new hooks and ticks, the rooms of the new room
        files.  Sessions stay connected and in their rooms.  When anything
        fails (a plugin missing or failing to import, a name clash, a setup
        that raises, a room with people in it gone) the previous version
        stays in service and the failure is logged with a reference.

        @param names: the plugins to serve from now on (C{[game] plugins}),
            or L{None} for the same ones.
        @rtype: L{ReloadResult}
        """
        names = list(names if names is not None else self.names)
        world = self.core.world
        try:
            available = self._discover()
            packages = [available[name].package for name in names if name in available]
            with fresh_modules(packages):
                loaded = load_games(names, available)
                dispatcher = command_table(loaded)
                if self.world_file is not None:
                    rooms, _ = load_rooms(self.world_file, _room_files(loaded))
                else:
                    rooms = world.rooms
                self._set_up(loaded)
                try:
                    world.replace_rooms(rooms)
                except StartupError:
                    self._stop_games(loaded)
                    raise
        except Exception as e:
            ref = uuid.uuid4().hex[:8]
            failed = "Game plugin reload failed, the previous version stays (ref {ref}): {reason}"
            if isinstance(e, StartupError) and e.__cause__ is None:
                reason = str(e)
                self.log.error(failed, ref=ref, reason=reason)
            else:
                reason = str(e) if isinstance(e, StartupError) else f"{type(e).__name__}: {e}"
                self.log.failure(failed, _cause(e), ref=ref, reason=reason)
            return ReloadResult(False, f"Reload failed, the previous version is still running: {reason} (reference {ref})")
        self._stop_ticks()
        self._stop_games(self.loaded)
        self.loaded, self.dispatcher = loaded, dispatcher
        self._start_ticks()
        self.log.info("Game plugins reloaded: {names}", names=", ".join(names))
        return ReloadResult(True, f"Game plugins reloaded: {', '.join(names)}.")


def _room_files(loaded):
    """
    The room files of the games in C{loaded} (C{(name, game)} pairs), in
    order.
    """
    return [game.rooms for _, game in loaded if game.rooms is not None]


def _cause(error):
    """
    The L{Failure} whose traceback explains C{error}: that of the exception
    it was raised from (a plugin's own error behind a L{StartupError}), or
    its own.
    """
    error = error.__cause__ or error
    return Failure(error, type(error), error.__traceback__)
