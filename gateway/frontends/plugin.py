"""
Declaring frontends as Twisted plugins without importing them.
"""

import importlib

from twisted.plugin import IPlugin, getPlugins
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


def available_frontends():
    """
    Every installed frontend plugin by name, found with
    L{twisted.plugin.getPlugins} when called (never at import time).  A
    plugin module that fails to import is logged by Twisted and skipped.

    @rtype: L{dict} of L{str} to L{IFrontendPlugin}
    """
    import twisted.plugins

    found = {}
    for plugin in getPlugins(IFrontendPlugin, twisted.plugins):
        found.setdefault(plugin.name, plugin)
    return found
