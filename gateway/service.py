"""
The daemon's service tree: the store, the hashing threads, the core, and
one listener per configured frontend.
"""

import functools
import gc
import os

from twisted.application.service import MultiService, Service
from twisted.cred.portal import Portal
from twisted.internet import defer, endpoints
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from gateway.auth.certificate_checker import CertificateChecker
from gateway.auth.checkers import PasswordChecker, RegistrationChecker
from gateway.auth.hashing import PasswordHasher, thread_runner
from gateway.auth.realm import Realm
from gateway.auth.sshkeys import SSHKeyChecker
from gateway.core.game import GameCore
from gateway.core.world import World, load_rooms
from gateway.config import load_config
from gateway.errors import ConfigError, StartupError
from gateway.frontends.limits import ConnectionLimiter, LimitingFactory
from gateway.frontends.plugin import available_frontends
from gateway.frontends.proxied import ProxiedFactory
from gateway.interfaces import IForwardingFactory
from gateway.game.host import GameHost
from gateway.game.loading import available_games, load_games
from gateway.game.reloading import GamePluginsService, GameReloadService
from gateway.listener import ListenerService
from gateway.notify import Notifier, NotifyService
from gateway.logtext import show_debug
from gateway.metrics import Metrics, ReactorWatch, add_process_collectors
from gateway.live_settings import LiveSettingsService
from gateway.sighup import ReloadService
from gateway.shutdown import ShutdownService
from gateway.store.schema import open_database
from gateway.store.database import Store, StoreService, connection_pool

log = Logger()

DATABASE_NAME = "gateway.sqlite3"


class ThreadPoolService(Service):
    """
    Runs a thread pool for the daemon's lifetime.
    """

    def __init__(self, pool):
        self.pool = pool

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.stop()


class GatewayService(MultiService):
    """
    The top of the service tree.  A listener that cannot start ends the
    process with one clear message and exit status 1, not a traceback.

    Children stop one at a time, last added first: the listeners stop
    accepting, then the sessions are ended, then the hashing threads and
    the database close.

    @ivar freeze_on_start: whether starting moves every object made so far
        (modules, plugins, the world, the configuration: they live as long
        as the daemon) out of the garbage collector's reach with
        L{gc.freeze}.  Its full collections then scan the sessions only:
        with a thousand players, the pause of each was the slowest chat
        line (docs/benchmarks.md).  The daemon sets it
        (L{gateway.tap.makeService}); tests, which share one process, do
        not.
    """

    freeze_on_start = False

    def startService(self):
        super().startService()
        if self.freeze_on_start:
            gc.collect()
            gc.freeze()
            log.info("Start-up objects left out of garbage collection: {count}", count=gc.get_freeze_count())

    @defer.inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        for service in reversed(list(self)):
            try:
                yield service.stopService()
            except Exception:
                log.failure("Stopping {name} failed", name=service.name)

    def privilegedStartService(self):
        try:
            super().privilegedStartService()
        except StartupError as e:
            raise SystemExit(f"gateway: {e}")


def prepare_data_dir(path):
    """
    Create the data directory (owner-only) if it is missing.

    @raise StartupError: when it cannot be created or written.
    """
    try:
        path.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as e:
        raise StartupError(f"{path}: cannot create the data directory: {e.strerror}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise StartupError(f"{path}: the data directory is not writable by this user")


def build_core(config, reactor, parent):
    """
    Build the store, portal, game plugins and game core, attaching their
    services to C{parent}.

    @rtype: L{GameCore}
    """
    data_dir = config.data_dir
    prepare_data_dir(data_dir)
    database = data_dir / DATABASE_NAME
    open_database(database).close()
    games = GameHost(load_games(config.game.plugins, available_games()), config.world_file)
    rooms, start_room = load_rooms(config.world_file, games.room_files())
    world = World(rooms, start_room, config.world.crowd)

    pool = connection_pool(database)
    StoreService(pool).setServiceParent(parent)
    store = Store(pool)

    metrics = Metrics(reactor)
    threads = ThreadPool(minthreads=0, maxthreads=config.server.hash_threads, name="gateway-hash")
    ThreadPoolService(threads).setServiceParent(parent)
    hasher = PasswordHasher(metrics.timed_hashing(thread_runner(reactor, threads, config.server.hash_nice)))

    portal = Portal(
        Realm(store),
        [
            PasswordChecker(store, hasher),
            RegistrationChecker(store, hasher, config.accounts, start_room),
            SSHKeyChecker(store),
            CertificateChecker(store),
        ],
    )
    return GameCore(config, world, store, portal, hasher, games, reactor, metrics)


def listener_factory(plugin, core, listener, source):
    """
    Ask a frontend plugin for one listener's protocol factory; whatever goes
    wrong is reported with the listener's name.

    @raise ConfigError: when the plugin refuses the listener's options.
    @raise StartupError: when the plugin's code cannot be imported (a
        missing optional dependency), finds something it needs unusable
        (its own L{StartupError}), or fails.
    """
    where = f"listeners.{listener.name} (frontend {listener.frontend!r})"
    try:
        return plugin.getFactory(core, core.portal, listener.options)
    except ConfigError as e:
        raise ConfigError(f"{source}: {where}: {e}")
    except ImportError as e:
        raise StartupError(f"{where}: the frontend's code cannot be imported: {e}")
    except StartupError as e:
        # The plugin already says what is wrong (a key file, ...).
        raise StartupError(f"{where}: {e}")
    except Exception as e:
        log.failure("Frontend plugin {name!r} failed", name=listener.frontend)
        raise StartupError(f"{where}: the frontend plugin failed: {type(e).__name__}: {e}")


def build_listeners(config, core, reactor, parent, frontends, limiter=None):
    """
    Add one L{ListenerService} per enabled listener to C{parent}, each
    factory wrapped in a L{LimitingFactory} (and, for a listener with
    C{trusted_proxies}, in a L{ProxiedFactory} outside it).  The limits
    leave alone the own connections of the listener's trusted proxies and
    of those its frontend trusts (L{IForwardingFactory}).

    @param frontends: the installed plugins, a
        L{gateway.frontends.plugin.InstalledPlugins}.
    @param limiter: the L{ConnectionLimiter} the listeners share (a new one
        when L{None}).
    @raise ConfigError: for an unknown frontend or bad frontend options.
    """
    source = config.path or "(defaults)"
    if limiter is None:
        limiter = ConnectionLimiter(core.clock, config.limits, core.metrics)
    tls = None
    cores = {}
    for listener in config.listeners.values():
        if not listener.enabled:
            continue
        plugin = frontends.get(listener.frontend)
        if plugin is None:
            raise ConfigError(
                f"{source}: listeners.{listener.name}.frontend {listener.frontend!r} is not an "
                f"installed frontend (available: {frontends.describe()})"
            )
        frontend = factory = listener_factory(
            plugin, listener_core(config, core, reactor, listener, cores), listener, source
        )
        if listener.tls:
            if tls is None:
                tls = _build_tls(config, reactor, parent, source, core)
            factory = tls.wrap(factory, listener, core.store.account_id_by_certificate)
        proxies = list(listener.trusted_proxies)
        if IForwardingFactory.providedBy(frontend):
            proxies += frontend.trusted_proxies
        factory = LimitingFactory(factory, limiter, listener.name, core.outbox.batch, proxies)
        if listener.trusted_proxies:
            factory = ProxiedFactory(factory, listener.trusted_proxies, core.clock, listener.name, limiter=limiter)
        endpoint = endpoints.serverFromString(reactor, listener.endpoint)
        ListenerService(listener.name, listener.endpoint, endpoint, factory, frontend).setServiceParent(parent)


def listener_core(config, core, reactor, listener, cores):
    """
    The core a listener's frontend is given: the built-in world's, or the
    upstream core of the game the listener names (one per upstream and
    login mode, shared by the listeners that have the same).

    @param cores: the upstream cores made so far, by C{(upstream, login)}.
    """
    if not listener.upstream:
        return core
    key = (listener.upstream, listener.login_mode)
    if key not in cores:
        from gateway.upstream.core import UpstreamCore, upstream_endpoint

        upstream = config.upstreams[listener.upstream]
        endpoint = upstream_endpoint(reactor, upstream, config)
        cores[key] = UpstreamCore(core, upstream, endpoint, listener.login_mode)
    return cores[key]


def _build_tls(config, reactor, parent, source, core):
    from gateway.frontends.tls.wrapping import build_tls

    try:
        return build_tls(config, reactor, parent, core.close_log, core.metrics)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}")


def build_service(config, reactor, load=None):
    """
    The whole daemon for a validated configuration.

    @param load: reads the configuration again on SIGHUP (see
        L{ReloadService}); by default C{config}'s file with its data
        directory.

    @raise ConfigError: for configuration only a full build can check.
    @raise StartupError: when a file, directory or database is unusable.
    @rtype: L{GatewayService}
    """
    show_debug(config.server.debug_log)
    top = GatewayService()
    core = build_core(config, reactor, top)
    frontends = available_frontends()
    for module, error in sorted(frontends.broken.items()):
        log.warn("Plugin module {module} failed to import and is not available: {error}", module=module, error=error)
    LiveSettingsService(core).setServiceParent(top)
    limiter = ConnectionLimiter(core.clock, config.limits, core.metrics)
    limiter.setServiceParent(top)
    GamePluginsService(core, config.data_dir).setServiceParent(top)
    shutdown = ShutdownService(core, limiter, config.shutdown, reactor)
    shutdown.setServiceParent(top)
    build_listeners(config, core, reactor, top, frontends, limiter)
    if load is None:
        load = functools.partial(load_config, config.path, None, config.data_dir)
    GameReloadService(core, config.data_dir).setServiceParent(top)
    ReloadService(reactor, load).setServiceParent(top)
    add_process_collectors(core.metrics.registry)
    ReactorWatch(core.metrics, reactor).setServiceParent(top)
    # Last: it says "ready" once everything above has started.
    NotifyService(Notifier(), core.metrics, reactor).setServiceParent(top)
    log.info(
        "gateway configured from {source}; data in {data}",
        source=config.path or "(defaults)", data=config.data_dir,
    )
    return top
