"""
GMCP, the Generic MUD Communication Protocol: JSON messages next to the
text (https://tintin.mudhalla.net/protocols/gmcp/).
"""

import json

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import GMCP
from gateway.frontends.text import strict_json
from gateway.interfaces import IStructuredInput
from gateway.logtext import loggable

#: How many modules a client may declare with Core.Supports.
MAX_MODULES = 64


def encode_message(package, data):
    """
    One GMCP message: the package name, a space and the JSON body.

    @rtype: L{bytes}
    """
    return f"{package} {json.dumps(data, separators=(',', ':'))}".encode("utf-8")


def decode_message(payload):
    """
    Split a received GMCP message into its package and JSON body.

    @type payload: L{bytes}
    @return: C{(package, data)}; C{data} is L{None} without a body.
    @raise ValueError: for a message that is not UTF-8, has no printable
        package name, or whose body is not JSON (or nests too deeply).
    """
    text = payload.decode("utf-8")
    package, _, body = text.strip().partition(" ")
    if not package or not package.isprintable() or len(package) > 128:
        raise ValueError(f"bad package name '{loggable(package, 40)}'")
    try:
        return package, (strict_json(body) if body.strip() else None)
    except RecursionError:
        raise ValueError("JSON nested too deeply")


class Gmcp(OptionHandler):
    """
    GMCP on the server's side: records the client's C{Core.Hello} and
    C{Core.Supports}, answers C{Core.Ping}, and sends the core's
    structured messages (L{send_data}) in the modules the client declared
    (all of them when it declared none).

    @ivar modules: the lower-cased module names the client supports.
    """

    __slots__ = ("modules",)

    option = GMCP

    def __init__(self, frontend):
        super().__init__(frontend)
        # Immutable and rebound on change: the empty one costs no memory.
        self.modules = frozenset()

    def enabled(self, local):
        self.frontend.capabilities.structured = True
        self.frontend.changed()

    def disabled(self, local):
        self.frontend.capabilities.structured = False
        self.frontend.changed()

    def send_data(self, package, data):
        """
        Send a message, unless the client declared modules and this is in
        none of them.
        """
        if self.wanted(package):
            self.send(encode_message(package, data))

    def wanted(self, package):
        if not self.modules or package.startswith("Core."):
            return True
        parts = package.lower().split(".")
        return any(".".join(parts[:n]) in self.modules for n in range(1, len(parts) + 1))

    def received(self, data):
        try:
            package, body = decode_message(data)
        except ValueError as e:
            self.log.debug("Ignored malformed GMCP from {peer}: {error}", peer=self.frontend.capabilities.peer, error=e)
            return
        handler = {
            "core.hello": self._hello, "core.supports.set": self._supports_set,
            "core.supports.add": self._supports_add, "core.supports.remove": self._supports_remove,
            "core.ping": self._ping,
        }.get(package.lower())
        if handler is not None:
            handler(body)
        session = self.frontend.session
        if IStructuredInput.providedBy(session) and package.lower() not in ("core.hello", "core.ping"):
            session.data_received(package, body)
        elif handler is None:
            self.log.debug("Ignored GMCP {package}", package=loggable(package))

    def _hello(self, body):
        if not isinstance(body, dict):
            return
        caps = self.frontend.capabilities
        for key, field in (("client", "client"), ("version", "client_version")):
            if isinstance(body.get(key), str):
                setattr(caps, field, "".join(c for c in body[key] if c.isprintable())[:64])
        self.frontend.changed()

    def _supports_set(self, body):
        self.modules = frozenset()
        self._supports_add(body)

    def _supports_add(self, body):
        modules = set(self.modules)
        for name in _module_names(body):
            if len(modules) < MAX_MODULES:
                modules.add(name)
        self.modules = frozenset(modules)

    def _supports_remove(self, body):
        self.modules = self.modules.difference(_module_names(body))

    def _ping(self, body):
        self.send(b"Core.Ping")


def _module_names(body):
    """
    The lower-cased module names of a Core.Supports list (C{"Room 1"}).
    """
    if not isinstance(body, list):
        return []
    return [item.split()[0].lower() for item in body if isinstance(item, str) and item.strip()]
