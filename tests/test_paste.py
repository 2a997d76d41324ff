"""
Pastes of 100 and 10,000 lines over every frontend: every line runs, in
order, at the command rate, none refused, while the server holds no more
than one read of the client's bytes and the queue of waiting commands.

The client is modelled as a socket: the server reads at most L{READ} bytes
at a time, and nothing while it has paused reading (the wire's
C{producerState}).
"""

import re

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from gateway.frontends.lines import build_factory as build_lines_factory
from gateway.frontends.websocket import WebSocketFrontend
from tests.helpers import make_core
from tests.telnet_fixtures import TelnetConnection
from tests.test_lines import PeerTransport
from tests.test_ssh_frontend import FrontendTestCase, Link
from tests.test_throttle import config_with
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn

#: The most a read from the client's socket returns (Twisted reads 64 KiB).
READ = 65536

_SAID = re.compile(rb'You say, "line (\d+)"')


def paste_text(count):
    """
    The lines of a paste: C{say line 0}, C{say line 1}, ...
    """
    return [f"say line {n}" for n in range(count)]


class PasteCase:
    """
    The checks shared by each frontend's paste tests.

    A subclass sets up a signed-up connection in C{connect(limits)} and
    sets C{clock}, C{session}, C{wire} (the server's transport),
    C{receive} (the server's C{dataReceived}), C{output} (what the client
    has been sent so far, as bytes) and C{buffered} (the bytes the frontend
    holds).
    """

    def encode(self, lines):
        return b"".join(line.encode("utf-8") + b"\r\n" for line in lines)

    def paste(self, count, **limits):
        """
        Paste C{count} lines as a socket would hand them over, until all
        have run.

        @return: the seconds the paste took.
        """
        self.connect(config_with(**limits))
        self.unfinished = b""
        settings = self.session.core.settings.limits
        data = self.encode(paste_text(count))
        start = self.clock.seconds()
        sent = 0
        step = 0.5 / settings.commands_per_second
        peak_queue = peak_buffer = 0
        said = []
        while len(said) < count:
            if sent < len(data) and self.wire.producerState == "producing":
                chunk = data[sent:sent + READ]
                sent += len(chunk)
                self.receive(chunk)
            else:
                self.clock.advance(step)
            said.extend(int(n) for n in _SAID.findall(self.take_output()))
            peak_queue = max(peak_queue, len(self.session._pending))
            peak_buffer = max(peak_buffer, self.buffered())
            self.assertLess(self.clock.seconds() - start, 2 * count / settings.commands_per_second + 10, said[-3:])
        self.assertEqual(said, list(range(count)))
        self.assertEqual(sent, len(data))
        self.assertLessEqual(peak_queue, self.max_queue(settings))
        self.assertLessEqual(peak_buffer, READ + settings.max_line_bytes)
        self.assertNotIn(b"Too many commands", self.all_output)
        return self.clock.seconds() - start

    def max_queue(self, limits):
        return limits.max_pending_lines

    def take_output(self):
        """
        The complete lines the client has been sent since the last call
        (an SSH packet may end within a line).
        """
        data = self.output()
        self.all_output += data
        data, self.unfinished = (self.unfinished + data).rpartition(b"\n")[::2]
        return data

    def check_rate(self, count, **limits):
        limits.setdefault("commands_per_second", 10)
        limits.setdefault("command_burst", 20)
        took = self.paste(count, **limits)
        expected = (count - limits["command_burst"]) / limits["commands_per_second"]
        self.assertApproximates(took, expected, 0.5)

    def test_100_lines_at_the_shipped_limits(self):
        self.check_rate(100)

    def test_10000_lines(self):
        self.check_rate(10000, commands_per_second=200)


class TelnetPasteTests(PasteCase, TestCase):
    tls = False

    def connect(self, config):
        self.clock = Clock()
        self.all_output = b""
        c = TelnetConnection(make_core(self.clock, config), tls=self.tls)
        self.assertEqual(c.caps.secure, self.tls)
        c.sign_up("Alice")
        c.take()
        self.session = c.frontend.session
        self.wire, self.receive, self.output = c.wire, c.protocol.dataReceived, c.take
        self.buffered = lambda: c.frontend.lines.pending


class TelnetTLSPasteTests(TelnetPasteTests):
    tls = True


class LinesPasteTests(PasteCase, TestCase):
    def connect(self, config):
        self.clock = Clock()
        self.all_output = b""
        core = make_core(self.clock, config)
        protocol = build_lines_factory(core, core.portal, {}).buildProtocol(None)
        self.wire = PeerTransport(peerAddress=IPv4Address("TCP", "192.0.2.9", 4242))
        protocol.makeConnection(self.wire)
        protocol.dataReceived(b"Alice\nyes\nsecret1\nsecret1\n")
        self.session = protocol.session
        self.receive = protocol.dataReceived
        self.output = self.wire_output
        self.buffered = lambda: protocol.lines.pending
        self.wire_output()

    def wire_output(self):
        data = self.wire.value()
        self.wire.clear()
        return data


class FlowLink(Link):
    """
    A L{Link} whose client side waits, as a socket does, while the server
    has paused reading, and is read at most L{READ} bytes at a time.
    """

    def pump(self):
        while True:
            moved = False
            data = self.server_wire.value()
            if data:
                self.server_wire.clear()
                self.client.dataReceived(data)
                moved = True
            data = self.client_wire.value()
            if data and self.server_wire.producerState == "producing":
                self.client_wire.clear()
                self.client_wire.write(data[READ:])
                self.server.dataReceived(data[:READ])
                moved = True
            if not moved:
                return


class SSHPasteTests(PasteCase, FrontendTestCase):
    def connect(self, config):
        self.core.settings = config
        self.all_output = b""
        self.link_ = FlowLink(self.factory, self.clock, passwords=["secret1"])
        self.link_.settle(1)
        self.channel = self.link_.channel()
        self.link_.request(self.channel, b"shell")
        self.session = next(s for s in self.core.sessions if s.capabilities.protocol == "ssh")
        self.session.reconfigure(config.limits)
        self.wire = self
        self.take_channel()

    # The client's channel stands between the paste and the server's wire.

    @property
    def producerState(self):
        return "producing"

    def receive(self, data):
        self.channel.write(data)
        self.link_.pump()

    def output(self):
        self.link_.settle()
        return self.take_channel()

    def take_channel(self):
        data, self.channel.received = self.channel.received, b""
        return data

    def buffered(self):
        return self.session.transport.lines.pending

    def check_rate(self, count, **limits):
        super().check_rate(count, **limits)
        self.assertEqual(self.link_.server_wire.producerState, "producing")


class WebSocketPasteTests(PasteCase, TestCase):
    """
    The web client sends a paste as messages of many lines.  What autobahn
    had read when reading paused still joins the queue: at most one read's
    worth of lines beyond it.
    """

    if autobahn is None:
        skip = NEEDS_AUTOBAHN

    def connect(self, config):
        from autobahn.twisted.websocket import WebSocketServerFactory

        self.clock = Clock()
        self.all_output = b""
        core = make_core(self.clock, config)
        factory = WebSocketServerFactory(protocols=["gateway.text"])
        factory.protocol = lambda: WebSocketFrontend(core, frozenset(), frozenset(["play.example.org"]))
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        frontend = factory.buildProtocol(IPv4Address("TCP", "192.168.1.1", 54321))
        self.wire = PeerTransport(peerAddress=IPv4Address("TCP", "192.168.1.1", 54321))
        frontend.makeConnection(self.wire)
        frontend.dataReceived(
            b"GET /ws HTTP/1.1\r\nHost: play.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: gateway.text\r\nOrigin: http://play.example.org\r\n\r\n"
        )
        self.receive = frontend.dataReceived
        self.receive(self.encode(["Alice", "yes", "secret1", "secret1"]))
        self.session = frontend.session
        self.assertEqual(self.session.account.name, "Alice")
        self.output = self.wire_output
        self.buffered = lambda: 0
        self.wire_output()

    wire_output = LinesPasteTests.wire_output

    def take_output(self):
        """
        What the client has been sent since the last call: one line a
        message.
        """
        data = self.output()
        self.all_output += data
        return data

    def encode(self, lines):
        """
        Frames of at most 4,000 bytes of lines each, masked with zeros.
        """
        frames = []
        message = []
        for line in lines + [None]:
            if line is None or sum(len(m) + 1 for m in message) + len(line) > 4000:
                payload = "\n".join(message).encode("utf-8")
                if len(payload) < 126:
                    length = bytes([0x80 | len(payload)])
                else:
                    length = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
                frames.append(b"\x81" + length + b"\0\0\0\0" + payload)
                message = []
            if line is not None:
                message.append(line)
        return b"".join(frames)

    def max_queue(self, limits):
        # Lines of at least "say line 0" plus a line end.
        return limits.max_pending_lines + READ // 11


class SSHCommandsOnInputTests(FrontendTestCase):
    """
    C{ssh -T host < commands}: the input comes with the shell request,
    before the session has started.
    """

    def test_every_line_sent_with_the_shell_request_runs(self):
        link = Link(self.factory, self.clock, passwords=["secret1"])
        link.settle(1)
        channel = link.channel()
        link.connection.sendRequest(channel, b"shell", b"")
        channel.write(b"".join(line.encode("utf-8") + b"\n" for line in paste_text(100)))
        link.connection.sendEOF(channel)
        link.pump()
        for _ in range(20):
            link.settle(1)
        self.assertEqual([int(n) for n in _SAID.findall(channel.received)], list(range(100)))
        self.assertTrue(channel.is_closed)
