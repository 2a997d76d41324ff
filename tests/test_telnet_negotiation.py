"""
Option negotiation of the telnet frontend, byte for byte: what it offers
at connect, and the RFC 1143 cases clients get wrong (late, repeated and
contradictory answers), none of which may raise or loop.
"""

from twisted.trial.unittest import TestCase

from gateway.frontends.telnet.codes import (
    CHARSET, DO, DONT, ECHO, EOR, EOR_MARK, GA, GMCP, IAC, MCCP2, MSSP, NAWS, NEW_ENVIRON, SGA, TTYPE, WILL, WONT,
)
from tests.telnet_fixtures import BANNER, OFFERS, TelnetConnection

LINEMODE = b"\x22"


class OffersTests(TestCase):
    def test_offers_then_banner_at_once(self):
        """
        The offers go out first and the banner right after them, without
        waiting for a single answer.
        """
        self.assertEqual(TelnetConnection().take(), OFFERS + BANNER)

    def test_disabled_options_not_offered(self):
        out = TelnetConnection(mccp=False, gmcp=False, mssp=False).take()
        for option in (MCCP2, GMCP, MSSP):
            self.assertNotIn(IAC + WILL + option, out)
        self.assertIn(IAC + DO + NAWS, out)

    def test_no_compression_over_tls(self):
        """
        Over TLS MCCP2 is neither offered nor accepted (compressing before
        encrypting leaks secrets through sizes).
        """
        c = TelnetConnection(tls=True)
        self.assertNotIn(IAC + WILL + MCCP2, c.take())
        self.assertTrue(c.caps.secure)
        c.feed(IAC + DO + MCCP2)
        self.assertEqual(c.take(), IAC + WONT + MCCP2)

    def test_disabled_option_refused_when_asked(self):
        c = TelnetConnection(mccp=False)
        c.take()
        c.feed(IAC + DO + MCCP2)
        self.assertEqual(c.take(), IAC + WONT + MCCP2)
        self.assertFalse(c.protocol.compression.compressing)


class Rfc1143Tests(TestCase):
    def setUp(self):
        self.c = TelnetConnection()
        self.c.take()

    def state(self, option):
        return self.c.protocol.state(option, True), self.c.protocol.state(option, False)

    def test_late_dont_for_option_never_offered(self):
        """
        DONT and WONT for options never mentioned are ignored: no reply.
        """
        self.c.feed(IAC + DONT + LINEMODE + IAC + WONT + LINEMODE + IAC + DONT + ECHO)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(self.state(LINEMODE), ("no", "no"))

    def test_refusal_of_offer_is_final(self):
        """
        DONT answering our WILL ends the negotiation without a reply; a
        repeated DONT changes nothing.
        """
        self.c.feed(IAC + DONT + GMCP)
        self.c.feed(IAC + DONT + GMCP)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(self.state(GMCP), ("no", "no"))
        self.assertFalse(self.c.caps.structured)

    def test_state_kept_only_for_options_not_at_rest(self):
        """
        Per-connection memory: the state of an offer the client refused, or
        of an option never mentioned, is not kept; an accepted option's is,
        and so is an offer still unanswered (the answer is taken as one: no
        reply).
        """
        protocol = self.c.protocol
        self.assertEqual(protocol.state(GMCP, True), "wantyes")
        self.c.take()
        self.c.feed(IAC + DONT + GMCP + IAC + WONT + LINEMODE + IAC + DO + EOR)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(
            sorted(protocol.states), sorted([(TTYPE, False), (NAWS, False), (NEW_ENVIRON, False), (CHARSET, True),
                                             (MSSP, True), (MCCP2, True), (EOR, True)])
        )
        self.assertEqual(self.state(EOR), ("yes", "no"))
        self.assertTrue(self.c.protocol.option_on(EOR, True))
        self.assertFalse(self.c.protocol.option_on(GMCP, True))

    def test_refused_option_can_be_negotiated_again(self):
        """
        An option whose state was dropped after a refusal negotiates afresh
        when the client asks for it later.
        """
        self.c.feed(IAC + DONT + GMCP)
        self.c.take()
        self.c.feed(IAC + DO + GMCP)
        self.assertEqual(self.c.take(), IAC + WILL + GMCP)
        self.assertTrue(self.c.caps.structured)

    def test_repeated_will_answered_once(self):
        """
        WILL answering our DO needs no reply, and a repeated WILL for an
        option already on is ignored (no DO/WILL loop).
        """
        self.c.feed(IAC + WILL + NAWS + IAC + WILL + NAWS + IAC + WILL + NAWS)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(self.state(NAWS), ("no", "yes"))

    def test_repeated_do_answered_once(self):
        self.c.feed(IAC + DO + SGA + IAC + DO + SGA)
        self.assertEqual(self.c.take(), IAC + WILL + SGA)

    def test_wont_after_will(self):
        """
        WONT for an option the client had enabled turns it off and is
        acknowledged with DONT, once; a fresh WILL later is accepted again.
        """
        self.c.feed(IAC + WILL + NAWS)
        self.c.feed(IAC + WONT + NAWS + IAC + WONT + NAWS)
        self.assertEqual(self.c.take(), IAC + DONT + NAWS)
        self.assertEqual(self.state(NAWS), ("no", "no"))
        self.c.feed(IAC + WILL + NAWS)
        self.assertEqual(self.c.take(), IAC + DO + NAWS)

    def test_wont_answering_do(self):
        self.c.feed(IAC + WONT + TTYPE)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(self.state(TTYPE), ("no", "no"))

    def test_do_answering_wont_is_an_error_that_turns_option_off(self):
        """
        RFC 1143: in WANTNO, a DO is an error and the option is off (Twisted
        asserts here).  Echo can be asked for again afterwards.
        """
        f = self.c.frontend
        f.set_echo(False)
        self.assertEqual(self.c.take(), IAC + WILL + ECHO)
        self.c.feed(IAC + DO + ECHO)
        f.set_echo(True)
        self.assertEqual(self.c.take(), b"\r\n" + IAC + WONT + ECHO)
        self.c.feed(IAC + DO + ECHO)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(self.state(ECHO), ("no", "no"))
        f.set_echo(False)
        self.assertEqual(self.c.take(), IAC + WILL + ECHO)

    def test_will_answering_dont_is_an_error_that_turns_option_off(self):
        self.c.feed(IAC + WILL + NAWS)
        self.c.protocol.request(NAWS, False, False)
        self.assertEqual(self.c.take(), IAC + DONT + NAWS)
        self.assertEqual(self.state(NAWS), ("no", "wantno"))
        self.c.feed(IAC + WILL + NAWS)
        self.assertEqual(self.c.take(), b"")
        self.assertEqual(self.state(NAWS), ("no", "no"))

    def test_unsolicited_do_echo_refused(self):
        """
        The server echoes only while hiding a password; a client asking for
        it otherwise is refused, so its typing stays visible.
        """
        self.c.feed(IAC + DO + ECHO)
        self.assertEqual(self.c.take(), IAC + WONT + ECHO)

    def test_every_option_answer_at_every_split(self):
        """
        A client's answers to all offers, split at every byte, give the same
        state and the same replies.
        """
        answers = (
            IAC + DO + EOR + IAC + WILL + TTYPE + IAC + WILL + NAWS + IAC + WONT + b"\x27"
            + IAC + DONT + b"\x2a" + IAC + DONT + MSSP + IAC + DONT + GMCP + IAC + DONT + MCCP2 + IAC + DO + SGA
        )
        expected = None
        for split in range(len(answers) + 1):
            c = TelnetConnection(core=self.c.core)
            c.take()
            c.feed(answers, split)
            result = (c.take(), [c.protocol.state(o, True) for o in (EOR, SGA)], c.protocol.state(TTYPE, False))
            expected = expected or result
            self.assertEqual(result, expected, f"split at {split}")
        self.assertEqual(expected[0], IAC + b"\xfa" + TTYPE + b"\x01" + IAC + b"\xf0" + IAC + WILL + SGA)
        self.assertEqual(expected[1:], (["yes", "yes"], "yes"))


class PromptTests(TestCase):
    def prompt(self, *answers):
        c = TelnetConnection()
        c.take()
        c.feed(b"".join(answers))
        c.take()
        c.frontend.send_prompt("> ")
        return c.take()

    def test_prompt_marked_with_ga(self):
        self.assertEqual(self.prompt(), b"> " + IAC + GA)

    def test_prompt_marked_with_eor_when_negotiated(self):
        self.assertEqual(self.prompt(IAC + DO + EOR), b"> " + IAC + EOR_MARK)

    def test_no_ga_when_go_ahead_suppressed(self):
        self.assertEqual(self.prompt(IAC + DO + SGA), b"> ")

    def test_eor_wins_over_suppressed_go_ahead(self):
        self.assertEqual(self.prompt(IAC + DO + SGA + IAC + DO + EOR), b"> " + IAC + EOR_MARK)
