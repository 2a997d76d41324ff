"""
Re-reading the configuration file on SIGHUP: what is safe to change while
players are connected is applied, the rest waits for a restart, and both
are logged.  An invalid file changes nothing.
"""

import dataclasses

from twisted.application.service import Service
from twisted.logger import Logger
from zope.interface import implementer

from gateway.errors import ConfigError
from gateway.sighup import IReloadable

#: The settings applied live: section to its live keys (L{None}: all of
#: them).  Everything else (listeners, data directory, TLS files, world,
#: accounts, ...) is read at start-up only.
LIVE_SETTINGS = {
    "limits": None,
    "login": None,
    "shutdown": None,
    "server": ("banner",),
    "sessions": None,
    "game": None,
}


def changed_settings(old, new):
    """
    What differs between two configurations.

    @type old: L{gateway.config.Config}
    @type new: L{gateway.config.Config}
    @return: C{(section, key, old value, new value)} for every changed
        setting, in the order of the sections and their keys; a listener
        added, removed or changed is C{("listeners", NAME, ...)}.
    @rtype: L{list} of L{tuple}
    """
    changes = []
    for section in dataclasses.fields(old):
        before, after = getattr(old, section.name), getattr(new, section.name)
        if dataclasses.is_dataclass(before):
            for key in dataclasses.fields(before):
                a, b = getattr(before, key.name), getattr(after, key.name)
                if a != b:
                    changes.append((section.name, key.name, a, b))
        elif section.name == "listeners":
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    changes.append(("listeners", name, before.get(name), after.get(name)))
    return changes


def is_live(section, key):
    """
    Whether setting C{section.key} can change while the daemon runs.
    """
    return section in LIVE_SETTINGS and (LIVE_SETTINGS[section] is None or key in LIVE_SETTINGS[section])


def apply_live(old, changes):
    """
    C{old} with the live ones of C{changes} applied.

    @param changes: from L{changed_settings}.
    @rtype: L{gateway.config.Config}
    """
    sections = {}
    for section, key, _, value in changes:
        if is_live(section, key):
            sections.setdefault(section, {})[key] = value
    return dataclasses.replace(
        old, **{name: dataclasses.replace(getattr(old, name), **keys) for name, keys in sections.items()}
    )


def _describe(section, key, before, after):
    if section == "listeners":
        what = "added" if before is None else "removed" if after is None else "changed"
        return f"listeners.{key} ({what})"
    return f"{section}.{key} {before!r} -> {after!r}"


@implementer(IReloadable)
class ConfigReloadService(Service):
    """
    Re-reads the configuration file on reload and applies its live
    settings (L{LIVE_SETTINGS}) to the core, the connection limits and the
    shutdown.

    The login settings apply to logins started after the reload, and an
    SSH session keeps the line length it started with; everything else
    live (command rate, line length, idle timeout, the output and queue
    bounds, the caps, the throttles, the banner and the shutdown message)
    applies at once.
    """

    name = "config"
    log = Logger()

    def __init__(self, load, core, limiter, shutdown):
        """
        @param load: reads and validates the configuration file again,
            with the command line's overrides: returns a
            L{gateway.config.Config} or raises L{ConfigError}.
        @param core: the L{gateway.core.game.GameCore}; its C{settings}
            are the configuration in service.
        @param limiter: the L{gateway.frontends.limits.ConnectionLimiter}.
        @param shutdown: the L{gateway.shutdown.ShutdownService}.
        """
        self._load = load
        self.core = core
        self.limiter = limiter
        self.shutdown = shutdown

    def reload(self):
        current = self.core.settings
        source = current.path or "(defaults)"
        try:
            new = self._load()
        except ConfigError as e:
            self.log.error("Configuration reload failed, nothing changed: {error}", error=str(e))
            return False
        changes = changed_settings(current, new)
        live = [change for change in changes if is_live(*change[:2])]
        later = [change for change in changes if not is_live(*change[:2])]
        if live:
            applied = apply_live(current, live)
            self.core.reconfigure(applied)
            self.limiter.reconfigure(applied.limits)
            self.shutdown.settings = applied.shutdown
            self.log.info(
                "Configuration reloaded from {source}, applied: {changes}",
                source=source, changes="; ".join(_describe(*change) for change in live),
            )
        if later:
            self.log.warn(
                "Configuration changes in {source} not applied, they need a restart: {changes}",
                source=source, changes="; ".join(_describe(*change) for change in later),
            )
        if not changes:
            self.log.info("Configuration reloaded from {source}: no changes", source=source)
        return True
