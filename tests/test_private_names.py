"""
gateway's classes stay off the private names of the libraries they build
on (Twisted, autobahn, ...): none defines a C{_name} that one of its
third-party base classes defines, which would replace that library's
internals by accident or on purpose, and none calls one.
"""

import importlib
import inspect
import pkgutil
import re

from twisted.trial.unittest import SynchronousTestCase

import gateway


def gateway_classes():
    """
    Every class defined in a module of the C{gateway} package.
    """
    for info in pkgutil.walk_packages(gateway.__path__, "gateway."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                yield value


def private_overrides(cls):
    """
    The private names C{cls} defines that a base class from outside
    gateway defines too, as C{"Class._name overrides module.Base"}.
    """
    for name in vars(cls):
        if not name.startswith("_") or name.startswith("__"):
            continue
        for base in cls.__mro__[1:]:
            if not base.__module__.startswith("gateway") and name in vars(base):
                yield f"{cls.__module__}.{cls.__qualname__}.{name} overrides {base.__module__}.{base.__qualname__}"


def private_uses(cls):
    """
    The private methods and class attributes of a base class from outside
    gateway that C{cls}'s own code reaches as C{self._name}, as
    C{"Class uses module.Base._name"}.
    """
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return
    ours = {name for klass in cls.__mro__ if klass.__module__.startswith("gateway") for name in vars(klass)}
    for name in sorted(set(re.findall(r"self\.(_[A-Za-z]\w*)", source)) - ours):
        for base in cls.__mro__[1:]:
            if not base.__module__.startswith("gateway") and name in vars(base):
                yield f"{cls.__module__}.{cls.__qualname__} uses {base.__module__}.{base.__qualname__}.{name}"


class PrivateNameTests(SynchronousTestCase):
    def test_no_private_name_of_a_library_is_overridden(self):
        found = [override for cls in gateway_classes() for override in private_overrides(cls)]
        self.assertEqual(found, [])

    def test_no_private_method_of_a_library_is_called(self):
        found = [use for cls in gateway_classes() for use in private_uses(cls)]
        self.assertEqual(found, [])

    def test_an_override_is_found(self):
        """
        The check finds a private method of Twisted defined again.
        """
        from twisted.conch.telnet import Telnet

        class Parser(Telnet):
            def _write(self, data):
                pass

        self.assertEqual(len(list(private_overrides(Parser))), 1)

    def test_a_use_is_found(self):
        """
        The check finds a private method of autobahn called (one that is
        not the class's own).
        """
        from gateway.frontends.websocket import WebSocketFrontend

        self.assertEqual(list(private_uses(WebSocketFrontend)), [])
        source = "class WebSocketFrontend:\n    def f(self):\n        self._send()\n"
        self.patch(inspect, "getsource", lambda cls: source)
        self.assertEqual(len(list(private_uses(WebSocketFrontend))), 1)
