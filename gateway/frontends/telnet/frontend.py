"""
The telnet frontend: one telnet connection as an L{ISessionTransport}.
"""

import codecs
import ipaddress

from twisted.conch import telnet
from twisted.internet import task
from zope.interface import implementer

from gateway.frontends.addresses import host_of
from gateway.frontends.base import LineFrontend, capabilities_of
from gateway.frontends.telnet.base import EndOfRecord
from gateway.frontends.telnet.charset import Charset
from gateway.frontends.telnet.codes import ECHO, EOR, EOR_MARK, GA, NAMES, NOP, SGA
from gateway.frontends.telnet.environ import Environment
from gateway.frontends.telnet.gmcp import Gmcp
from gateway.frontends.telnet.mccp import Compression
from gateway.frontends.telnet.msdp import Msdp
from gateway.frontends.telnet.mssp import ServerStatus
from gateway.frontends.telnet.terminal import TerminalType, WindowSize
from gateway.frontends.text import decode_line, encode_line
from gateway.interfaces import IMSDPRelay, IMSDPTransport, IOutputFlow, IStructuredTransport
from gateway.logtext import Logger


def option_handlers(settings, secure, msdp=False):
    """
    The option handler classes a listener with C{settings} uses, in the
    order they are offered at connect.

    @param secure: whether the connection is encrypted; MCCP2 is then left
        out, as compressing before encrypting lets an eavesdropper learn
        secrets from the compressed sizes (CRIME).
    @param msdp: whether the core relays MSDP (L{IMSDPRelay}).
    """
    handlers = [EndOfRecord, TerminalType, WindowSize, Environment, Charset]
    if settings.mssp:
        handlers.append(ServerStatus)
    if settings.gmcp:
        handlers.append(Gmcp)
    if msdp:
        handlers.append(Msdp)
    if settings.mccp and not secure:
        handlers.append(Compression)
    return handlers


@implementer(IStructuredTransport, IOutputFlow, IMSDPTransport)
class TelnetFrontend(LineFrontend, telnet.TelnetProtocol):
    """
    Adapts a telnet connection to a core session: offers the MUD client
    options at connect (without waiting for answers: the banner follows at
    once), decodes lines in the agreed encoding, hides password input with
    the ECHO option, and writes CR LF text rendered for the client's width
    and colours, prompts marked with EOR or GA.

    @ivar encoding: the encoding text is sent and received in.
    @ivar handlers: option code to its L{gateway.frontends.telnet.base.OptionHandler}.
    """

    log = Logger()
    protocol_name = "telnet"

    def __init__(self, core, settings):
        """
        @param core: the L{gateway.interfaces.IGatewayCore}.
        @param settings: this listener's L{gateway.frontends.telnet.options.TelnetOptions}.
        """
        self.core = core
        self.settings = settings
        self.encoding = codecs.lookup(settings.encoding).name
        self.handlers = {}
        self._hide_input = False
        self._keepalive = None

    def connectionMade(self):
        self.capabilities = capabilities_of(self.transport.transport, self.protocol_name, utf8=self.encoding == "utf-8")
        secure = self.capabilities.secure
        self.buffer_lines()
        nodelay = getattr(self.transport.transport, "setTcpNoDelay", None)
        if nodelay is not None and self.settings.nodelay:
            # Send each write at once rather than wait for the client's
            # delayed ACK (Nagle); see docs/benchmarks.md.
            try:
                nodelay(True)
            except OSError:
                pass  # not a TCP socket (a Unix socket listener)
        self.handlers = {cls.option: cls(self) for cls in option_handlers(self.settings, secure, IMSDPRelay.providedBy(self.core))}
        self.transport.offer([(handler.option, handler.offer == "will") for handler in self.handlers.values()])
        self.session_started(self.core.connect(self))
        if self.settings.keepalive:
            self._keepalive = task.LoopingCall(self.transport.write_command, NOP)
            self._keepalive.clock = self.core.clock
            self._keepalive.start(self.settings.keepalive, now=False)

    def dataReceived(self, data):
        self.data_received(data)

    def decode(self, line):
        return decode_line(line, self.encoding)

    def input_producer(self):
        # Below the telnet layer.
        return self.transport.transport

    def connectionLost(self, reason):
        if self._keepalive is not None and self._keepalive.running:
            self._keepalive.stop()
        self.end_session(reason)
        # The handlers point back here: let go of them, so a closed
        # connection is freed as soon as nothing uses it.
        self.handlers = {}

    # What option handlers use.

    def changed(self):
        """
        Tell the session the capabilities changed.
        """
        if self.session is not None:
            self.session.capabilities_changed()

    def set_encoding(self, name):
        """
        Send and receive text in the encoding C{name} from now on; an
        encoding Python does not know is ignored.

        @return: whether the encoding is now C{name}.
        """
        try:
            info = codecs.lookup(name)
        except LookupError:
            self.log.info("Ignored unknown encoding {name!r} from {peer}", name=name, peer=self.capabilities.peer)
            return False
        self.encoding = info.name
        self.capabilities.utf8 = info.name == "utf-8"
        return True

    def from_trusted_proxy(self):
        """
        Whether the peer is one of the listener's C{trusted_proxies}, whose
        word on the player's address (MNES C{IPADDRESS}) is believed.
        """
        try:
            address = ipaddress.ip_address(host_of(self.transport.getPeer()))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net) for net in self.settings.trusted_proxies)

    def is_on(self, option, local):
        """
        Whether C{option} is enabled on the server's side (C{local}) or the
        client's.
        """
        return self.transport.option_on(option, local)

    # Telnet options (see GatewayTelnetTransport for when these are called).

    def enableLocal(self, option):
        if option == ECHO:
            return self._hide_input
        if option == SGA:
            return True
        handler = self.handlers.get(option)
        return handler is not None and True in handler.sides

    def enableRemote(self, option):
        if option == SGA:
            return True
        handler = self.handlers.get(option)
        return handler is not None and False in handler.sides

    def option_enabled(self, option, local):
        self.log.debug("{peer}: {side} {option} on", peer=self.capabilities.peer,
                       side="server" if local else "client", option=NAMES.get(option, option))
        handler = self.handlers.get(option)
        if handler is not None:
            handler.enabled(local)

    def disableLocal(self, option):
        handler = self.handlers.get(option)
        if handler is not None:
            handler.disabled(True)

    def disableRemote(self, option):
        handler = self.handlers.get(option)
        if handler is not None:
            handler.disabled(False)

    def unhandledSubnegotiation(self, command, data):
        handler = self.handlers.get(command)
        if handler is None or not (self.is_on(command, True) or self.is_on(command, False)):
            self.log.debug("Ignored a subnegotiation for option {option!r} that is not on", option=command)
            return
        handler.received(b"".join(data))

    # ISessionTransport

    def _encode(self, text, newline):
        caps = self.capabilities
        width = caps.wrap_width() if newline else 0
        return encode_line(text, self.encoding, newline, width, caps.colour_level())

    def send(self, text):
        self.transport.write(self._encode(text, True))

    def send_prompt(self, text):
        prompt = self._encode(text, False)
        if self.is_on(EOR, True):
            self.transport.write_command(EOR_MARK, prompt)
        elif not self.is_on(SGA, True):
            self.transport.write_command(GA, prompt)
        else:
            self.transport.write(prompt)

    def send_data(self, package, data):
        handler = self.handlers.get(Gmcp.option)
        if handler is not None and self.is_on(Gmcp.option, True):
            handler.send_data(package, data)

    def msdp_on(self):
        return Msdp.option in self.handlers and self.is_on(Msdp.option, True)

    def send_msdp(self, payload):
        if self.msdp_on():
            self.handlers[Msdp.option].send(payload)

    def set_echo(self, on):
        hide = not on
        if hide == self._hide_input:
            return
        self._hide_input = hide
        if on:
            # The client did not echo the line end of the hidden input.
            self.transport.write(b"\r\n")
        self.transport.hide_input(hide)
