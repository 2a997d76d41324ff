"""
The telnet byte layer under the frontend: Twisted's option negotiation
(the RFC 1143 Q method) under a parser that never raises on hostile bytes,
with the Q method's error cases handled as the RFC says, and MCCP2 output
compression.
"""

from collections import deque

from twisted.conch import telnet
from twisted.internet.interfaces import ISSLTransport

from gateway.auth.fingerprints import client_fingerprint
from gateway.frontends.telnet.batch import BatchingTransport
from gateway.frontends.telnet.codes import DO, DONT, ECHO, IAC, WILL, WONT
from gateway.frontends.telnet.mccp import CompressingTransport
from gateway.logtext import Logger

_COMMANDS = frozenset(
    [telnet.EOR, telnet.NOP, telnet.DM, telnet.BRK, telnet.IP, telnet.AO, telnet.AYT, telnet.EC, telnet.EL, telnet.GA]
)
_NEGOTIATIONS = frozenset([telnet.WILL, telnet.WONT, telnet.DO, telnet.DONT])


class _Side:
    """
    One side of an option's negotiation state, with the attributes Twisted's
    state machine reads and writes (RFC 1143's Q method), in slots: about a
    third of the memory of Twisted's own per-option objects.
    """

    __slots__ = ("state", "negotiating", "onResult")

    def __init__(self):
        self.state = "no"
        self.negotiating = False
        self.onResult = None

    def at_rest(self):
        """
        Whether this side is off and not being negotiated: the state of an
        option that was never mentioned.
        """
        return self.state == "no" and not self.negotiating


class _OptionSides:
    """
    The negotiation state of one option: C{us} (the server's side) and
    C{him} (the client's).
    """

    __slots__ = ("us", "him")

    def __init__(self):
        self.us = _Side()
        self.him = _Side()


class _Unobserved:
    """
    Stands where Twisted's option state machine keeps the L{Deferred} it
    fires when a negotiation ends, for the offers made at connect: nobody
    waits on their outcome (handlers hear of an option through
    C{option_enabled}, and a refusal is quietly accepted), so there is no
    L{Deferred} per offer to make, and none to fail when the client leaves.
    """

    __slots__ = ()

    def callback(self, result):
        pass

    def errback(self, failure=None):
        pass


_UNOBSERVED = _Unobserved()


class GatewayTelnetTransport(telnet.TelnetTransport):
    """
    L{telnet.TelnetTransport} with a sturdier byte parser.

    Unlike Twisted's parser it ignores unknown commands after IAC instead of
    raising, drops NUL (the NVT no-op, as in CR NUL), bounds the bytes of a
    subnegotiation to L{MAX_SUBNEGOTIATION} (a longer one is discarded), and
    passes CR and LF through for the protocol to treat as line ends.  Writes
    double IAC bytes and nothing else: the protocol writes CR LF itself.

    The option state machine is Twisted's, with two changes.  The protocol
    hears of an option being enabled through C{option_enabled(option,
    local)} once the option is on and any reply has been written (Twisted
    asks C{enableLocal}/C{enableRemote} first, which here only answer
    whether an option is welcome).  And the answers RFC 1143 calls errors
    (C{DO} answering our C{WONT}, C{WILL} answering our C{DONT}), on which
    Twisted asserts, turn the option off as the RFC says.

    ECHO, which the server performs only while the player types a
    password, is not negotiated one request at a time: L{hide_input} sends
    each request at once, whether or not the client answered the one before
    (RFC 1143 lets the server go ahead), and answers that come later are
    taken as answers, not as the client's own requests.  Some clients
    (TinTin++) never answer C{WONT ECHO}; waiting for that answer would
    leave every later password prompt shown.

    Everything is written through L{compression}, a
    L{CompressingTransport} that MCCP2 switches on, and under it
    L{batching}, which turns what the connection's start and each read
    write into one write.

    @ivar secure: whether the connection is over TLS.
    @ivar certificate: the fingerprint of the client's TLS certificate,
        else C{""}.
    @ivar compression: the L{CompressingTransport} under this one.
    @ivar batching: the L{BatchingTransport} under that.
    """

    MAX_SUBNEGOTIATION = 8192
    #: At most this many of the client's answers to C{WILL}/C{WONT ECHO}
    #: are awaited; older ones are forgotten.
    MAX_ECHO_ANSWERS = 8
    log = Logger()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._subnegotiation = bytearray()
        self._subnegotiation_overflow = False
        # Options offered (option -> local) whose state is not made yet;
        # None once all are answered (an emptied dict keeps its size).
        self._unanswered = None
        # The client's answers (DO or DONT) to our ECHO requests, oldest
        # first, until they arrive.
        self._echo_answers = deque(maxlen=self.MAX_ECHO_ANSWERS)

    def makeConnection(self, transport):
        """
        Connect through a L{CompressingTransport}, so MCCP2 can compress
        everything written, Twisted's own negotiation bytes included.
        """
        self.secure = ISSLTransport.providedBy(transport)
        self.certificate = client_fingerprint(transport) if self.secure else ""
        self.batching = BatchingTransport(transport)
        self.compression = CompressingTransport(self.batching)
        with self.batching.batch():
            super().makeConnection(self.compression)

    def write(self, data):
        self.transport.write(data.replace(IAC, IAC + IAC))

    def writeSequence(self, seq):
        self.write(b"".join(seq))

    def write_command(self, command, after=b""):
        """
        Write C{IAC command}, e.g. C{GA} after a prompt or a C{NOP}, in one
        write after the data C{after} (whose IAC bytes are doubled).

        @type command: L{bytes} of length 1
        """
        self.transport.write(after.replace(IAC, IAC + IAC) + IAC + command)

    # Option negotiation: see the class docstring.

    def offer(self, options):
        """
        Offer options, all in one write.  Each is then being negotiated, as
        after Twisted's C{will} and C{do}, without the outcome being
        reported; its state is made only when the client answers (many
        clients never answer most offers).  An option already on or being
        negotiated is left alone.

        @param options: C{(option, local)} pairs: C{local} to offer to
            perform the option (C{IAC WILL}), else to ask the client to
            (C{IAC DO}).
        """
        offers = []
        for option, local in options:
            state = self.options.get(option)
            if state is None:
                if self._unanswered is None:
                    self._unanswered = {}
                elif option in self._unanswered:
                    continue
                self._unanswered[option] = local
            else:
                side = state.us if local else state.him
                if not side.at_rest():
                    continue
                side.negotiating, side.onResult = True, _UNOBSERVED
            offers.append(IAC + (WILL if local else DO) + option)
        if offers:
            self.transport.write(b"".join(offers))

    def getOptionState(self, opt):
        state = self.options.get(opt)
        if state is None:
            state = self.options[opt] = _OptionSides()
            local = self._unanswered.pop(opt, None) if self._unanswered else None
            if not self._unanswered:
                self._unanswered = None
            if local is not None:
                side = state.us if local else state.him
                side.negotiating, side.onResult = True, _UNOBSERVED
        return state

    def option_on(self, option, local):
        """
        Whether C{option} is on, on the server's side (C{local}) or the
        client's; unlike L{getOptionState} this records nothing.
        """
        state = self.options.get(option)
        return state is not None and (state.us if local else state.him).state == "yes"

    def _forget_at_rest(self, option):
        # Most clients refuse most of the options offered at connect; an
        # option back at the state it started in needs no state kept (it
        # is made afresh if the option comes up again).
        state = self.options.get(option)
        if state is not None and state.us.at_rest() and state.him.at_rest():
            del self.options[option]

    def telnet_WILL(self, option):
        super().telnet_WILL(option)
        self._forget_at_rest(option)

    def telnet_WONT(self, option):
        super().telnet_WONT(option)
        self._forget_at_rest(option)

    def telnet_DO(self, option):
        if not self._echo_answered(option, DO):
            super().telnet_DO(option)
        self._forget_at_rest(option)

    def telnet_DONT(self, option):
        if not self._echo_answered(option, DONT):
            super().telnet_DONT(option)
        self._forget_at_rest(option)

    def hide_input(self, hide):
        """
        Ask the client now to stop (C{True}) or go back to (C{False})
        echoing what it sends, whatever became of the previous request.

        @type hide: L{bool}
        """
        side = self.getOptionState(ECHO).us
        side.state, side.negotiating, side.onResult = ("yes" if hide else "no"), False, None
        self._echo_answers.append(DO if hide else DONT)
        self.transport.write(IAC + (WILL if hide else WONT) + ECHO)

    def _echo_answered(self, option, answer):
        """
        Whether C{answer} (C{DO} or C{DONT}) to C{option} answers requests
        made by L{hide_input}: it answers the oldest awaited one it matches,
        the ones before being taken as never answered; one that matches none
        while answers are awaited is an error answer (RFC 1143), ignored.
        A client's own request reaches the state machine.
        """
        answers = self._echo_answers
        if option != ECHO or not answers:
            return False
        if answer in answers:
            while answers.popleft() != answer:
                pass
        else:
            answers.popleft()
        return True

    def _enabled(self, option, local):
        if self.protocol is not None:
            self.protocol.option_enabled(option, local)

    # Each rule below applies to both sides of an option: "us" (local, an
    # option the server performs; we answer DO with WILL or WONT) and "him"
    # (the client's; we answer WILL with DO or DONT).
    _REPLIES = {True: (WILL, WONT), False: (DO, DONT)}

    def _requested(self, side, option, local):
        """
        The client asked for an option that is off: agree or refuse.
        """
        yes, no = self._REPLIES[local]
        if self.enableLocal(option) if local else self.enableRemote(option):
            side.state = "yes"
            self.transport.write(IAC + yes + option)
            self._enabled(option, local)
        else:
            self.transport.write(IAC + no + option)

    def _confirmed(self, side, option, local):
        """
        The client agreed to an option we asked for.
        """
        side.state, side.negotiating = "yes", False
        d, side.onResult = side.onResult, None
        self._enabled(option, local)
        d.callback(True)

    def _contradicted(self, side, option, local):
        """
        RFC 1143: a request answering our refusal leaves the option off.
        """
        self.log.debug("Client answered our refusal of {option!r} with a request", option=option)
        side.state, side.negotiating = "no", False
        d, side.onResult = side.onResult, None
        (self.disableLocal if local else self.disableRemote)(option)
        d.callback(True)

    def will_no_false(self, state, option):
        self._requested(state.him, option, False)

    def will_no_true(self, state, option):
        self._confirmed(state.him, option, False)

    def will_yes_true(self, state, option):
        self._contradicted(state.him, option, False)

    def do_no_false(self, state, option):
        self._requested(state.us, option, True)

    def do_no_true(self, state, option):
        self._confirmed(state.us, option, True)

    def do_yes_true(self, state, option):
        self._contradicted(state.us, option, True)

    willMap = {**telnet.Telnet.willMap, ("no", False): will_no_false, ("no", True): will_no_true, ("yes", True): will_yes_true}
    doMap = {**telnet.Telnet.doMap, ("no", False): do_no_false, ("no", True): do_no_true, ("yes", True): do_yes_true}

    # Input

    def dataReceived(self, data):
        with self.batching.batch():
            self._parse(data)

    def _parse(self, data):
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
