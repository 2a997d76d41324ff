"""
The telnet codec on its own, at either end of a connection: two codecs
negotiating with each other as a client and a server would, and the
RFC 1143 Q method's queued requests.
"""

from twisted.conch.telnet import TelnetProtocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from gateway.frontends.telnet.codec import NO, WANTNO, WANTNO_OPPOSITE, WANTYES, YES, TelnetCodec
from gateway.frontends.telnet.codes import DO, DONT, GA, IAC, NAWS, SB, SE, TTYPE, WILL, WONT

ECHO, SGA = b"\x01", b"\x03"


class Peer(TelnetProtocol):
    """
    The protocol above a codec: welcomes the options it is given and
    records what it hears.
    """

    def __init__(self, local=(), remote=()):
        self.local, self.remote = set(local), set(remote)
        self.events = []

    def enableLocal(self, option):
        return option in self.local

    def enableRemote(self, option):
        return option in self.remote

    def option_enabled(self, option, local):
        self.events.append(("on", option, local))

    def disableLocal(self, option):
        self.events.append(("off", option, True))

    def disableRemote(self, option):
        self.events.append(("off", option, False))

    def dataReceived(self, data):
        self.events.append(("data", data))

    def unhandledCommand(self, command, argument):
        self.events.append(("command", command))

    def unhandledSubnegotiation(self, command, data):
        self.events.append(("sb", command, b"".join(data)))


def codec(protocol):
    transport = StringTransport()
    telnet = TelnetCodec(lambda: protocol)
    telnet.makeConnection(transport)
    return telnet, transport


class TwoEndsTests(SynchronousTestCase):
    """
    A server end and a client end, each a L{TelnetCodec}, their bytes
    carried across by hand.
    """

    def setUp(self):
        self.server_side = Peer(local=[ECHO, SGA], remote=[NAWS])
        self.client_side = Peer(local=[NAWS, TTYPE], remote=[ECHO, SGA])
        self.server, self.server_wire = codec(self.server_side)
        self.client, self.client_wire = codec(self.client_side)

    def exchange(self):
        """
        Carry bytes both ways until neither end has anything to say.
        """
        while self.server_wire.value() or self.client_wire.value():
            to_client, to_server = self.server_wire.value(), self.client_wire.value()
            self.server_wire.clear()
            self.client_wire.clear()
            self.client.dataReceived(to_client)
            self.server.dataReceived(to_server)

    def test_offers_agreed_by_the_client_end(self):
        """
        The client end answers a server's offers through the same state
        machine: both ends agree, and neither answers an answer.
        """
        self.server.offer([(SGA, True), (NAWS, False), (TTYPE, False)])
        self.exchange()
        self.assertTrue(self.server.option_on(SGA, True))
        self.assertTrue(self.client.option_on(SGA, False))
        self.assertTrue(self.server.option_on(NAWS, False))
        self.assertTrue(self.client.option_on(NAWS, True))
        self.assertTrue(self.client.option_on(TTYPE, True))
        self.assertIn(("on", NAWS, True), self.client_side.events)

    def test_client_end_asks_and_is_refused(self):
        self.client.request(b"\x22", False, True)
        self.exchange()
        self.assertEqual(self.client.state(b"\x22", False), NO)
        self.assertEqual(self.server.states, {})

    def test_client_end_turns_its_option_off(self):
        self.server.offer([(NAWS, False)])
        self.exchange()
        self.client.request(NAWS, True, False)
        self.exchange()
        self.assertFalse(self.server.option_on(NAWS, False))
        self.assertFalse(self.client.option_on(NAWS, True))
        self.assertIn(("off", NAWS, False), self.server_side.events)

    def test_subnegotiation_and_commands_reach_the_other_end(self):
        self.client.requestNegotiation(NAWS, b"\x00\x50\x00\xff")
        self.client.write(b"look\xff")
        self.client.write_command(GA)
        self.exchange()
        self.assertEqual(
            self.server_side.events, [("sb", NAWS, b"\x00\x50\x00\xff"), ("data", b"look\xff"), ("command", GA)]
        )


class QueuedRequestTests(SynchronousTestCase):
    def setUp(self):
        self.peer = Peer(local=[SGA], remote=[NAWS])
        self.codec, self.wire = codec(self.peer)

    def test_opposite_request_queued_until_the_answer(self):
        """
        Asking for an option off while our request for it on awaits its
        answer sends nothing yet; the answer then turns it on and the
        queued request goes out (RFC 1143, WANTYES OPPOSITE).
        """
        self.codec.request(NAWS, False, True)
        self.assertEqual(self.wire.value(), IAC + DO + NAWS)
        self.wire.clear()
        self.codec.request(NAWS, False, False)
        self.assertEqual(self.wire.value(), b"")
        self.codec.dataReceived(IAC + WILL + NAWS)
        self.assertEqual(self.wire.value(), IAC + DONT + NAWS)
        self.assertEqual(self.codec.state(NAWS, False), WANTNO)
        self.codec.dataReceived(IAC + WONT + NAWS)
        self.assertEqual(self.codec.state(NAWS, False), NO)

    def test_request_on_queued_behind_a_request_off(self):
        self.codec.dataReceived(IAC + DO + SGA)
        self.assertEqual(self.codec.state(SGA, True), YES)
        self.wire.clear()
        self.codec.request(SGA, True, False)
        self.codec.request(SGA, True, True)
        self.assertEqual(self.wire.value(), IAC + WONT + SGA)
        self.assertEqual(self.codec.state(SGA, True), WANTNO_OPPOSITE)
        self.wire.clear()
        self.codec.dataReceived(IAC + DONT + SGA)
        self.assertEqual(self.wire.value(), IAC + WILL + SGA)
        self.assertEqual(self.codec.state(SGA, True), WANTYES)

    def test_queued_request_cancelled(self):
        self.codec.request(NAWS, False, True)
        self.codec.request(NAWS, False, False)
        self.codec.request(NAWS, False, True)
        self.assertEqual(self.codec.state(NAWS, False), WANTYES)
        self.codec.dataReceived(IAC + WILL + NAWS)
        self.assertTrue(self.codec.option_on(NAWS, False))

    def test_subnegotiation_with_escaped_iac(self):
        self.codec.dataReceived(IAC + SB + TTYPE + b"\x00x" + IAC + IAC + b"y" + IAC + SE)
        self.assertEqual(self.peer.events, [("sb", TTYPE, b"\x00x\xffy")])

    def test_refusal_answered_with_a_request_while_on_is_queued(self):
        """
        RFC 1143: a C{WILL} answering our C{DONT} is an error; when we have
        asked for the option on again meanwhile, it is on.
        """
        self.codec.dataReceived(IAC + WILL + NAWS)
        self.codec.request(NAWS, False, False)
        self.codec.request(NAWS, False, True)
        self.assertEqual(self.codec.state(NAWS, False), WANTNO_OPPOSITE)
        self.codec.dataReceived(IAC + WILL + NAWS)
        self.assertTrue(self.codec.option_on(NAWS, False))
        self.assertEqual(self.peer.events[-1], ("on", NAWS, False))
