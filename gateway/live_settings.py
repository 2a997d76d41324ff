"""
The core's part of a reload (see L{gateway.sighup}): what is safe to
change while players are connected is applied, the rest waits for a
restart, and both are logged.
"""

import dataclasses

from twisted.application.service import Service
from twisted.logger import Logger
from zope.interface import implementer

from gateway.sighup import IReconfigurable

#: The settings applied live: section to its live keys (L{None}: all of
#: them).  Everything else (listeners, upstreams, data directory, TLS files, world,
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
        added, removed or changed is C{("listeners", NAME, ...)}, an
        upstream C{("upstreams", NAME, ...)}.
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
        elif section.name in ("listeners", "upstreams"):
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    changes.append((section.name, name, before.get(name), after.get(name)))
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
    if section in ("listeners", "upstreams"):
        what = "added" if before is None else "removed" if after is None else "changed"
        return f"{section}.{key} ({what})"
    return f"{section}.{key} {before!r} -> {after!r}"


@implementer(IReconfigurable)
class LiveSettingsService(Service):
    """
    The core's slice of a new configuration: its live settings
    (L{LIVE_SETTINGS}) are applied to the core, and every change is
    logged, the ones that wait for a restart among them.  The other
    services take their own slices (the connection limits, the shutdown,
    TLS, the game plugins, listeners whose frontend follows reloads).

    The login settings apply to logins started after the reload;
    everything else live (command rate, line length, idle timeout, the
    output and queue bounds, the throttles, the banner) applies at once.
    """

    name = "config"
    log = Logger()

    def __init__(self, core):
        """
        @param core: the L{gateway.core.game.GameCore}; its C{settings}
            are the configuration in service.
        """
        self.core = core

    def reconfigService(self, new_config):
        current = self.core.settings
        source = current.path or "(defaults)"
        changes = changed_settings(current, new_config)
        live = [change for change in changes if is_live(*change[:2])]
        later = [change for change in changes if not is_live(*change[:2])]
        if live:
            self.core.reconfigure(apply_live(current, live))
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
