"""
The telnet byte layer, for either end of a connection: IAC parsing,
option negotiation by the Q method of RFC 1143, bounded subnegotiations,
and writing with IAC doubled.

L{TelnetCodec} is a protocol for the connection's transport and the
transport of an L{twisted.conch.telnet.ITelnetProtocol} above it, which
it tells about data, commands, subnegotiations and options in the words
of that interface (C{enableLocal}, C{enableRemote}, C{disableLocal},
C{disableRemote}, C{unhandledSubnegotiation}, C{unhandledCommand}), plus
C{option_enabled(option, local)} once an option is on.

Nothing in it depends on which end of the connection it runs at: an
option is C{local} when this end performs it (it sends C{WILL}/C{WONT}
and receives C{DO}/C{DONT}) and remote when the peer does (it sends
C{DO}/C{DONT} and receives C{WILL}/C{WONT}).  A server offers its options
with L{TelnetCodec.offer}; a client towards a MUD answers the server's
offers through the same state machine, and asks for what it wants with
L{TelnetCodec.request} or L{TelnetCodec.offer}.  The protocol above
decides which options are welcome through C{enableLocal} and
C{enableRemote}.

Each side of an option is in one of the Q method's states (L{NO},
L{YES}, L{WANTNO}, L{WANTYES}, or one of the last two with a request for
the opposite queued: L{WANTNO_OPPOSITE}, L{WANTYES_OPPOSITE}).  Only
states other than L{NO} are kept, so a connection whose peer refused
every offer keeps no option state at all.
"""

from collections import deque

from twisted.internet.interfaces import ITransport
from twisted.internet.protocol import Protocol
from zope.interface import implementer

from gateway.frontends.telnet.codes import COMMANDS, DO, DONT, IAC, SB, SE, WILL, WONT
from gateway.frontends.telnet.mccp import CompressingTransport
from gateway.logtext import Logger

#: The Q method's states of one side of an option (RFC 1143, section 7).
NO, YES, WANTNO, WANTYES = "no", "yes", "wantno", "wantyes"
#: L{WANTNO} and L{WANTYES} with the opposite request queued.
WANTNO_OPPOSITE, WANTYES_OPPOSITE = "wantno opposite", "wantyes opposite"

#: The commands after IAC that take an option byte.
_NEGOTIATIONS = frozenset([WILL, WONT, DO, DONT])
#: What is sent to turn a side on and off: C{local} to (yes, no).
_SENT = {True: (WILL, WONT), False: (DO, DONT)}
#: What is received about a side: the command to (local, asks for on).
_RECEIVED = {DO: (True, True), DONT: (True, False), WILL: (False, True), WONT: (False, False)}

#: Our own request to turn a side on (C{True}) or off, in a state: the new
#: state and whether the request is sent.  In the states not listed the
#: request changes nothing (already so, or already asked for).
_ASKED = {
    (True, NO): (WANTYES, True),
    (True, WANTNO): (WANTNO_OPPOSITE, False),
    (True, WANTYES_OPPOSITE): (WANTYES, False),
    (False, YES): (WANTNO, True),
    (False, WANTYES): (WANTYES_OPPOSITE, False),
    (False, WANTNO_OPPOSITE): (WANTNO, False),
}

# The parser's states.
_DATA, _ESCAPED, _OPTION, _SUBNEGOTIATION, _SUBNEGOTIATION_ESCAPED = range(5)


@implementer(ITransport)
class TelnetCodec(Protocol):
    """
    One telnet connection's byte layer; see the module docstring.

    The parser never raises on what the peer sends: it ignores unknown
    commands after IAC, drops NUL (the NVT no-op, as in CR NUL), bounds a
    subnegotiation to L{MAX_SUBNEGOTIATION} bytes (a longer one is
    discarded) and passes CR and LF through for the protocol above to
    treat as line ends.  Writes double IAC bytes and nothing else.

    Everything is written through L{compression}, a L{CompressingTransport}
    that MCCP2 switches on.

    @ivar protocol: the L{twisted.conch.telnet.ITelnetProtocol} above, from
        the connection's start until its end.
    @ivar transport: the connection's transport.
    @ivar compression: the L{CompressingTransport} over it.
    @ivar states: C{(option, local)} to the Q method state of that side of
        the option, for the sides not in L{NO}.
    """

    #: The longest subnegotiation kept, in bytes.
    MAX_SUBNEGOTIATION = 8192
    #: At most this many answers to L{announce}d changes are awaited; older
    #: ones are forgotten.
    MAX_AWAITED = 8
    log = Logger()
    protocol = None

    def __init__(self, protocolFactory, *args, **kwargs):
        """
        @param protocolFactory: called with C{args} and C{kwargs} when the
            connection is made, returns the L{ITelnetProtocol} above.
        """
        self._protocol_factory = protocolFactory
        self._args = args
        self._kwargs = kwargs
        self._parser = _DATA
        self._command = None
        self._subnegotiation = bytearray()
        self._overflow = False
        self.states = {}
        # The peer's awaited answers to announced changes, oldest first:
        # (option, command); None while none are awaited.
        self._awaited = None

    # The connection.

    def makeConnection(self, transport):
        self.compression = CompressingTransport(transport)
        super().makeConnection(transport)

    def connectionMade(self):
        self.protocol = self._protocol_factory(*self._args, **self._kwargs)
        self.protocol.makeConnection(self)

    def connectionLost(self, reason):
        protocol, self.protocol = self.protocol, None
        if protocol is not None:
            protocol.connectionLost(reason)

    # ITransport, for the protocol above.

    def write(self, data):
        self.compression.write(data.replace(IAC, IAC + IAC))

    def writeSequence(self, seq):
        self.write(b"".join(seq))

    def loseConnection(self):
        self.compression.loseConnection()

    def getPeer(self):
        return self.transport.getPeer()

    def getHost(self):
        return self.transport.getHost()

    def write_command(self, command, after=b""):
        """
        Write C{IAC command}, e.g. C{GA} after a prompt or a C{NOP}, in one
        write after the data C{after} (whose IAC bytes are doubled).

        @type command: L{bytes} of length 1
        """
        self.compression.write(after.replace(IAC, IAC + IAC) + IAC + command)

    def requestNegotiation(self, about, data):
        """
        Send the subnegotiation C{IAC SB about data IAC SE}, IAC bytes in
        C{data} doubled.
        """
        self.compression.write(IAC + SB + about + data.replace(IAC, IAC + IAC) + IAC + SE)

    # Option negotiation (RFC 1143).

    def state(self, option, local):
        """
        The Q method state of one side of C{option}.

        @param local: C{True} for this end's side, C{False} for the peer's.
        @return: L{NO}, L{YES}, L{WANTNO}, L{WANTYES}, L{WANTNO_OPPOSITE}
            or L{WANTYES_OPPOSITE}.
        """
        return self.states.get((option, local), NO)

    def option_on(self, option, local):
        """
        Whether C{option} is on, on this end's side (C{local}) or the
        peer's.
        """
        return self.states.get((option, local)) == YES

    def _set(self, option, local, state):
        if state == NO:
            self.states.pop((option, local), None)
        else:
            self.states[option, local] = state

    def offer(self, options):
        """
        Ask for several options to be turned on, all in one write; what
        L{request} does for each.

        @param options: C{(option, local)} pairs: C{local} to offer to
            perform the option (C{IAC WILL}), else to ask the peer to
            (C{IAC DO}).
        """
        sent = [self._ask(option, local, True) for option, local in options]
        data = b"".join(sent)
        if data:
            self.compression.write(data)

    def request(self, option, local, enable):
        """
        Ask for one side of C{option} to be turned on (C{enable}) or off,
        as the Q method does: a request is sent only when the option is not
        already so or being negotiated so, and a request made while the
        opposite one awaits its answer is queued behind it.  The protocol
        hears the outcome through C{option_enabled} or C{disableLocal} /
        C{disableRemote}.

        @param local: C{True} for this end's side, C{False} for the peer's.
        """
        data = self._ask(option, local, enable)
        if data:
            self.compression.write(data)

    def _ask(self, option, local, enable):
        """
        Move one side's state for a request of ours.

        @return: the bytes to send, or C{b""}.
        """
        state = self.state(option, local)
        step = _ASKED.get((enable, state))
        if step is None:
            return b""
        new, send = step
        self._set(option, local, new)
        if state == YES:
            self._disabled(option, local)
        return IAC + _SENT[local][0 if enable else 1] + option if send else b""

    def announce(self, option, local, enable):
        """
        Turn one side of C{option} on or off now and tell the peer, without
        waiting for the answer to any earlier announcement: RFC 1143 lets
        an end go ahead with its own side.  The peer's answers are awaited
        (up to L{MAX_AWAITED}) and taken as answers, not as requests of its
        own.

        A server hides a password's echo this way (C{WILL ECHO}, then
        C{WONT ECHO}): some clients (TinTin++) never answer C{WONT ECHO},
        and waiting for that answer would leave every later password
        prompt shown.
        """
        yes, no = _SENT[local]
        was_on = self.option_on(option, local)
        self._set(option, local, YES if enable else NO)
        if self._awaited is None:
            self._awaited = deque(maxlen=self.MAX_AWAITED)
        # The peer answers WILL with DO and DO with WILL, and so on.
        self._awaited.append((option, _SENT[not local][0 if enable else 1]))
        self.compression.write(IAC + (yes if enable else no) + option)
        if enable and not was_on:
            self._enabled(option, local)
        elif was_on and not enable:
            self._disabled(option, local)

    def _is_awaited(self, option, command):
        """
        Whether C{command} about C{option} answers an L{announce}ment: it
        answers the oldest awaited one it matches, the ones before it being
        taken as never answered; one that matches none while answers about
        the option are awaited is an error answer (RFC 1143), ignored.
        """
        awaited = self._awaited
        if awaited is None:
            return False
        local = _RECEIVED[command][0]
        mine = [entry for entry in awaited if entry[0] == option and _RECEIVED[entry[1]][0] == local]
        if not mine:
            return False
        answered = (option, command)
        last = mine.index(answered) if answered in mine else 0
        for entry in mine[:last + 1]:
            awaited.remove(entry)
        if not awaited:
            self._awaited = None
        return True

    def _received(self, command, option):
        """
        The peer sent C{WILL}, C{WONT}, C{DO} or C{DONT} about C{option}:
        RFC 1143's rules for receiving it.
        """
        if self._is_awaited(option, command):
            return
        local, on = _RECEIVED[command]
        state = self.state(option, local)
        yes, no = _SENT[local]
        if on:
            if state == NO:
                accept = self.protocol.enableLocal(option) if local else self.protocol.enableRemote(option)
                if accept:
                    self._set(option, local, YES)
                    self.compression.write(IAC + yes + option)
                    self._enabled(option, local)
                else:
                    self.compression.write(IAC + no + option)
            elif state == WANTYES:
                self._set(option, local, YES)
                self._enabled(option, local)
            elif state == WANTYES_OPPOSITE:
                self._set(option, local, WANTNO)
                self.compression.write(IAC + no + option)
            elif state in (WANTNO, WANTNO_OPPOSITE):
                # An error: our refusal answered with a request.  The
                # option stays off, unless we have asked for it on again
                # since (RFC 1143).
                self.log.debug("Peer answered our refusal of {option!r} with a request", option=option)
                if state == WANTNO:
                    self._set(option, local, NO)
                else:
                    self._set(option, local, YES)
                    self._enabled(option, local)
        else:
            if state == YES:
                # Off before the reply: MCCP2 ends its stream first.
                self._set(option, local, NO)
                self._disabled(option, local)
                self.compression.write(IAC + no + option)
            elif state in (WANTNO, WANTYES, WANTYES_OPPOSITE):
                self._set(option, local, NO)
            elif state == WANTNO_OPPOSITE:
                self._set(option, local, WANTYES)
                self.compression.write(IAC + yes + option)

    def _enabled(self, option, local):
        if self.protocol is not None:
            self.protocol.option_enabled(option, local)

    def _disabled(self, option, local):
        if self.protocol is not None:
            (self.protocol.disableLocal if local else self.protocol.disableRemote)(option)

    # Input.

    def dataReceived(self, data):
        app = []
        i, end = 0, len(data)
        while i < end:
            state = self._parser
            if state == _DATA:
                j = data.find(IAC, i)
                stop = end if j < 0 else j
                if stop > i:
                    app.append(data[i:stop].replace(b"\0", b""))
                if j < 0:
                    break
                i, self._parser = j + 1, _ESCAPED
            elif state == _ESCAPED:
                byte = data[i:i + 1]
                i += 1
                self._parser = _DATA
                if byte == IAC:
                    app.append(IAC)
                elif byte == SB:
                    self._parser = _SUBNEGOTIATION
                    self._subnegotiation.clear()
                    self._overflow = False
                elif byte in _NEGOTIATIONS:
                    self._parser, self._command = _OPTION, byte
                elif byte in COMMANDS:
                    self._deliver(app)
                    self._command_received(byte)
                else:
                    self.log.debug("Ignored unknown telnet command {byte!r}", byte=byte)
            elif state == _OPTION:
                option = data[i:i + 1]
                i += 1
                self._parser = _DATA
                self._deliver(app)
                if self.protocol is not None:
                    self._received(self._command, option)
            elif state == _SUBNEGOTIATION:
                j = data.find(IAC, i)
                stop = end if j < 0 else j
                self._collect(data[i:stop])
                if j < 0:
                    break
                i, self._parser = j + 1, _SUBNEGOTIATION_ESCAPED
            else:
                byte = data[i:i + 1]
                i += 1
                if byte == SE:
                    self._parser = _DATA
                    self._deliver(app)
                    self._finish_subnegotiation()
                else:
                    # IAC IAC is an escaped 255; any other byte after IAC
                    # inside a subnegotiation is a peer's error, kept as is.
                    self._parser = _SUBNEGOTIATION
                    self._collect(byte if byte == IAC else IAC + byte)
        self._deliver(app)

    def _deliver(self, app):
        if app:
            data = b"".join(app)
            del app[:]
            if data and self.protocol is not None:
                self.protocol.dataReceived(data)

    def _command_received(self, command):
        if self.protocol is not None:
            self.protocol.unhandledCommand(command, None)

    def _collect(self, chunk):
        if len(self._subnegotiation) + len(chunk) > self.MAX_SUBNEGOTIATION:
            self._overflow = True
        elif not self._overflow:
            self._subnegotiation += chunk

    def _finish_subnegotiation(self):
        if self._overflow:
            self.log.warn("Discarded a telnet subnegotiation over {limit} bytes", limit=self.MAX_SUBNEGOTIATION)
        elif self._subnegotiation and self.protocol is not None:
            option, payload = self._subnegotiation[:1], self._subnegotiation[1:]
            self.protocol.unhandledSubnegotiation(bytes(option), [bytes([b]) for b in payload])
        self._subnegotiation.clear()
