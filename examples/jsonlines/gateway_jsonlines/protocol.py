"""
The JSON-lines protocol: every line each way is one JSON message of
L{gateway.frontends.messages} (C{{"type": "line", "text": "look"}} in,
C{{"type": "text", ...}}, C{"prompt"}, C{"echo"}, C{"close"} out).
"""

from dataclasses import dataclass

from twisted.internet.protocol import Protocol, ServerFactory

from gateway.config import build_settings, setting
from gateway.frontends import messages
from gateway.frontends.base import LineFrontend, capabilities_of


@dataclass(frozen=True)
class JSONLinesOptions:
    """
    The C{options} table of a jsonlines listener.

    @ivar hello: whether to greet a new connection with a C{hello} message
        naming the protocol, before the login dialogue.
    """

    hello: bool = setting(True)


class JSONLinesProtocol(LineFrontend, Protocol):
    """
    One JSON-lines client: its lines go to the core's session as messages,
    and what the core says comes back as one JSON object per line.
    L{LineFrontend} does the rest (line length, flow control, closing).
    """

    def __init__(self, core, settings):
        self.core = core
        self.settings = settings

    def connectionMade(self):
        self.capabilities = capabilities_of(self.transport, "jsonlines")
        self.buffer_lines()
        if self.settings.hello:
            self._write('{"type":"hello","protocol":"gateway-jsonlines/1"}')
        self.session_started(self.core.connect(self))

    def dataReceived(self, data):
        self.data_received(data)

    def connectionLost(self, reason):
        self.end_session(reason)

    def handle_line(self, text):
        if text.strip():
            try:
                messages.deliver(text, self.session, self.capabilities, self.lines.max_bytes)
            except messages.MessageError as e:
                self._write(messages.error_message(str(e)))

    def _write(self, message):
        self.transport.write(message.encode("utf-8") + b"\n")

    # ISessionTransport

    def send(self, text):
        self._write(messages.text_message(text))

    def send_prompt(self, text):
        self._write(messages.prompt_message(text))

    def set_echo(self, on):
        self._write(messages.echo_message(on))

    def farewell(self, reason):
        self._write(messages.close_message(reason))


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
