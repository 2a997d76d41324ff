"""
An in-process fake game server for the upstream core, on Twisted's own
telnet implementation: it asks for NEW-ENVIRON, NAWS, TTYPE and CHARSET,
offers GMCP, MCCP2, EOR and ECHO, and records everything it gets.  An
endpoint connects relays to it through L{twisted.test.iosim}, without
sockets.
"""

import zlib

from twisted.conch import telnet
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.test import iosim
from zope.interface import implementer

from gateway.config import UpstreamSettings
from gateway.frontends.telnet.codes import (
    CHARSET, ECHO, EOR, GMCP, IAC, MCCP2, MSDP, MSSP, NAWS, NEW_ENVIRON, SGA, TTYPE,
)
from gateway.frontends.telnet.environ import parse_variables
from gateway.upstream.core import UpstreamCore
from tests.helpers import make_core

SEND, IS = b"\x01", b"\x00"
MNES_VARIABLES = (b"IPADDRESS", b"CLIENT_NAME", b"CLIENT_VERSION", b"TERMINAL_TYPE", b"MTTS", b"CHARSET")


class PausableTransport(iosim.FakeTransport):
    """
    An L{iosim.FakeTransport} that holds what it receives while paused, as
    a socket that is not read.

    @ivar paused: whether reading is paused.
    """

    paused = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held = []

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        # One read at a time, as a socket: a read may pause reading again.
        while self._held and not self.paused:
            super().bufferReceived(self._held.pop(0))

    def bufferReceived(self, buf):
        if self.paused:
            self._held.append(buf)
        else:
            super().bufferReceived(buf)


class _Compressing:
    """
    Stands between a protocol and its transport once MCCP2 is on.
    """

    def __init__(self, transport):
        self.transport = transport
        self.deflater = zlib.compressobj()

    def write(self, data):
        self.transport.write(self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH))

    def __getattr__(self, name):
        return getattr(self.transport, name)


class FakeUpstream(telnet.Telnet):
    """
    A game server that negotiates everything a MUD does and records what
    the relay sent.

    @ivar received: the lines received (L{bytes}, without CR LF).
    @ivar sizes: the NAWS reports, C{(width, height)}.
    @ivar terminal_types: the TTYPE answers (L{bytes}).
    @ivar environment: the NEW-ENVIRON variables (L{bytes} to L{bytes}).
    @ivar environ_names: every variable name sent, in order.
    @ivar charset: the CHARSET answer (L{bytes}), or L{None}.
    @ivar gmcp: the GMCP messages received (L{bytes}).
    @ivar msdp: the MSDP subnegotiations received (L{bytes}).
    @ivar refused: the options the relay refused, as C{(option, local)}.
    @ivar lost: whether the connection is closed.
    """

    #: Options asked for at connect; tests may change them per instance.
    offers = (ECHO, EOR, GMCP, MCCP2, MSSP)
    requests = (NEW_ENVIRON, NAWS, TTYPE, CHARSET)
    mssp = b"\x01NAME\x02Fake MUD\x01PLAYERS\x0242"

    def __init__(self):
        super().__init__()
        self.received = []
        self.sizes = []
        self.terminal_types = []
        self.environment = {}
        self.environ_names = []
        self.charset = None
        self.gmcp = []
        self.msdp = []
        self.refused = []
        self.lost = False
        self._buffer = b""

    def connectionMade(self):
        for option in self.offers:
            self.will(option).addCallbacks(self._on, self._refused, (option, True), None, (option, True))
        for option in self.requests:
            self.do(option).addCallbacks(self._on, self._refused, (option, False), None, (option, False))

    def connectionLost(self, reason):
        self.lost = True

    def _refused(self, failure, option, local):
        self.refused.append((option, local))

    def _on(self, result, option, local):
        if option == TTYPE:
            self.requestNegotiation(TTYPE, SEND)
        elif option == NEW_ENVIRON:
            self.requestNegotiation(NEW_ENVIRON, SEND + b"".join(b"\x00" + name for name in MNES_VARIABLES))
        elif option == CHARSET:
            self.requestNegotiation(CHARSET, b"\x01;ISO-8859-1;UTF-8")
        elif option == MCCP2:
            self.requestNegotiation(MCCP2, b"")
            self.transport = _Compressing(self.transport)
        elif option == MSSP:
            self.requestNegotiation(MSSP, self.mssp)

    def enableLocal(self, option):
        return option in self.offers

    def enableRemote(self, option):
        return option in self.requests or option == SGA

    def disableLocal(self, option):
        pass

    def disableRemote(self, option):
        pass

    def applicationDataReceived(self, data):
        self._buffer += data
        # Twisted's telnet parser turns CR LF into LF.
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self.received.append(line)

    def unhandledSubnegotiation(self, command, data):
        payload = b"".join(data)
        if command == NAWS and len(payload) == 4:
            self.sizes.append((int.from_bytes(payload[:2], "big"), int.from_bytes(payload[2:], "big")))
        elif command == TTYPE and payload[:1] == IS:
            self.terminal_types.append(payload[1:])
            if len(self.terminal_types) < 3:
                self.requestNegotiation(TTYPE, SEND)
        elif command == NEW_ENVIRON and payload[:1] == IS:
            for name, value in parse_variables(payload[1:]):
                self.environ_names.append(name)
                self.environment[name] = value
        elif command == CHARSET:
            self.charset = payload
        elif command == GMCP:
            self.gmcp.append(payload)
        elif command == MSDP:
            self.msdp.append(payload)

    # What a test makes the game do.

    def say(self, text):
        """
        Send lines of text (L{bytes}, CR LF added).
        """
        self.transport.write(text.replace(IAC, IAC + IAC) + b"\r\n")

    def prompt(self, text, mark=telnet.EOR):
        """
        Send a prompt followed by C{IAC EOR} (or C{mark}).
        """
        self.transport.write(text + IAC + mark)

    def send_gmcp(self, message):
        self.requestNegotiation(GMCP, message)

    def send_msdp(self, payload):
        self.requestNegotiation(MSDP, payload)

    def echo(self, hide):
        """
        Hide (C{True}) or show the player's typing with C{WILL}/C{WONT ECHO}.
        """
        (self.will if hide else self.wont)(ECHO).addErrback(lambda f: None)


@implementer(IStreamClientEndpoint)
class FakeUpstreamEndpoint:
    """
    Connects each relay to a new L{FakeUpstream} in memory.

    @ivar servers: the L{FakeUpstream}s, in connection order.
    @ivar mode: C{"up"}, C{"refuse"} (the connection is refused) or
        C{"silent"} (the connection attempt never ends).
    """

    def __init__(self, server=FakeUpstream):
        self.server = server
        self.servers = []
        self.pumps = []
        self.mode = "up"

    def connect(self, factory):
        if self.mode == "refuse":
            return fail(ConnectionRefusedError("connection refused"))
        if self.mode == "silent":
            return Deferred()
        client = factory.buildProtocol(iosim.FakeAddress())
        server = self.server()
        self.servers.append(server)
        game = IPv4Address("TCP", "127.0.0.1", 4000)
        client_transport = PausableTransport(client, False, IPv4Address("TCP", "127.0.0.1", 50000), game)
        self.pumps.append(iosim.connect(server, iosim.makeFakeServer(server), client, client_transport))
        return succeed(client)

    def flush(self):
        """
        Move every byte written on the game connections to the other side.
        """
        for pump in self.pumps:
            pump.flush()


def upstream_core(game=None, login="upstream", **settings):
    """
    An L{UpstreamCore} relaying to a L{FakeUpstreamEndpoint}.

    @param settings: L{UpstreamSettings} fields besides the endpoint.
    @return: C{(core, endpoint)}.
    """
    game = game or make_core()
    upstream = UpstreamSettings(endpoint="tcp:mud.example.org:4000", name="mud", **settings)
    endpoint = FakeUpstreamEndpoint()
    return UpstreamCore(game, upstream, endpoint, login), endpoint
