"""
Game plugins: discovery and selection from the configuration, name
clashes, hooks (order, veto, failures), ticks, rooms, persistent plugin
data, and reloading without dropping anyone.
"""

import dataclasses
import io
import os
import signal
import sqlite3
import sys
import textwrap
import uuid
from pathlib import Path

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from gateway import admin
from gateway.config import load_config
from gateway.core.commands import Command, default_commands
from gateway.core.world import load_rooms
from gateway.errors import CommandError, ConfigError, StartupError
from gateway.frontends.plugin import InstalledPlugins
from gateway.game import Game, LazyGame
from gateway.game.host import GameHost
from gateway.game.loading import available_games, command_table, load_games
from gateway.game.reloading import REQUEST_FILE, RESULT_FILE, GamePluginsService, GameReloadService
from gateway.interfaces import IGame, IGamePlugin
from gateway.store import accounts
from gateway.store.database import Store
from gateway.store.schema import SCHEMA_VERSION, open_database
from tests.helpers import log_in, make_core, service_on_defaults, sign_up

PLUGIN_MODULE = """
from gateway.game import LazyGame
dice = LazyGame("dice", "Dice", "gateway.core.commands:game")
"""


def core_with(*games, clock=None, store=None):
    """
    A core serving the built-in commands as C{core} and C{games}, given as
    C{(name, game)} pairs.
    """
    host = GameHost([("core", Game(default_commands()))] + list(games))
    return make_core(clock, games=host, store=store)


def command(name, text, aliases=()):
    return Command(name, lambda session, args: session.send(text), name, f"Says {text}.", aliases)


class DiscoveryTests(SynchronousTestCase):
    def test_core_is_an_installed_plugin(self):
        games = available_games()
        self.assertIn("core", games)
        verifyObject(IGamePlugin, games["core"])
        game = games["core"].load()
        verifyObject(IGame, game)
        self.assertIn("look", [c.name for c in game.commands])

    def test_plugin_in_another_package_found(self):
        root = Path(self.mktemp()).resolve()
        package = root / f"gameplugins_{uuid.uuid4().hex[:8]}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "dice.py").write_text(textwrap.dedent(PLUGIN_MODULE))
        (package / "cards.py").write_text("raise RuntimeError('the cards plugin is broken')\n")
        sys.path.insert(0, str(root))
        self.addCleanup(sys.path.remove, str(root))
        module = __import__(package.name)
        self.addCleanup(sys.modules.pop, package.name, None)
        games = available_games(module)
        self.flushLoggedErrors(RuntimeError)
        self.assertEqual(sorted(games), ["dice"])
        self.assertEqual(games.broken, {f"{package.name}.cards": "RuntimeError: the cards plugin is broken"})

    def test_list_games(self):
        from contextlib import redirect_stdout

        from gateway.tap import Options

        out = io.StringIO()
        with redirect_stdout(out):
            e = self.assertRaises(SystemExit, Options().parseOptions, ["--list-games"])
        self.assertEqual(e.code, 0)
        self.assertRegex(out.getvalue(), r"^Installed game plugins \(for \[game\] plugins\):\n(  .*\n)*  core +The built-in commands")

    def test_default_selection_is_core(self):
        self.assertEqual(load_config().game.plugins, ["core"])

    def test_selection_from_config(self):
        path = Path(self.mktemp())
        path.write_text('[game]\nplugins = ["dice", "core"]\n')
        names = load_config(path).game.plugins
        available = InstalledPlugins({
            "core": LazyGame("core", "Core", "gateway.core.commands:game"),
            "dice": LazyGame("dice", "D", "gateway.core.commands:game"),
        })
        self.assertEqual([name for name, _ in load_games(names, available)], ["dice", "core"])

    def test_bad_selection_refused(self):
        path = Path(self.mktemp())
        for text in ('plugins = "core"', 'plugins = ["core", "core"]', 'plugins = [""]', 'plugins = [1]'):
            path.write_text(f"[game]\n{text}\n")
            error = self.assertRaises(ConfigError, load_config, path)
            self.assertIn("game.plugins must be", str(error))

    def test_unknown_plugin_named(self):
        available = InstalledPlugins(
            {"core": available_games()["core"], "cards": LazyGame("cards", "Cards", "gateway.core.commands:game")},
            {"twisted.plugins.gateway_dice": "ImportError: cannot import name 'LazyGame'"},
        )
        error = self.assertRaises(StartupError, load_games, ["core", "dice"], available)
        self.assertEqual(
            str(error),
            "game.plugins: 'dice' is not an installed game plugin (available: cards, core; plugin modules that "
            "failed to import: twisted.plugins.gateway_dice (ImportError: cannot import name 'LazyGame'))",
        )

    def test_plugin_failing_to_import_named(self):
        available = InstalledPlugins({"bad": LazyGame("bad", "Broken", "gateway_no_such_module:game")})
        error = self.assertRaises(StartupError, load_games, ["bad"], available)
        self.assertIn("game plugin 'bad' cannot be imported: No module named 'gateway_no_such_module'", str(error))


class ClashTests(SynchronousTestCase):
    def test_same_command_in_two_plugins(self):
        loaded = [("core", Game(default_commands())), ("dice", Game([command("look", "x")]))]
        error = self.assertRaises(StartupError, command_table, loaded)
        self.assertEqual(
            str(error),
            "game plugins 'core' and 'dice' both have a command called 'look'; leave one of them out of game.plugins",
        )

    def test_alias_clashing_with_a_name(self):
        loaded = [("dice", Game([command("roll", "x")])), ("cards", Game([command("deal", "y", ("roll",))]))]
        error = self.assertRaises(StartupError, command_table, loaded)
        self.assertIn("'dice' and 'cards' both have a command called 'roll'", str(error))

    def test_twice_in_one_plugin(self):
        error = self.assertRaises(StartupError, command_table, [("dice", Game([command("roll", "x"), command("roll", "y")]))])
        self.assertEqual(str(error), "game plugin 'dice' has two commands called 'roll'")

    def test_core_replaced(self):
        core = make_core(games=GameHost([("mine", Game([command("look", "My own look.")]))]))
        transport, session = sign_up(core, "alice")
        session.line_received("look")
        session.line_received("north")
        self.assertEqual(transport.lines(), "My own look.\nUnknown command 'north'. Type 'help' for the list of commands.")


class Recorder(Game):
    """
    A game that records its hooks in a shared list.
    """

    def __init__(self, name, events, **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.events = events

    def logged_in(self, session):
        self.events.append((self.name, "logged_in", session.account.name))

    def left(self, session):
        self.events.append((self.name, "left", session.account.name, session.room))

    def entered(self, session, previous):
        self.events.append((self.name, "entered", session.account.name, previous, session.room))


class Shouting(Game):
    def said(self, session, text):
        return text.upper()


class Censor(Game):
    def said(self, session, text):
        if "DARN" in text:
            raise CommandError("The censor does not let you say that.")
        return text


class HookTests(SynchronousTestCase):
    def test_hooks_run_in_plugin_order(self):
        events = []
        core = core_with(("one", Recorder("one", events)), ("two", Recorder("two", events)))
        transport, session = sign_up(core, "alice")
        session.line_received("north")
        session.line_received("quit")
        transport.disconnect()
        self.assertEqual(events, [
            ("one", "logged_in", "alice"), ("two", "logged_in", "alice"),
            ("one", "entered", "alice", "hall", "yard"), ("two", "entered", "alice", "hall", "yard"),
            ("one", "left", "alice", "yard"), ("two", "left", "alice", "yard"),
        ])

    def test_logging_in_again_elsewhere(self):
        """
        Logging in while connected elsewhere runs C{logged_in} again; a
        dropped connection runs C{left} once its session stops lingering.
        """
        events = []
        clock = Clock()
        core = core_with(("one", Recorder("one", events)), clock=clock)
        first, _ = sign_up(core, "alice")
        second, session = log_in(core, "alice")
        first.disconnect()
        self.assertTrue(first.closed)
        self.assertEqual(events, [("one", "logged_in", "alice"), ("one", "logged_in", "alice")])
        second.disconnect()
        self.assertEqual(len(events), 2)
        clock.advance(core.settings.sessions.linger)
        self.assertEqual(events[2:], [("one", "left", "alice", "hall")])

    def test_deferred_hook_delays_the_next_plugin(self):
        events = []
        waiting = Deferred()

        class Slow(Game):
            def logged_in(self, session):
                events.append("slow started")
                return waiting

        core = core_with(("slow", Slow()), ("two", Recorder("two", events)))
        sign_up(core, "alice")
        self.assertEqual(events, ["slow started"])
        waiting.callback(None)
        self.assertEqual(events, ["slow started", ("two", "logged_in", "alice")])

    def test_said_transformed_in_order(self):
        core = core_with(("shout", Shouting()), ("censor", Censor()))
        alice, session = sign_up(core, "alice")
        bob, _ = sign_up(core, "bob")
        alice.clear()
        session.line_received("say hello there")
        self.assertEqual(alice.lines(), 'You say, "HELLO THERE"')
        self.assertEqual(bob.lines(), 'alice says, "HELLO THERE"')

    def test_said_vetoed(self):
        core = core_with(("shout", Shouting()), ("censor", Censor()))
        alice, session = sign_up(core, "alice")
        bob, _ = sign_up(core, "bob")
        alice.clear()
        session.line_received("say darn it")
        self.assertEqual(alice.lines(), "The censor does not let you say that.")
        self.assertEqual(bob.lines(), "")

    def test_setup_failure_stops_the_start(self):
        class Broken(Game):
            def setup(self, core):
                raise KeyError("no table")

        events = []
        error = self.assertRaises(StartupError, core_with, ("one", Recorder("one", events)), ("broken", Broken()))
        self.assertEqual(str(error), "game plugin 'broken' failed to set up: KeyError: 'no table'")
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_failing_hook_costs_one_line(self):
        events = []

        class Broken(Game):
            def logged_in(self, session):
                raise RuntimeError("broken hook")

        core = core_with(("broken", Broken()), ("two", Recorder("two", events)))
        transport, session = sign_up(core, "alice")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(events, [("two", "logged_in", "alice")])
        session.line_received("look")
        self.assertIn("The Hall", transport.lines())


class TickTests(SynchronousTestCase):
    def test_ticks_on_the_core_clock(self):
        clock = Clock()
        ticks = []

        class Ticking(Game):
            tick_interval = 5.0

            def tick(self, core):
                ticks.append(core.clock.seconds())
                if len(ticks) == 2:
                    raise RuntimeError("a bad tick")

        core = core_with(("ticking", Ticking()), clock=clock)
        clock.advance(4)
        self.assertEqual(ticks, [])
        for _ in range(3):
            clock.advance(5)
        self.assertEqual(ticks, [9.0, 14.0, 19.0])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        core.games.stop()
        clock.advance(5)
        self.assertEqual(len(ticks), 3)
        self.assertEqual(clock.getDelayedCalls(), [])


class FilePool:
    """
    A synchronous stand-in for the adbapi pool on a database file: each
    interaction is one transaction, as adbapi runs it.
    """

    def __init__(self, path):
        self.connection = open_database(path)

    def runInteraction(self, f, *args):
        from twisted.internet.defer import fail, succeed

        with self.connection:
            try:
                result = f(self.connection.cursor(), *args)
            except BaseException:
                return fail()
        return succeed(result)

    def close(self):
        self.connection.close()


class PluginDataTests(SynchronousTestCase):
    def test_survives_a_store_restart(self):
        path = Path(self.mktemp())
        pool = FilePool(path)
        core = make_core(store=Store(pool))
        transport, session = sign_up(core, "alice")
        data = core.games.data("dice")
        self.successResultOf(data.account(session.account).set("wins", 3))
        self.successResultOf(data.room("hall").set("posts", ["first"]))
        self.assertEqual(self.successResultOf(data.room("hall").update("posts", lambda p: p + ["second"], [])), ["first", "second"])
        account = session.account
        pool.close()

        pool = FilePool(path)
        self.addCleanup(pool.close)
        core = make_core(store=Store(pool))
        data = core.games.data("dice")
        self.assertEqual(self.successResultOf(data.account(account).get("wins")), 3)
        self.assertEqual(self.successResultOf(data.room("hall").get("posts")), ["first", "second"])
        self.assertEqual(self.successResultOf(data.room("hall").keys()), ["posts"])
        self.assertIsNone(self.successResultOf(core.games.data("cards").room("hall").get("posts")))
        self.assertEqual(self.successResultOf(data.room("yard").get("posts", [])), [])
        self.assertTrue(self.successResultOf(data.room("hall").delete("posts")))
        self.assertFalse(self.successResultOf(data.room("hall").delete("posts")))

    def test_failed_update_changes_nothing(self):
        core = make_core()
        room = core.games.data("dice").room("hall")
        self.successResultOf(room.set("count", 1))
        self.failureResultOf(room.update("count", lambda n: n / 0), ZeroDivisionError)
        self.assertEqual(self.successResultOf(room.get("count")), 1)
        self.assertRaises(TypeError, room.set, "count", object())

    def test_existing_database_upgrades_without_loss(self):
        path = Path(self.mktemp())
        from gateway.store import schema

        raw = sqlite3.connect(str(path), isolation_level=None)
        self.patch(schema, "SCHEMA_VERSION", 3)
        schema.migrate(raw)
        accounts.create(raw.cursor(), "Alice", "hash")
        raw.close()
        self.patch(schema, "SCHEMA_VERSION", SCHEMA_VERSION)
        connection = open_database(path)
        self.addCleanup(connection.close)
        self.assertEqual(connection.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        self.assertEqual(accounts.find_by_name(connection.cursor(), "alice").name, "Alice")
        connection.execute("INSERT INTO plugin_data VALUES ('dice', 'account', '1', 'wins', '3')")
        with connection:
            accounts.delete(connection.cursor(), "Alice")
        self.assertEqual(connection.execute("SELECT COUNT(*) FROM plugin_data").fetchone()[0], 0)


ROOMS = """
[rooms.tower]
name = "The Tower"
description = "Up high."
exits = { down = "hall" }
"""


class RoomTests(SynchronousTestCase):
    def world_file(self):
        path = Path(self.mktemp())
        path.write_text('start = "hall"\n[rooms.hall]\nname = "Hall"\nexits = { up = "tower" }\n')
        return path

    def test_plugin_rooms_join_the_world(self):
        rooms_file = Path(self.mktemp())
        rooms_file.write_text(ROOMS)
        rooms, start = load_rooms(self.world_file(), [rooms_file])
        self.assertEqual((sorted(rooms), start), (["hall", "tower"], "hall"))

    def test_room_defined_twice(self):
        rooms_file = Path(self.mktemp())
        rooms_file.write_text(ROOMS + '[rooms.hall]\nname = "Another hall"\n')
        world = self.world_file()
        error = self.assertRaises(StartupError, load_rooms, world, [rooms_file])
        self.assertEqual(str(error), f"{rooms_file}: room 'hall' is already defined in {world}")

    def test_exit_to_a_missing_plugin_room(self):
        world = self.world_file()
        error = self.assertRaises(StartupError, load_rooms, world)
        self.assertIn(f"{world}: rooms.hall.exits.up leads to unknown room 'tower'", str(error))


GAME_MODULE = """
from gateway.core.commands import Command
from gateway.game import Game

class Dice(Game):
    tick_interval = 5.0

    def setup(self, core):
        {setup}

    def tick(self, core):
        for session in core.world.online():
            session.send("Tick: " + {answer!r})

def roll(session, args):
    session.send({answer!r})

def game():
    return Dice([Command("roll", roll, "roll <dice>", "Roll dice.")], rooms={rooms!r})
"""


def keep_modules(test, package):
    """
    Put the modules of C{package} back as they are now once C{test} ends,
    so the modules a reload imported afresh do not outlive the test.
    """
    prefix = package + "."
    saved = {name: module for name, module in sys.modules.items() if name == package or name.startswith(prefix)}

    def restore():
        for name in [name for name in sys.modules if name == package or name.startswith(prefix)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, module in saved.items():
            parent, _, child = name.rpartition(".")
            setattr(sys.modules[parent], child, module)

    test.addCleanup(restore)


class ReloadFixture(SynchronousTestCase):
    """
    A core serving C{core} and a C{dice} plugin whose module the test
    rewrites in a temporary directory on L{sys.path}.
    """

    def setUp(self):
        keep_modules(self, "gateway.core.commands")
        self.root = Path(self.mktemp()).resolve()
        self.package = f"gamereload_{uuid.uuid4().hex[:8]}"
        (self.root / self.package).mkdir(parents=True)
        sys.path.insert(0, str(self.root))
        self.addCleanup(sys.path.remove, str(self.root))
        self.addCleanup(lambda: [sys.modules.pop(n) for n in list(sys.modules) if n.startswith(self.package)])
        self.write("You roll a 4.")
        self.plugin = LazyGame("dice", "Dice", f"{self.package}.game:game")
        self.core_plugin = LazyGame("core", "Core", "gateway.core.commands:game", package="gateway.core.commands")
        available = InstalledPlugins({"core": self.core_plugin, "dice": self.plugin})
        self.world = Path(self.mktemp())
        self.world.write_text('start = "hall"\n[rooms.hall]\nname = "The Hall"\nexits = { north = "yard" }\n'
                              '[rooms.yard]\nname = "The Yard"\nexits = { south = "hall" }\n')
        host = GameHost(load_games(["core", "dice"], available), self.world, lambda: available)
        self.core = make_core(games=host)
        rooms, _ = load_rooms(self.world, host.room_files())
        self.core.world.replace_rooms(rooms)

    def write(self, answer, setup="pass", rooms=None, source=None):
        directory = self.root / self.package
        (directory / "__init__.py").write_text("")
        (directory / "game.py").write_text(source or textwrap.dedent(GAME_MODULE).format(answer=answer, setup=setup, rooms=rooms))


class ReloadTests(ReloadFixture):
    def test_reload_keeps_sessions_and_picks_up_changes(self):
        alice, session = sign_up(self.core, "alice")
        bob, other = sign_up(self.core, "bob")
        session.line_received("north")
        session.line_received("roll")
        self.assertIn("You roll a 4.", alice.lines())
        self.write("You roll a double six!")
        result = self.core.games.reload()
        self.assertEqual((result.ok, result.message), (True, "Game plugins reloaded: core, dice."))
        alice.clear()
        session.line_received("roll")
        self.assertEqual(alice.lines(), "You roll a double six!")
        self.assertFalse(alice.closed or bob.closed)
        self.assertEqual((session.room, other.room), ("yard", "hall"))
        self.assertEqual([s.account.name for s in self.core.world.occupants("yard")], ["alice"])
        other.line_received("say still here")
        self.assertIn('You say, "still here"', bob.lines())

    def test_reload_adds_rooms(self):
        rooms = self.root / "rooms.toml"
        rooms.write_text(ROOMS)
        self.write("You roll a 4.", rooms=str(rooms))
        self.assertTrue(self.core.games.reload().ok)
        self.assertIn("tower", self.core.world.rooms)
        self.assertEqual(self.core.world.occupants("tower"), [])

    def test_ticks_follow_the_version_in_service(self):
        alice, session = sign_up(self.core, "alice")
        self.write("Version two.")
        self.assertTrue(self.core.games.reload().ok)
        self.write("", source="raise ImportError('version three is broken')\n")
        self.assertFalse(self.core.games.reload().ok)
        self.assertEqual(len(self.flushLoggedErrors(ImportError)), 1)
        self.core.clock.advance(5)
        self.assertEqual(alice.lines(), "Tick: Version two.")
        self.core.games.stop()
        self.assertEqual(self.core.clock.getDelayedCalls(), [])

    def test_import_failure_keeps_the_old_version(self):
        alice, session = sign_up(self.core, "alice")
        self.write("", source="def game(:\n")
        result = self.core.games.reload()
        self.assertFalse(result.ok)
        self.assertRegex(result.message, r"^Reload failed, the previous version is still running: SyntaxError: .* \(reference [0-9a-f]{8}\)$")
        self.assertEqual(len(self.flushLoggedErrors(SyntaxError)), 1)
        session.line_received("roll")
        self.assertEqual(alice.lines(), "You roll a 4.")
        self.write("You roll a 5.")
        self.assertTrue(self.core.games.reload().ok)

    def test_setup_failure_keeps_the_old_version(self):
        alice, session = sign_up(self.core, "alice")
        self.write("You roll a 6.", setup="raise ValueError('no dice today')")
        result = self.core.games.reload()
        self.assertFalse(result.ok)
        self.assertIn("game plugin 'dice' failed to set up: ValueError: no dice today (reference ", result.message)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        session.line_received("roll")
        self.assertEqual(alice.lines(), "You roll a 4.")

    def test_package_holding_gateway_itself_refused(self):
        self.plugin.package = "gateway"
        result = self.core.games.reload()
        self.assertFalse(result.ok)
        self.assertIn("the game plugin package 'gateway' holds gateway.core.game, which cannot be imported afresh", result.message)
        self.assertIs(sys.modules["gateway.core.game"].GameCore, type(self.core))

    def test_occupied_room_kept(self):
        alice, session = sign_up(self.core, "alice")
        session.line_received("north")
        self.world.write_text('start = "hall"\n[rooms.hall]\nname = "The Hall"\n')
        result = self.core.games.reload()
        self.assertFalse(result.ok)
        self.assertIn("rooms with players in them would disappear: yard", result.message)
        self.assertIn("yard", self.core.world.rooms)

    def test_reload_command_for_admins_only(self):
        alice, session = sign_up(self.core, "alice")
        session.line_received("reload")
        self.assertEqual(alice.lines(), "Unknown command 'reload'. Type 'help' for the list of commands.")
        alice.clear()
        self.patch(session.account, "role", "admin")
        self.write("You roll a 3.")
        session.line_received("reload")
        session.line_received("roll")
        self.assertEqual(alice.lines(), "Game plugins reloaded: core, dice.\nYou roll a 3.")

    def test_service_answers_a_request(self):
        data_dir = Path(self.mktemp())
        data_dir.mkdir()
        service = GameReloadService(self.core, data_dir)
        self.core.settings = load_config_with(self.core.settings, ["core", "dice"])
        self.assertTrue(service.reconfigService(self.core.settings))
        self.assertFalse((data_dir / RESULT_FILE).exists())
        (data_dir / REQUEST_FILE).write_text("token1\n")
        self.write("You roll a 2.")
        self.assertTrue(service.reconfigService(self.core.settings))
        self.assertEqual((data_dir / RESULT_FILE).read_text(), "token1\nok\nGame plugins reloaded: core, dice.\n")
        self.assertFalse((data_dir / REQUEST_FILE).exists())

    def test_service_follows_the_configured_set(self):
        service = GameReloadService(self.core, Path(self.mktemp()))
        self.core.settings = load_config_with(self.core.settings, ["core"])
        self.assertTrue(service.reconfigService(self.core.settings))
        self.assertEqual(self.core.games.names, ["core"])
        self.assertNotIn("roll", self.core.dispatcher.commands)


def load_config_with(settings, plugins):
    """
    C{settings} with C{[game] plugins} replaced.
    """
    return dataclasses.replace(settings, game=dataclasses.replace(settings.game, plugins=plugins))


class ReloadGameCommandTests(ReloadFixture):
    """
    C{gateway-admin reload-game} against a service standing in for the
    daemon: the signal it sends runs the service's reload.
    """

    def run_admin(self, data_dir, *args, config=()):
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        status = admin.main(list(config) + ["--data-dir", str(data_dir), "reload-game"] + list(args))
        return status, out.getvalue(), err.getvalue()

    def daemon(self):
        data_dir = Path(self.mktemp())
        data_dir.mkdir()
        service = GamePluginsService(self.core, data_dir)
        self.core.settings = load_config_with(self.core.settings, ["core", "dice"])
        service.startService()
        signals = []

        def kill(pid, number):
            signals.append((pid, number))
            GameReloadService(self.core, data_dir).reconfigService(self.core.settings)

        self.patch(admin.os, "kill", kill)
        return data_dir, service, signals

    def test_reload_game(self):
        data_dir, service, signals = self.daemon()
        self.write("You roll a 1.")
        self.assertEqual(self.run_admin(data_dir), (0, "Game plugins reloaded: core, dice.\n", ""))
        self.assertEqual(signals, [(os.getpid(), signal.SIGHUP)])
        self.write("", source="raise ImportError('gone')\n")
        status, out, err = self.run_admin(data_dir)
        self.assertEqual((status, out), (1, ""))
        self.assertRegex(err, r"^gateway-admin: Reload failed, the previous version is still running: .*gone .*\(reference [0-9a-f]{8}\)\n$")
        self.assertEqual(len(self.flushLoggedErrors(ImportError)), 1)
        service.stopService()
        self.assertFalse((data_dir / "gateway.pid").exists())

    def test_bad_configuration_sends_nothing(self):
        data_dir, service, signals = self.daemon()
        config = Path(self.mktemp())
        config.write_text('[game]\nplugins = "dice"\n')
        status, out, err = self.run_admin(data_dir, config=["--config", str(config)])
        self.assertEqual((status, err), (1, f"gateway-admin: {config}: game.plugins must be an array, not str 'dice'\n"))
        self.assertEqual(signals, [])
        self.assertFalse((data_dir / REQUEST_FILE).exists())

    def test_no_daemon(self):
        data_dir = Path(self.mktemp())
        data_dir.mkdir()
        status, out, err = self.run_admin(data_dir)
        self.assertEqual((status, err), (1, f"gateway-admin: no daemon is running on {data_dir.resolve()} (no gateway.pid there)\n"))


class ServiceTreeTests(SynchronousTestCase):
    def test_plugins_stop_after_the_sessions_end(self):
        """
        Children stop last added first: the game plugins are taken out of
        service after the shutdown has ended the sessions, so every
        C{left} hook runs on a game still in service.
        """
        names = [service.name for service in service_on_defaults(Path(self.mktemp()))]
        self.assertLess(names.index("game-plugins"), names.index("sessions"))
        self.assertLess(names.index("config"), names.index("game"))
