"""
The telnet frontend, on L{twisted.conch.telnet}: Twisted's option
negotiation (RFC 1143 Q method) under a parser that never raises on hostile
bytes, bounds subnegotiations, and leaves line endings to L{LineBuffer}.
"""

from dataclasses import dataclass

from twisted.conch import telnet
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger
from zope.interface import implementer

from gateway.config import build_settings
from gateway.core.capabilities import Capabilities
from gateway.frontends.addresses import describe
from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.frontends.text import decode_line, encode_line
from gateway.frontends.tls.handshake import IVerifiedTLS
from gateway.interfaces import ISessionTransport

IAC = telnet.IAC
_COMMANDS = frozenset(
    [telnet.EOR, telnet.NOP, telnet.DM, telnet.BRK, telnet.IP, telnet.AO, telnet.AYT, telnet.EC, telnet.EL, telnet.GA]
)
_NEGOTIATIONS = frozenset([telnet.WILL, telnet.WONT, telnet.DO, telnet.DONT])


class GatewayTelnetTransport(telnet.TelnetTransport):
    """
    L{telnet.TelnetTransport} with a sturdier byte parser.

    Unlike Twisted's parser it ignores unknown commands after IAC instead of
    raising, drops NUL (the NVT no-op, as in CR NUL), bounds the bytes of a
    subnegotiation to L{MAX_SUBNEGOTIATION} (a longer one is discarded), and
    passes CR and LF through for the protocol to treat as line ends.  Writes
    double IAC bytes and nothing else: the protocol writes CR LF itself.
    """

    MAX_SUBNEGOTIATION = 8192
    log = Logger()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._subnegotiation = bytearray()
        self._subnegotiation_overflow = False

    def write(self, data):
        self.transport.write(data.replace(IAC, IAC + IAC))

    def writeSequence(self, seq):
        self.write(b"".join(seq))

    def dataReceived(self, data):
        app = []
        i, end = 0, len(data)
        while i < end:
            state = self.state
            if state == "data":
                j = data.find(IAC, i)
                stop = end if j < 0 else j
                if stop > i:
                    app.append(data[i:stop].replace(b"\0", b""))
                if j < 0:
                    break
                i, self.state = j + 1, "escaped"
            elif state == "escaped":
                byte = data[i:i + 1]
                i += 1
                self.state = "data"
                if byte == IAC:
                    app.append(IAC)
                elif byte == telnet.SB:
                    self.state = "subnegotiation"
                    self._subnegotiation.clear()
                    self._subnegotiation_overflow = False
                elif byte in _NEGOTIATIONS:
                    self.state, self.command = "command", byte
                elif byte in _COMMANDS:
                    self._deliver(app)
                    self.commandReceived(byte, None)
                else:
                    self.log.debug("Ignored unknown telnet command {byte!r}", byte=byte)
            elif state == "command":
                option = data[i:i + 1]
                i += 1
                self.state = "data"
                self._deliver(app)
                self.commandReceived(self.command, option)
            elif state == "subnegotiation":
                j = data.find(IAC, i)
                stop = end if j < 0 else j
                self._collect(data[i:stop])
                if j < 0:
                    break
                i, self.state = j + 1, "subnegotiation-escaped"
            else:  # subnegotiation-escaped
                byte = data[i:i + 1]
                i += 1
                if byte == telnet.SE:
                    self.state = "data"
                    self._deliver(app)
                    self._finish_subnegotiation()
                else:
                    # IAC IAC is an escaped 255; any other byte after IAC
                    # inside a subnegotiation is a client error, kept as is.
                    self.state = "subnegotiation"
                    self._collect(byte if byte == IAC else IAC + byte)
        self._deliver(app)

    def _deliver(self, app):
        if app:
            data = b"".join(app)
            del app[:]
            if data:
                self.applicationDataReceived(data)

    def _collect(self, chunk):
        if len(self._subnegotiation) + len(chunk) > self.MAX_SUBNEGOTIATION:
            self._subnegotiation_overflow = True
        elif not self._subnegotiation_overflow:
            self._subnegotiation += chunk

    def _finish_subnegotiation(self):
        if self._subnegotiation_overflow:
            self.log.warn("Discarded a telnet subnegotiation over {limit} bytes", limit=self.MAX_SUBNEGOTIATION)
        elif self._subnegotiation:
            self.negotiate([bytes([b]) for b in self._subnegotiation])
        self._subnegotiation.clear()


def _negotiation_failed(failure):
    """
    A refused, redundant or interrupted option negotiation is no error: the
    connection simply carries on without the option.
    """
    failure.trap(
        telnet.OptionRefused, telnet.AlreadyEnabled, telnet.AlreadyDisabled,
        telnet.AlreadyNegotiating, ConnectionDone, ConnectionLost,
    )


@implementer(ISessionTransport)
class TelnetFrontend(telnet.TelnetProtocol):
    """
    Adapts a telnet connection to a core session: decodes lines, hides
    password input with the ECHO option, and writes CR LF text.
    """

    log = Logger()
    protocol_name = "telnet"

    def __init__(self, core, settings):
        """
        @param core: the L{gateway.core.game.GameCore}.
        @param settings: this listener's L{TelnetOptions}.
        """
        self.core = core
        self.settings = settings
        self.session = None
        self._hide_input = False
        self._echo_negotiation = None

    def connectionMade(self):
        # The TLS handshake gate, when there is one, is the telnet
        # transport's own transport.
        tls = self.transport.transport
        self.capabilities = Capabilities(
            protocol=self.protocol_name, peer=describe(self.transport.getPeer()),
            secure=ISSLTransport.providedBy(tls),
            certificate=(tls.fingerprint if IVerifiedTLS.providedBy(tls) else None) or "",
        )
        self._lines = LineBuffer(self.core.settings.limits.max_line_bytes)
        self.session = self.core.connect(self)

    def dataReceived(self, data):
        for line in self._lines.feed(data):
            if line is TOO_LONG:
                self.send(f"That line was too long (over {self._lines.max_bytes} bytes) and was ignored.")
            else:
                self.session.line_received(decode_line(line))

    def connectionLost(self, reason):
        if self.session is not None:
            self.session.connection_lost(reason)

    # Telnet options: the server may echo (to hide passwords) and suppress
    # go-ahead; it asks nothing of the client yet.  Everything else is
    # refused by TelnetTransport because these return False.

    def enableLocal(self, option):
        return option in (telnet.ECHO, telnet.SGA)

    def enableRemote(self, option):
        return option == telnet.SGA

    def disableLocal(self, option):
        pass

    def disableRemote(self, option):
        pass

    # ISessionTransport

    def send(self, text):
        self.transport.write(encode_line(text))

    def send_prompt(self, text):
        self.transport.write(encode_line(text, newline=False))

    def set_echo(self, on):
        hide = not on
        if hide == self._hide_input:
            return
        self._hide_input = hide
        if on:
            # The client did not echo the line end of the hidden input.
            self.transport.write(b"\r\n")
        if self._echo_negotiation is None:
            self._echo_negotiation = self._negotiate_echo()
        else:
            self._echo_negotiation.addBoth(lambda _: self._negotiate_echo())

    def _negotiate_echo(self):
        """
        Bring the ECHO option in line with the latest wish, after any
        negotiation in flight has settled.
        """
        state = self.transport.getOptionState(telnet.ECHO).us.state
        if self._hide_input and state == "no":
            return self.transport.will(telnet.ECHO).addErrback(_negotiation_failed)
        if not self._hide_input and state == "yes":
            return self.transport.wont(telnet.ECHO).addErrback(_negotiation_failed)
        return None

    def close(self, reason=None):
        if reason:
            self.send(reason)
        self.transport.loseConnection()


@dataclass(frozen=True)
class TelnetOptions:
    """
    The C{options} table of a telnet listener.  Telnet has no options of its
    own yet; unknown keys are refused.
    """


def build_factory(core, portal, options):
    """
    The protocol factory for a telnet listener (see
    L{gateway.interfaces.IFrontendPlugin.getFactory}).
    """
    settings = build_settings(TelnetOptions, options, "options")
    factory = ServerFactory()
    factory.protocol = lambda: GatewayTelnetTransport(TelnetFrontend, core, settings)
    return factory
