"""
One behaviour suite for every frontend, written once: L{FrontendBehaviour}
runs against a client of each protocol (the way Twisted's C{test_recvline}
runs one suite over telnet, SSH and stdio).  A client drives the server
protocol the plugin's factory builds over a L{StringTransport} (or, for
SSH, a conch client over L{twisted.test.iosim}) and reads what it sends
back as plain text.

The concrete test cases are in L{tests.test_behaviour}.
"""

import json
import re

from OpenSSL import SSL, crypto
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator, ISSLTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import Certificate, PrivateCertificate, optionsForClientTLS
from twisted.internet.task import Clock
from twisted.conch.ssh.session import packRequest_pty_req
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from twisted.test.iosim import FakeTransport, connect
from zope.interface import alsoProvides, implementer

from gateway.config import TLSSettings, build_settings
from gateway.core.closelog import CloseLog
from gateway.frontends.lines import build_factory as lines_factory
from gateway.frontends.telnet import GatewayTelnetTransport, TelnetFrontend
from gateway.frontends.telnet.codes import DO, DONT, ECHO, IAC, SB, SE, WILL, WONT
from gateway.frontends.telnet.options import TelnetOptions
from gateway.frontends.tls.context import build_context
from gateway.frontends.tls.handshake import HandshakeGateFactory, HandshakeLimits
from gateway.frontends.tls.keypair import KeyPair
from gateway.frontends.tls.wrapping import TLSFactory
from tests.certs import self_signed, x509_of
from tests.helpers import limited, make_core, sign_up
from tests.test_throttle import config_with

_SAID = re.compile(r'You say, "line (\d+)"')

PEER = IPv4Address("TCP", "192.0.2.7", 40000)

#: The server certificate (and key) of L{WebSocketTLSClient}'s listener,
#: valid for C{localhost}.
SERVER_PAIR = self_signed("server")

#: The client certificate (and key) of L{FrontendBehaviour.test_certificate_login}.
CLIENT_PAIR = self_signed("behaviour")


class Wire(StringTransport):
    """
    The server's side of a connection: a L{StringTransport} from a client
    address, over TLS with the client's certificate when given one.
    """

    def __init__(self, tls=False, certificate=None):
        super().__init__(
            peerAddress=PEER, hostAddress=IPv4Address("TCP", "127.0.0.1", 4000)
        )
        self.certificate = certificate
        if tls:
            alsoProvides(self, ISSLTransport)

    def getPeerCertificate(self):
        return self.certificate


class StreamClient:
    """
    A client of a byte-stream frontend.  A subclass sets C{protocol} (the
    server protocol, connected to C{wire}) and decodes what it is sent in
    L{decode}.

    @ivar hidden: whether the server last asked the client to hide input.
    """

    hides_input = True
    refuses_long_lines = True
    early = b""
    unread = ""

    def __init__(self, core, tls=False, certificate=None):
        self.core = core
        self.wire = Wire(tls, certificate)
        self.hidden = False
        self.connect()

    @property
    def frontend(self):
        """
        The frontend's L{gateway.interfaces.ISessionTransport}.
        """
        return self.protocol

    @property
    def paused(self):
        return self.wire.producerState == "paused"

    @property
    def closed(self):
        return self.wire.disconnecting

    def type(self, *lines):
        """
        Send C{lines}, all in one read.
        """
        self.protocol.dataReceived(b"".join(line.encode("utf-8") + b"\r\n" for line in lines))

    def text(self):
        """
        What the client was sent since the last call, as text.
        """
        data = self.early + self.wire.value()
        self.early = b""
        self.wire.clear()
        text, self.unread = self.unread + self.decode(data), ""
        return text

    def type_hidden(self, line):
        """
        Type C{line}.

        @return: whether the server had the client hide it.
        """
        self.unread = self.text()
        hidden = self.hidden
        self.type(line)
        return hidden

    def decode(self, data):
        return data.decode("utf-8").replace("\r\n", "\n")

    def drop(self):
        """
        The connection drops without a word (the client's network went
        away).
        """
        self.protocol.connectionLost(Failure(ConnectionLost("the network went away")))


class LinesClient(StreamClient):
    hides_input = False

    def connect(self):
        self.protocol = lines_factory(self.core, None, {}).buildProtocol(None)
        self.protocol.makeConnection(self.wire)


class TelnetClient(StreamClient):
    """
    A telnet client that refuses every option but ECHO, which it agrees to
    (it then stops echoing what it types).
    """

    def connect(self):
        settings = build_settings(TelnetOptions, {}, "options")
        self.telnet = GatewayTelnetTransport(TelnetFrontend, self.core, settings)
        self.telnet.makeConnection(self.wire)
        self.protocol = self.telnet.protocol

    def type(self, *lines):
        self.telnet.dataReceived(b"".join(line.encode("utf-8") + b"\r\n" for line in lines))

    def drop(self):
        self.telnet.connectionLost(Failure(ConnectionLost("the network went away")))

    def decode(self, data):
        text, i, answers = bytearray(), 0, []
        while i < len(data):
            if data[i] != IAC[0]:
                text.append(data[i])
                i += 1
                continue
            command = data[i + 1:i + 2]
            if command == IAC:
                text += IAC
                i += 2
            elif command in (WILL, WONT, DO, DONT):
                if data[i + 2:i + 3] == ECHO and command in (WILL, WONT):
                    self.hidden = command == WILL
                    answers.append(IAC + (DO if self.hidden else DONT) + ECHO)
                i += 3
            elif command == SB:
                i = data.index(IAC + SE, i) + 2
            else:
                i += 2
        if answers:
            self.telnet.dataReceived(b"".join(answers))
        return super().decode(bytes(text))


class MessageClient(StreamClient):
    """
    What a client of the JSON messages of L{gateway.frontends.messages}
    shares: their text, and C{echo} messages setting L{hidden}.
    """

    def read(self, messages):
        out = []
        for message in messages:
            kind = message["type"]
            if kind in ("text", "prompt", "error"):
                out.append(message["text"] + "\n")
            elif kind == "close":
                out.append(message["reason"] + "\n")
            elif kind == "echo":
                self.hidden = not message["on"]
        return "".join(out)


class JSONLinesClient(MessageClient):
    def connect(self):
        from gateway_jsonlines.protocol import build_factory

        self.protocol = build_factory(self.core, None, {"hello": False}).buildProtocol(None)
        self.protocol.makeConnection(self.wire)

    def type(self, *lines):
        self.protocol.dataReceived(b"".join(
            json.dumps({"type": "line", "text": line}).encode("utf-8") + b"\n" for line in lines
        ))

    def decode(self, data):
        return self.read(json.loads(line) for line in data.decode("utf-8").splitlines())


def upgrade_request(scheme):
    """
    A browser's opening handshake for the C{gateway.json} socket of
    C{play.example.org}, from a page of that host served over C{scheme}.

    @rtype: L{bytes}
    """
    return (
        b"GET /ws HTTP/1.1\r\nHost: play.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: gateway.json\r\nOrigin: " + scheme.encode() + b"://play.example.org\r\n\r\n"
    )


def message_frames(messages):
    """
    The masked text frames of a client sending C{messages} (of
    L{gateway.frontends.messages}).

    @rtype: L{bytes}
    """
    frames = []
    for message in messages:
        payload = json.dumps(message).encode("utf-8")
        if len(payload) < 126:
            length = bytes([0x80 | len(payload)])
        else:
            length = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
        frames.append(b"\x81" + length + b"\0\0\0\0" + payload)
    return b"".join(frames)


class WebSocketClient(MessageClient):
    """
    A browser's web client: the C{gateway.json} subprotocol.
    """

    def socket_factory(self):
        """
        The autobahn factory of the socket, for C{play.example.org}, without
        timers (autobahn's run on the global reactor).
        """
        from autobahn.twisted.websocket import WebSocketServerFactory

        from gateway.frontends.websocket import WebSocketFrontend

        factory = WebSocketServerFactory(protocols=["gateway.json"])
        factory.protocol = lambda: WebSocketFrontend(self.core, frozenset(), frozenset(["play.example.org"]))
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        return factory

    def connect(self):
        self.protocol = self.socket_factory().buildProtocol(self.wire.getPeer())
        self.protocol.makeConnection(self.wire)
        self.protocol.dataReceived(upgrade_request("https" if ISSLTransport.providedBy(self.wire) else "http"))
        self.take_handshake_answer()

    def take_handshake_answer(self):
        """
        Keep what follows the server's answer to the opening handshake.
        """
        data = self.wire.value()
        self.wire.clear()
        self.early = data[data.index(b"\r\n\r\n") + 4:]
        self.closing = False

    @property
    def closed(self):
        return self.closing or self.wire.disconnecting

    def type(self, *lines):
        self.send(*({"type": "line", "text": line} for line in lines))

    def send(self, *messages):
        """
        Send C{messages} (of L{gateway.frontends.messages}), all in one
        read.
        """
        self.protocol.dataReceived(message_frames(messages))

    def decode(self, data):
        messages, i = [], 0
        while i < len(data):
            opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
            i += 2
            if length == 126:
                length, i = int.from_bytes(data[i:i + 2], "big"), i + 2
            elif length == 127:
                length, i = int.from_bytes(data[i:i + 8], "big"), i + 8
            if opcode == 1:
                messages.append(json.loads(data[i:i + length].decode("utf-8")))
            elif opcode == 8:
                self.closing = True
            i += length
        return self.read(messages)


def settle(clock, pump):
    """
    Move bytes both ways through C{pump}, running what the server starts at
    once (C{callLater(0, ...)} on C{clock}), until nothing moves.
    """
    clock.advance(0)
    while pump.flush():
        clock.advance(0)


class FlowTransport(FakeTransport):
    """
    An L{iosim} transport that records whether the server paused reading.
    """

    producerState = "producing"

    def pauseProducing(self):
        self.producerState = "paused"

    def resumeProducing(self):
        self.producerState = "producing"


@implementer(IOpenSSLServerConnectionCreator)
class ServerCreator:
    """
    The TLS server side of L{WebSocketTLSClient}: the daemon's context for
    L{SERVER_PAIR}, asking clients for a certificate.
    """

    def __init__(self):
        certificate, key = SERVER_PAIR
        pair = KeyPair((x509_of(certificate),), crypto.load_privatekey(crypto.FILETYPE_PEM, key), "", "")
        self.context = build_context(build_settings(TLSSettings, {}, "tls"), pair, True)

    def serverConnectionForTLS(self, protocol):
        return SSL.Connection(self.context, None)


class Plaintext(Protocol):
    """
    What a TLS client receives, decrypted.
    """

    def __init__(self):
        self.data = b""

    def dataReceived(self, data):
        self.data += data

    def value(self):
        return self.data

    def clear(self):
        self.data = b""


class WebSocketTLSClient(WebSocketClient):
    """
    The web client over C{wss://}: a real TLS client, trusting
    L{SERVER_PAIR}, connected over L{twisted.test.iosim} to a websocket
    listener's whole stack behind TLS, as the daemon builds it (the
    connection limits, L{TLSFactory} and the handshake gate, the web site,
    the socket at C{/ws}).  Given a certificate (L{CERTIFICATE}), it
    presents L{CLIENT_PAIR}.

    @ivar wire: what the client receives, decrypted.
    @ivar server: the server's side of the connection.
    """

    def __init__(self, core, tls=True, certificate=None):
        self.certificate = certificate
        super().__init__(core, tls, certificate)

    def connect(self):
        from gateway.frontends.websocket import build_site

        clock = self.clock = self.core.clock
        site = build_site(self.socket_factory(), clock)
        handshakes = HandshakeLimits(clock, 10, 64, CloseLog(clock, 0))
        tls = TLSFactory(ServerCreator(), False, HandshakeGateFactory(site, handshakes, "optional"))
        server = limited(tls, self.core).buildProtocol(PEER)
        self.server = FlowTransport(server, True, peerAddress=PEER)
        own = None
        if self.certificate is not None:
            own = PrivateCertificate.loadPEM(b"".join(CLIENT_PAIR))
        options = optionsForClientTLS(
            "localhost", trustRoot=Certificate.loadPEM(SERVER_PAIR[0]), clientCertificate=own
        )
        self.wire = Plaintext()
        client = TLSMemoryBIOFactory(options, True, Factory.forProtocol(lambda: self.wire))
        # Twisted's own, unbuffered: each write is sent at once, not on
        # the global reactor's next turn.
        client.protocol = TLSMemoryBIOProtocol
        self.tls = client.buildProtocol(None)
        self.pump = connect(server, self.server, self.tls, FakeTransport(self.tls, False), greet=False)
        self.tls.write(upgrade_request("https"))
        self.flush()
        self.take_handshake_answer()
        # The TLS transport's protocol, once the socket took it over.
        self.protocol = server.protocol.wrappedProtocol

    def flush(self):
        settle(self.clock, self.pump)

    @property
    def paused(self):
        return self.server.producerState == "paused"

    @property
    def closed(self):
        return self.closing or self.server.disconnecting

    def send(self, *messages):
        self.tls.write(message_frames(messages))
        self.flush()

    def text(self):
        self.flush()
        return super().text()

    def drop(self):
        """
        The client's TCP connection ends without a TLS or WebSocket
        goodbye.
        """
        self.pump.clientIO.loseConnection()
        self.flush()


class SSHClient:
    """
    An OpenSSH-like client with a terminal (C{ssh -t}): conch's client
    over L{twisted.test.iosim}, logging in as the listener's sign-up user
    so that the session starts with the login dialogue.

    @cvar hides_input: whether the client asks for a terminal, whose line
        editor hides passwords.
    """

    hides_input = True
    unread = ""
    #: The line editor takes no more than the longest line: it rings the
    #: terminal's bell instead.
    refuses_long_lines = False

    def __init__(self, core, tls=False, certificate=None):
        from tests.test_ssh_frontend import HOST_KEY, AuthClient, ClientChannel, ClientConnection, ClientTransport

        from gateway.frontends.ssh import SSHOptions
        from gateway.frontends.ssh.server import GatewaySSHFactory

        settings = build_settings(SSHOptions, {"new_accounts": "sign-up"}, "options")
        factory = GatewaySSHFactory(core, core.portal, settings, {b"ssh-ed25519": HOST_KEY}, core.clock, "")
        factory.doStart()
        self.connection = ClientConnection()
        client = ClientTransport(AuthClient(b"new", self.connection, ["any"]))
        server = factory.buildProtocol(None)
        self.wire = FlowTransport(server, True, peerAddress=PEER)
        self.clock = core.clock
        # No clock for the pump: Debian's Twisted 22.4 has no such argument.
        self.pump = connect(server, self.wire, client, FakeTransport(client, False), greet=False)
        self.flush()
        self.channel = ClientChannel(conn=self.connection)
        self.connection.openChannel(self.channel)
        self.flush()
        if self.hides_input:
            self.connection.sendRequest(self.channel, b"pty-req", packRequest_pty_req(b"dumb", (24, 80, 0, 0), b""))
        self.connection.sendRequest(self.channel, b"shell", b"")
        self.flush()
        self.seen = 0

    def flush(self):
        settle(self.clock, self.pump)

    @property
    def frontend(self):
        """
        The server's L{gateway.frontends.ssh.session.SessionChannel}.
        """
        [channel] = self.wire.protocol.service.channels.values()
        return channel

    @property
    def paused(self):
        return self.wire.producerState == "paused"

    @property
    def closed(self):
        return self.channel.is_closed

    def type(self, *lines):
        self.channel.write(b"".join(line.encode("utf-8") + b"\r" for line in lines))
        self.flush()

    def drop(self):
        """
        The client's TCP connection ends without an SSH goodbye (C{ssh}
        killed).
        """
        self.pump.clientIO.loseConnection()
        self.flush()

    def text(self):
        self.flush()
        data, self.seen = self.channel.received[self.seen:], len(self.channel.received)
        text, self.unread = self.unread + _TERMINAL.sub("", data.decode("utf-8")).replace("\r", ""), ""
        return text

    def type_hidden(self, line):
        self.unread = self.text()
        before = len(self.unread)
        self.type(line)
        self.unread = self.text()
        return line not in self.unread[before:]


class SSHLinesClient(SSHClient):
    """
    C{ssh -T}: an SSH client without a terminal, whose input is plain
    lines.
    """

    hides_input = False
    refuses_long_lines = True


_TERMINAL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

CERTIFICATE = x509_of(CLIENT_PAIR[0])


class FrontendBehaviour:
    """
    What every frontend does the same way.  A subclass of this and
    L{twisted.trial.unittest.TestCase} sets C{client} (a client class
    above) and C{tls}; C{partner} is the client class of the second
    frontend in L{test_two_frontends_chat}.
    """

    tls = False
    partner = LinesClient

    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)

    def connect(self, client=None, certificate=None):
        return (client or self.client)(self.core, self.tls, certificate)

    def log_in(self, client, name="Alice"):
        """
        Sign up as C{name} on C{client}, and take what it was sent.
        """
        client.type(name, "yes", "secret1", "secret1")
        self.assertIn(f"Welcome, {name}! Your account has been created.", client.text())
        return client

    def test_sign_up_and_log_in(self):
        alice = self.log_in(self.connect())
        alice.type("quit")
        self.assertIn("Goodbye.", alice.text())
        self.assertTrue(alice.closed)
        again = self.connect()
        self.assertIn("Name:", again.text())
        again.type("Alice", "secret1")
        self.assertIn("The Hall", again.text())
        self.assertEqual(again.frontend.session.account.name, "Alice")

    def test_password_is_hidden(self):
        if not self.client.hides_input:
            return
        client = self.connect()
        client.type("Alice", "yes")
        self.assertIn("Choose a password", client.text())
        self.assertTrue(client.type_hidden("secret1"))
        self.assertTrue(client.type_hidden("secret1"))
        self.assertIn("Your account has been created.", client.text())
        self.assertFalse(client.type_hidden("look"))

    def test_line_too_long(self):
        client = self.log_in(self.connect())
        limit = self.core.limits.max_line_bytes
        client.type("say " + "x" * limit)
        if client.refuses_long_lines:
            self.assertIn(f"That line was too long (over {limit} bytes) and was ignored.", client.text())
        else:
            output = client.text()
            self.assertIn("\a", output)
            [said] = re.findall(r'You say,\s+"(x+)"', output)
            self.assertEqual(len(said), limit - len("say "))
        client.type("look")
        self.assertIn("The Hall", client.text())

    def test_paste_pauses_reading_and_loses_nothing(self):
        self.core.reconfigure(config_with(max_pending_lines=4, commands_per_second=1, command_burst=1))
        client = self.log_in(self.connect())
        client.type(*(f"say line {n}" for n in range(20)))
        self.assertTrue(client.paused)
        said = []
        for _ in range(25):
            said += [int(n) for n in _SAID.findall(client.text())]
            self.clock.advance(1)
        self.assertEqual(said, list(range(20)))
        self.assertFalse(client.paused)

    def test_close_with_a_reason(self):
        client = self.log_in(self.connect())
        client.frontend.session.close("The server is restarting.")
        self.assertIn("The server is restarting.", client.text())
        self.assertTrue(client.closed)

    def test_closing_while_paused_resumes_reading(self):
        """
        Reading resumes when the session closes, so that the protocol's
        closing handshake (SSH, WebSocket) is read.
        """
        self.core.reconfigure(config_with(max_pending_lines=4, commands_per_second=1, command_burst=1))
        client = self.log_in(self.connect())
        client.type(*(f"say line {n}" for n in range(20)))
        self.assertTrue(client.paused)
        client.frontend.session.close("Bye.")
        self.assertFalse(client.paused)
        self.assertIn("Bye.", client.text())

    def test_two_frontends_chat(self):
        alice = self.log_in(self.connect())
        bob = self.log_in(self.connect(self.partner), "Bob")
        self.assertIn("Bob has arrived.", alice.text())
        alice.type("say hello, Bob")
        self.assertIn('Alice says, "hello, Bob"', bob.text())
        bob.type("say hi, Alice")
        self.assertIn('Bob says, "hi, Alice"', alice.text())

    def test_resume_after_a_dropped_connection(self):
        alice = self.log_in(self.connect())
        bob = self.log_in(self.connect(self.partner), "Bob")
        alice.drop()
        bob.type("say are you there?")
        again = self.connect()
        self.assertIn("Name:", again.text())
        again.type("Alice", "secret1")
        output = again.text()
        self.assertIn("Welcome back. You were away", output)
        self.assertIn('Bob says, "are you there?"', output)
        self.assertIn("The Hall", output)
        again.type("say back")
        heard = bob.text()
        self.assertIn('Alice says, "back"', heard)
        self.assertNotIn("Alice has left.", heard)
        self.assertNotIn("Alice has arrived.", heard)

    def test_certificate_login(self):
        if not self.tls:
            return
        owner, session = sign_up(self.core, "Alice")
        fingerprint = CERTIFICATE.digest("sha256").decode("ascii")
        self.successResultOf(self.core.store.bind_certificate(session.account.id, fingerprint))
        owner.disconnect()
        client = self.connect(certificate=CERTIFICATE)
        output = client.text()
        self.assertIn("Logged in as Alice by your client certificate.", output)
        self.assertNotIn("Name:", output)
        self.assertIn("The Hall", output)
