"""
Shared test fixtures: an in-memory store, a fast hasher, a recording
transport, a ready-made core and SSH host keys made once per run.
"""

import atexit
import dataclasses
import shutil
import sqlite3
import tempfile
from pathlib import Path

import argon2
from twisted.cred.portal import Portal
from twisted.internet.defer import fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.internet.task import Clock
from zope.interface import implementer

from gateway.auth.certificate_checker import CertificateChecker
from gateway.auth.checkers import PasswordChecker, RegistrationChecker
from gateway.auth.hashing import PasswordHasher
from gateway.auth.realm import Realm
from gateway.auth.sshkeys import SSHKeyChecker
from gateway.config import load_config
from gateway.core.capabilities import Capabilities
from gateway.core.commands import default_commands
from gateway.core.game import GameCore
from gateway.core.world import Room, World
from gateway.frontends.limits import ConnectionLimiter, LimitingFactory
from gateway.frontends.ssh.hostkeys import KINDS, host_keys
from gateway.game import Game
from gateway.game.host import GameHost
from gateway.interfaces import ISessionTransport
from gateway.store.schema import migrate
from gateway.store.database import Store


class SyncPool:
    """
    An adbapi stand-in that runs each interaction at once, in its own
    transaction, on an in-memory SQLite database.
    """

    def __init__(self):
        self.connection = sqlite3.connect(":memory:", isolation_level=None)
        migrate(self.connection)

    def runInteraction(self, f, *args):
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        try:
            result = f(cursor, *args)
        except BaseException:
            cursor.execute("ROLLBACK")
            return fail()
        cursor.execute("COMMIT")
        return succeed(result)


def fast_hasher(run=lambda f, *args: succeed(f(*args))):
    """
    A L{PasswordHasher} with minimal Argon2 cost that runs synchronously.

    @param run: how it runs a job (see L{PasswordHasher}); by default at
        once, answering with a fired L{Deferred}.
    """
    return PasswordHasher(
        run,
        argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )


@implementer(ISessionTransport)
class RecordingTransport:
    """
    An L{ISessionTransport} that records what the core does with it.

    @ivar events: C{("line" | "prompt" | "echo" | "close", value)} tuples.
    """

    def __init__(self, protocol="test", peer="127.0.0.1:5000"):
        self.capabilities = Capabilities(protocol=protocol, peer=peer)
        self.events = []
        self.closed = False
        self.session = None

    def send(self, text):
        self.events.append(("line", text))

    def send_prompt(self, text):
        self.events.append(("prompt", text))

    def set_echo(self, on):
        self.events.append(("echo", on))

    def close(self, reason=None):
        self.events.append(("close", reason))
        self.closed = True

    def disconnect(self):
        """
        Report the connection as lost to the session, as a frontend does.
        """
        self.session.connection_lost(Failure(ConnectionDone("connection closed")))

    def lines(self):
        """
        Everything sent as lines, joined with newlines.
        """
        return "\n".join(value for kind, value in self.events if kind == "line")

    def output(self):
        """
        Lines and prompts in order, as one string.
        """
        return "\n".join(str(value) for kind, value in self.events if kind in ("line", "prompt", "close"))

    def clear(self):
        del self.events[:]


TEST_ROOMS = {
    "hall": Room("hall", "The Hall", "A plain hall.", {"north": "yard", "up": "attic"}),
    "yard": Room("yard", "The Yard", "A muddy yard.", {"south": "hall"}),
    "attic": Room("attic", "The Attic", "Dusty.", {"down": "hall"}),
}


def with_settings(config=None, **sections):
    """
    C{config} (the defaults when L{None}) with keys of its sections
    replaced: C{with_settings(sessions={"linger": 0})}.
    """
    config = config or load_config()
    return dataclasses.replace(
        config, **{name: dataclasses.replace(getattr(config, name), **keys) for name, keys in sections.items()}
    )


def make_core(clock=None, config=None, commands=None, games=None, store=None):
    """
    A L{GameCore} over an in-memory store with the three L{TEST_ROOMS}.

    @param commands: the commands of the one game plugin C{core} (the
        built-in commands when L{None}).
    @param games: a L{GameHost} to use instead.
    @param store: a L{Store} to use instead of a new in-memory one.
    """
    config = config or load_config()
    store = store or Store(SyncPool())
    hasher = fast_hasher()
    portal = Portal(
        Realm(store),
        [PasswordChecker(store, hasher), RegistrationChecker(store, hasher, config.accounts, "hall"), SSHKeyChecker(store),
         CertificateChecker(store)],
    )
    if games is None:
        games = GameHost([("core", Game(commands if commands is not None else default_commands()))])
    world = World(dict(TEST_ROOMS), "hall", config.world.crowd)
    return GameCore(config, world, store, portal, hasher, games, clock or Clock())


def connect(core, protocol="test"):
    """
    Connect a L{RecordingTransport} to C{core}; returns C{(transport, session)}.
    """
    transport = RecordingTransport(protocol)
    transport.session = core.connect(transport)
    return transport, transport.session


def sign_up(core, name, password="secret1", protocol="test"):
    """
    Connect and create the account C{name}; returns C{(transport, session)}
    with the transport's record cleared.
    """
    transport, session = connect(core, protocol)
    for line in (name, "yes", password, password):
        session.line_received(line)
    transport.clear()
    return transport, session


def log_in(core, name, password="secret1", protocol="test"):
    """
    Connect and log in to the existing account C{name}.
    """
    transport, session = connect(core, protocol)
    session.line_received(name)
    session.line_received(password)
    transport.clear()
    return transport, session


def split(buffer, data):
    """
    Feed C{data} to a L{gateway.frontends.linebuffer.LineBuffer} and take
    the lines it then holds.

    @return: a L{list} of lines.
    """
    buffer.feed(data)
    return list(buffer.lines())


def limited(factory, core):
    """
    C{factory} behind the connection limits every listener gets, with
    C{core}'s outbox batching each read, as L{gateway.service} builds it.

    @rtype: L{gateway.frontends.limits.LimitingFactory}
    """
    limiter = ConnectionLimiter(core.clock, core.settings.limits)
    return LimitingFactory(factory, limiter, "test", core.outbox.batch)


_KEYS = []


def prepared_host_keys(data_dir):
    """
    Copy host keys made once per test run into C{data_dir} (created), so
    each daemon or service tree a test starts does not spend its start
    generating an RSA key.

    @type data_dir: L{pathlib.Path}
    """
    if not _KEYS:
        keys = Path(tempfile.mkdtemp(prefix="gateway-host-keys-"))
        atexit.register(shutil.rmtree, keys, True)
        host_keys({kind: keys / kind.file_name for kind in KINDS})
        _KEYS.append(keys)
    data_dir.mkdir(parents=True)
    for kind in KINDS:
        shutil.copy2(_KEYS[0] / kind.file_name, data_dir / kind.file_name)


def service_on_defaults(data_dir):
    """
    The daemon's service tree (C{twistd gateway --data-dir DATA_DIR}) on
    the embedded defaults, not started, with host keys from
    L{prepared_host_keys}.

    @type data_dir: L{pathlib.Path}
    @rtype: L{gateway.service.GatewayService}
    """
    from gateway.tap import Options, makeService

    prepared_host_keys(data_dir)
    options = Options()
    options.parseOptions(["--data-dir", str(data_dir)])
    return makeService(options)
