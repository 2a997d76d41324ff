"""
The outbox: text sent during a batch reaches each session as one piece,
in order, and never after that session's prompt or close.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import make_core, sign_up
from tests.test_structured import StructuredTransport


class OutboxTests(SynchronousTestCase):
    def setUp(self):
        self.core = make_core()
        self.outbox = self.core.outbox
        self.alice, self.a = sign_up(self.core, "Alice")
        self.bob, self.b = sign_up(self.core, "Bob")
        self.alice.clear()

    def lines(self, transport):
        return [value for kind, value in transport.events if kind == "line"]

    def test_outside_a_batch_text_goes_straight_through(self):
        self.a.send("one")
        self.assertEqual(self.lines(self.alice), ["one"])

    def test_a_batch_sends_each_session_its_text_once_joined(self):
        with self.outbox.batch():
            self.b.line_received("say hi")
            self.b.line_received("say there")
            self.assertEqual(self.alice.events, [])
        self.assertEqual(self.lines(self.alice), ['Bob says, "hi"\nBob says, "there"'])
        self.assertEqual(self.lines(self.bob), ['You say, "hi"\nYou say, "there"'])

    def test_batches_nest_and_only_the_outermost_delivers(self):
        with self.outbox.batch():
            with self.outbox.batch():
                self.a.send("one")
            self.assertEqual(self.alice.events, [])
            self.a.send("two")
        self.assertEqual(self.lines(self.alice), ["one\ntwo"])

    def test_an_error_in_the_batch_still_delivers(self):
        with self.assertRaises(ZeroDivisionError):
            with self.outbox.batch():
                self.a.send("before")
                1 / 0
        self.assertEqual(self.lines(self.alice), ["before"])

    def test_held_text_comes_before_a_prompt(self):
        with self.outbox.batch():
            self.a.send("first")
            self.a.ask("Sure? ", echo=False)
        self.assertEqual(self.alice.events, [("line", "first"), ("echo", False), ("prompt", "Sure? ")])

    def test_held_text_comes_before_close(self):
        with self.outbox.batch():
            self.a.send("last words")
            self.a.close("Bye.")
        self.assertEqual(self.alice.events, [("line", "last words"), ("close", "Bye.")])

    def test_nothing_delivered_to_a_session_closed_in_the_batch(self):
        with self.outbox.batch():
            self.a.send("lost")
            self.alice.disconnect()
        self.assertEqual(self.alice.events, [])

    def test_text_sent_while_delivering_is_delivered_too(self):
        delivered = []
        original = self.alice.send

        def send(text):
            delivered.append(text)
            original(text)
            if text == "one":
                self.b.send("from a delivery")

        self.alice.send = send
        with self.outbox.batch():
            self.a.send("one")
        self.assertEqual(self.lines(self.bob), ["from a delivery"])


class OutboxStructuredTests(SynchronousTestCase):
    def test_held_text_comes_before_structured_data(self):
        core = make_core()
        transport = StructuredTransport()
        transport.capabilities.structured = True
        transport.session = session = core.connect(transport)
        for line in ("Alice", "yes", "secret1", "secret1"):
            session.line_received(line)
        transport.clear()
        with core.outbox.batch():
            session.send("text first")
            session.send_data("Room.Info", {"id": "hall"})
        self.assertEqual(transport.events, [("line", "text first"), ("data", ("Room.Info", {"id": "hall"}))])
