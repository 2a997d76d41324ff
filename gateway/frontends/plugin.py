"""
Declaring frontends as Twisted plugins without importing them, and finding
the installed ones.
"""

import importlib
import sys

from twisted.plugin import IPlugin, getCache
from twisted.python.modules import getModule
from zope.interface import implementer

from gateway.interfaces import IFrontendPlugin


@implementer(IPlugin, IFrontendPlugin)
class LazyFrontend:
    """
    A frontend plugin whose code is imported only when a listener uses it.

    @ivar factory_path: C{"package.module:function"}; the function is
        called as C{function(core, portal, options)}.
    """

    def __init__(self, name, description, factory_path):
        self.name = name
        self.description = description
        self.factory_path = factory_path

    def getFactory(self, core, portal, options):
        module, _, function = self.factory_path.partition(":")
        return getattr(importlib.import_module(module), function)(core, portal, options)


class InstalledPlugins(dict):
    """
    The installed plugins of one kind (frontends, game plugins) by name,
    and the plugin modules that could not be imported (so they are
    reported instead of silently missing).

    @ivar broken: plugin module name to a one-line description of why it
        failed to import.
    """

    def __init__(self, plugins=(), broken=None):
        super().__init__(plugins)
        self.broken = dict(broken or {})

    def describe(self):
        """
        The available names, and the broken modules if any, for messages.

        @rtype: L{str}
        """
        text = ", ".join(sorted(self)) or "none"
        if self.broken:
            text += "; plugin modules that failed to import: " + "; ".join(
                f"{module} ({error})" for module, error in sorted(self.broken.items())
            )
        return text

    def listing(self):
        """
        A table of the installed frontends for C{twistd gateway --help}.

        @rtype: L{str}
        """
        width = max((len(name) for name in self), default=0)
        lines = [f"  {name:<{width}}  {self[name].description}" for name in sorted(self)]
        lines += [f"  (broken) {module}: {error}" for module, error in sorted(self.broken.items())]
        return "\n".join(lines) or "  (none)"


def _import_error(module_name):
    """
    Import a plugin module that Twisted could not cache, to describe why.

    @return: C{"ExceptionType: message"}, or L{None} if it imports now.
    """
    try:
        importlib.import_module(module_name)
    except BaseException as e:
        sys.modules.pop(module_name, None)
        return f"{type(e).__name__}: {e}"
    return None


def available_frontends(package=None):
    """
    Every installed frontend plugin by name (see L{available_plugins}).

    @param package: the plugin package to search (C{twisted.plugins} when
        L{None}).
    @rtype: L{InstalledPlugins}
    """
    return available_plugins(IFrontendPlugin, package)


def available_plugins(interface, package=None):
    """
    Every installed plugin providing C{interface} by name, found when
    called (never at import time) the way L{twisted.plugin.getPlugins}
    finds them: through Twisted's plugin cache, which imports only modules
    that changed.

    A plugin module that raises on import does not stop the others: Twisted
    logs its traceback and leaves it out of the cache, and it is listed in
    L{InstalledPlugins.broken}.  When two plugins share a name the first
    found wins.

    @param interface: the plugin interface, e.g. L{IFrontendPlugin}.
    @param package: the plugin package to search (C{twisted.plugins} when
        L{None}).
    @rtype: L{InstalledPlugins}
    """
    if package is None:
        import twisted.plugins as package

    cached = getCache(package)
    broken = {}
    for module in getModule(package.__name__).iterModules():
        key = module.name.rpartition(".")[2]
        if key not in cached:
            error = _import_error(module.name)
            if error is not None:
                broken[module.name] = error
    found = InstalledPlugins()
    for key in sorted(cached):
        dropin = cached[key]
        for cached_plugin in dropin.plugins:
            try:
                plugin = interface(cached_plugin, None)
            except Exception as e:
                broken[dropin.moduleName] = f"{type(e).__name__}: {e}"
                continue
            if plugin is not None:
                found.setdefault(plugin.name, plugin)
    found.broken = broken
    return found
