"""
The one base of line-oriented frontends: what telnet, C{lines}, the SSH
session, WebSocket and frontend plugins share between their protocol and
the core (L{gateway.interfaces.IGatewayCore}).
"""

from twisted.internet.interfaces import ISSLTransport
from zope.interface import implementer

from gateway.auth.fingerprints import client_fingerprint
from gateway.core.capabilities import Capabilities
from gateway.frontends.addresses import describe
from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.frontends.text import decode_line
from gateway.interfaces import IInputFlow, ISessionTransport

#: What a client is told for a line over C{limits.max_line_bytes}.
TOO_LONG_MESSAGE = "That line was too long (over {limit} bytes) and was ignored."


def capabilities_of(transport, protocol, **more):
    """
    The capabilities a connection's transport tells: its peer address and,
    over TLS, that it is secure and the client certificate's fingerprint
    (which the core logs in by when it is bound to an account).

    @param transport: the connection's L{twisted.internet.interfaces.ITransport}.
    @param protocol: the frontend's name as players see it (L{str}).
    @param more: further L{Capabilities} fields the protocol knows.
    @rtype: L{Capabilities}
    """
    secure = ISSLTransport.providedBy(transport)
    return Capabilities(
        protocol=protocol, secure=secure, peer=describe(transport.getPeer()),
        certificate=client_fingerprint(transport) if secure else "", **more
    )


@implementer(ISessionTransport, IInputFlow)
class LineFrontend:
    """
    A mixin for the protocol of a line-oriented frontend, before its
    protocol class (C{class MyProtocol(LineFrontend, Protocol)}).

    The protocol sets C{core} and C{capabilities}, calls L{buffer_lines}
    when its stream starts, L{session_started} with the session the core
    gives it, L{data_received} with the bytes of lines (or L{line_arrived}
    with lines it split itself) and L{end_session} when the connection is
    gone; it implements C{send}, C{send_prompt} and C{set_echo}.  This
    base does the rest: lines bounded by the live C{limits.max_line_bytes}
    with the one L{TOO_LONG_MESSAGE}, lines that arrive before the session
    exists held until it does (bytes wait in the buffer with reading
    paused; whole lines in a queue of at most C{limits.max_pending_lines}),
    pause and resume of reading on the bottom transport (L{IInputFlow}),
    and L{close}.  A protocol whose bottom transport takes a push producer
    (a stream's) may declare L{gateway.interfaces.IOutputFlow} too, which
    this base implements on that transport.

    @ivar core: the listener's L{gateway.interfaces.IGatewayCore}.
    @ivar capabilities: the client's L{Capabilities}.
    @ivar session: the L{gateway.interfaces.ISession}, once started and
        until the connection is gone.
    @ivar lines: the L{LineBuffer} of a byte stream, once L{buffer_lines}
        was called.
    @ivar ending: whether L{close} was called or the connection is gone.
    """

    core = None
    capabilities = None
    session = None
    lines = None
    ending = False
    _early = ()
    _input_paused = False
    _output_producer = None

    # What the protocol calls.

    def buffer_lines(self):
        """
        Split the bytes L{data_received} is given into lines, bounded by
        the core's live C{limits.max_line_bytes}.
        """
        core = self.core  # not self: the buffer must not point back here
        self.lines = LineBuffer(lambda: core.limits.max_line_bytes)

    def session_started(self, session):
        """
        The core gave the session: hand it what arrived before.

        @param session: the L{gateway.interfaces.ISession}.
        """
        self.session = session
        early, self._early = self._early, ()
        for text in early:
            self.handle_line(text)
        if self._input_paused:
            self.resume_input()

    def data_received(self, data):
        """
        Bytes of lines arrived: hand the session each complete line (when
        there is no session yet, they wait in the buffer and reading
        pauses).

        @type data: L{bytes}
        """
        self.lines.feed(data)
        if self.session is None and not self._input_paused:
            self.pause_input()
        self.deliver()

    def line_arrived(self, text):
        """
        A whole line arrived that the protocol split itself: hand it on,
        or keep it until the session exists (up to
        C{limits.max_pending_lines} of them).

        @type text: L{str}
        """
        if self.session is not None:
            self.handle_line(text)
        elif len(self._early) < self.core.limits.max_pending_lines:
            self._early = self._early + (text,)

    def end_session(self, reason):
        """
        The connection is gone: tell the session, and let go of it (it
        points back here), so a closed connection is freed at once.

        @type reason: L{twisted.python.failure.Failure}
        """
        self.ending = True
        if self.session is not None:
            session, self.session = self.session, None
            session.connection_lost(reason)

    # What the protocol may change.

    def deliver(self):
        """
        Hand the session the lines in the buffer, until they are used up
        or input pauses.
        """
        for line in self.lines.lines():
            if line is TOO_LONG:
                # Through the session, in order with what it sends.
                self.session.send(TOO_LONG_MESSAGE.format(limit=self.lines.max_bytes))
            else:
                self.handle_line(self.decode(line))

    def decode(self, line):
        """
        @param line: one received line (L{bytes}).
        @return: its text (L{str}), UTF-8 with control characters dropped.
        """
        return decode_line(line)

    def handle_line(self, text):
        """
        One line for the session; a protocol whose lines are messages
        overrides this to read them.

        @type text: L{str}
        """
        self.session.line_received(text)

    def input_producer(self):
        """
        @return: the L{twisted.internet.interfaces.IPushProducer} that
            reading pauses on: the protocol's transport, or the one below
            a protocol layered inside the connection.
        """
        return self.transport

    def farewell(self, reason):
        """
        Send the closing reason (L{None} for none) the protocol's way.
        """
        if reason:
            self.send(reason)

    def disconnect(self):
        """
        Close the connection once what was sent has been written.
        """
        self.transport.loseConnection()

    # IOutputFlow, for the protocols that declare it: the connection below
    # pauses a producer while the client leaves output unread.

    def register_output_producer(self, producer):
        self.input_producer().registerProducer(producer, True)
        self._output_producer = producer

    def unregister_output_producer(self):
        self._output_producer = None
        self.input_producer().unregisterProducer()

    # IInputFlow: what was read stays in the line buffer meanwhile.

    def pause_input(self):
        self._input_paused = True
        if self.lines is not None:
            self.lines.paused = True
        self.input_producer().pauseProducing()

    def resume_input(self):
        self._input_paused = False
        if self.lines is not None:
            self.lines.paused = False
            if self.session is not None:
                self.deliver()
        if not self._input_paused:
            self.input_producer().resumeProducing()

    # ISessionTransport

    def close(self, reason=None):
        """
        Send C{reason} and close the connection, once; the connection
        limits cut a client that does not take it.  Reading resumes, so
        that a protocol's closing handshake is read, and an output producer
        is let go of (a TLS transport does not close while one is
        registered).
        """
        if self.ending:
            return
        self.farewell(reason)
        self.ending = True
        if self._input_paused:
            self.resume_input()
        if self._output_producer is not None:
            self.unregister_output_producer()
        self.disconnect()
