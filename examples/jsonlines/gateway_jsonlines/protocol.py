"""
The JSON-lines protocol: every line each way is one JSON message of
L{gateway.frontends.messages} (C{{"type": "line", "text": "look"}} in,
C{{"type": "text", ...}}, C{"prompt"}, C{"echo"}, C{"close"} out).
"""

from dataclasses import dataclass

from twisted.internet.protocol import Protocol, ServerFactory
from zope.interface import implementer

from gateway.config import build_settings, setting
from gateway.core.capabilities import Capabilities
from gateway.frontends import messages
from gateway.frontends.addresses import describe
from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.interfaces import ISessionTransport


@dataclass(frozen=True)
class JSONLinesOptions:
    """
    The C{options} table of a jsonlines listener.

    @ivar hello: whether to greet a new connection with a C{hello} message
        naming the protocol, before the login dialogue.
    """

    hello: bool = setting(True)


@implementer(ISessionTransport)
class JSONLinesProtocol(Protocol):
    """
    One JSON-lines client: its lines go to the core's session as messages,
    and what the core says comes back as one JSON object per line.
    """

    def __init__(self, core, settings):
        self.core = core
        self.settings = settings
        self.session = None

    def connectionMade(self):
        core = self.core  # not self: the buffer must not point back here
        self.capabilities = Capabilities(protocol="jsonlines", peer=describe(self.transport.getPeer()))
        self._lines = LineBuffer(lambda: core.limits.max_line_bytes)
        if self.settings.hello:
            self._write('{"type":"hello","protocol":"gateway-jsonlines/1"}')
        self.session = self.core.connect(self)

    def dataReceived(self, data):
        for line in self._lines.feed(data):
            if line is TOO_LONG:
                self._write(messages.error_message("that line was too long and was ignored"))
            elif line.strip():
                try:
                    messages.deliver(line.decode("utf-8", "replace"), self.session, self.capabilities, self._lines.max_bytes)
                except messages.MessageError as e:
                    self._write(messages.error_message(str(e)))

    def connectionLost(self, reason):
        if self.session is not None:
            self.session.connection_lost(reason)

    def _write(self, message):
        self.transport.write(message.encode("utf-8") + b"\n")

    # ISessionTransport

    def send(self, text):
        self._write(messages.text_message(text))

    def send_prompt(self, text):
        self._write(messages.prompt_message(text))

    def set_echo(self, on):
        self._write(messages.echo_message(on))

    def close(self, reason=None):
        self._write(messages.close_message(reason))
        self.transport.loseConnection()


def build_factory(core, portal, options):
    """
    The protocol factory for a jsonlines listener: what the plugin's
    C{getFactory} returns.  Options are validated with gateway's
    L{build_settings}, so a typo stops the daemon with a clear message.
    """
    settings = build_settings(JSONLinesOptions, options, "options")
    factory = ServerFactory()
    factory.protocol = lambda: JSONLinesProtocol(core, settings)
    return factory
