"""
Structured messages from the core (C{Session.send_data}): delivered only
to transports that carry them and whose client asked, and a no-op for
every other frontend.
"""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from gateway.interfaces import ISessionTransport, IStructuredTransport
from tests.helpers import RecordingTransport, make_core, sign_up
from tests.telnet_fixtures import TelnetConnection


@implementer(IStructuredTransport)
class StructuredTransport(RecordingTransport):
    """
    A L{RecordingTransport} that also records structured messages.
    """

    def send_data(self, package, data):
        self.events.append(("data", (package, data)))


class SendDataTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core()

    def connect(self, transport, name):
        transport.session = self.core.connect(transport)
        for line in (name, "yes", "secret1", "secret1"):
            transport.session.line_received(line)
        return transport.session

    def data(self, transport):
        return [value for kind, value in transport.events if kind == "data"]

    def test_plain_transport_gets_text_only(self):
        transport, session = sign_up(self.core, "Alice")
        session.send_data("Room.Info", {})
        session.line_received("look")
        self.assertIn("The Hall", transport.lines())

    def test_only_clients_that_asked(self):
        quiet = StructuredTransport()
        self.connect(quiet, "Alice")
        self.assertEqual(self.data(quiet), [])
        keen = StructuredTransport()
        keen.capabilities.structured = True
        session = self.connect(keen, "Bob")
        self.assertEqual(self.data(keen), [
            ("Char.Login.Result", {"success": True, "name": "Bob"}),
            ("Room.Info", {"id": "hall", "name": "The Hall", "exits": {"north": "yard", "up": "attic"},
                           "players": ["Alice"]}),
        ])
        keen.clear()
        session.line_received("north")
        self.assertEqual(self.data(keen)[-1][1]["id"], "yard")
        keen.disconnect()
        keen.clear()
        session.send_data("Room.Info", {})
        self.assertEqual(self.data(keen), [])

    def test_talk_reaches_listeners(self):
        alice = StructuredTransport()
        alice.capabilities.structured = True
        self.connect(alice, "Alice")
        bob = StructuredTransport()
        bob_session = self.connect(bob, "Bob")
        bob.capabilities.structured = True
        alice.clear()
        bob.clear()
        bob_session.line_received(":waves")
        bob_session.line_received("tell alice psst")
        expected = ("Comm.Channel.Text", {"channel": "emote", "talker": "Bob", "text": "Bob waves"})
        self.assertEqual(self.data(alice), [expected, ("Comm.Channel.Text", {
            "channel": "tell", "talker": "Bob", "text": 'Bob tells you, "psst"'})])
        self.assertEqual(self.data(bob), [expected, ("Comm.Channel.Text", {
            "channel": "tell", "talker": "Bob", "text": 'You tell Alice, "psst"'})])

    def test_wrong_password_reported(self):
        sign_up(self.core, "Alice")
        transport = StructuredTransport()
        transport.capabilities.structured = True
        transport.session = self.core.connect(transport)
        for line in ("Alice", "wrong1", "secret1"):
            transport.session.line_received(line)
        # The second attempt waits out the delay after a failed login.
        self.core.clock.advance(1)
        self.assertEqual([p for p, _ in self.data(transport)][:2], ["Char.Login.Result", "Char.Login.Result"])
        self.assertEqual(self.data(transport)[0][1], {"success": False, "message": "Wrong password."})

    def test_telnet_frontend_provides_both_interfaces(self):
        frontend = TelnetConnection().frontend
        self.assertTrue(verifyObject(ISessionTransport, frontend))
        self.assertTrue(verifyObject(IStructuredTransport, frontend))
