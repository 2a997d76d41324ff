"""
One player's telnet client connection to the upstream game, negotiating
for the player from what the frontend learned about the player's client.

Options the relay takes, and what it does with them:

    ECHO (game)        the game hides the player's typing: the frontend is
                       asked to hide it too (C{set_echo(False)})
    SGA (game)         taken; prompts are marked by GA or EOR either way
    EOR (game)         C{IAC EOR} and C{IAC GA} end a prompt
    GMCP (game)        the game's messages go to the player's client as
                       structured messages, and the client's to the game;
                       C{Core.Hello} names the client
    MCCP2 (game)       what the game sends is decompressed
    MSSP (game)        the game's status is kept for MUD crawlers
    MSDP (game)        while the player's client (telnet) agreed to MSDP:
                       well-formed subnegotiations are passed on both
                       ways; else while it takes structured messages:
                       each becomes an C{MSDP} structured message, and
                       the client's C{MSDP} messages become MSDP
                       (L{gateway.upstream.mog}); asked for when the
                       client can take it after the game offered, dropped
                       when it no longer can
    CHARSET (both)     UTF-8 when the game offers it, else the configured
                       encoding; text is transcoded for each client
    NAWS (client)      the client's size, sent again when it changes
    TTYPE (client)     the client's name, terminal and MTTS bits (with 128,
                       PROXY)
    NEW-ENVIRON        MNES: IPADDRESS (the player's address, with
      (client)         C{client_address = "mnes"}), CLIENT_NAME,
                       CLIENT_VERSION, TERMINAL_TYPE, MTTS, CHARSET

Every other option is refused.  The answers that name the player's client
(TTYPE, NEW-ENVIRON, GMCP C{Core.Hello}) wait while the client is still
naming itself to the gateway (a telnet client's TTYPE cycle, which the
game, nearer to the gateway than the player, usually asks about first),
for L{NAMES_WAIT} seconds at the most.
"""

import codecs
import struct

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from gateway import __version__
from gateway.frontends.telnet.charset import ACCEPTED, REJECTED, REQUEST, canonical
from gateway.frontends.telnet.codes import (
    CHARSET, DO, DONT, ECHO, EOR, EOR_MARK, GA, GMCP, IAC, MCCP2, MSDP, MSSP, NAWS, NEW_ENVIRON, SGA, TTYPE,
)
from gateway.frontends.telnet.environ import ESC, IS, SEND, USERVAR, VALUE, VAR, parse_variables
from gateway.frontends.telnet.gmcp import decode_message, encode_message
from gateway.frontends.telnet.msdp import well_formed
from gateway.frontends.telnet.mssp import MSSP_VAL, MSSP_VAR
from gateway.frontends.telnet.terminal import (
    MTTS_256, MTTS_ANSI, MTTS_SCREEN_READER, MTTS_TRUECOLOR, MTTS_UTF8,
)
from gateway.interfaces import IMSDPTransport, IOutputFlow, IStructuredTransport
from gateway.logtext import loggable
from gateway.upstream.ansi import Colours, unfinished
from gateway.upstream.mog import PACKAGE as MOG, json_to_msdp, msdp_to_json
from gateway.upstream.telnet import TelnetClient

#: MTTS bits the relay sets itself: 128 (PROXY, the client is behind a
#: proxy) and 512 (MNES, NEW-ENVIRON answered the MNES way).
MTTS_PROXY, MTTS_MNES = 128, 512

#: Options the game may perform, and options the relay performs for it.
REMOTE_OPTIONS = frozenset([ECHO, SGA, EOR, GMCP, MCCP2, MSSP, CHARSET])
LOCAL_OPTIONS = frozenset([NAWS, TTYPE, NEW_ENVIRON, CHARSET])

#: Seconds the answers naming the player's client wait, at the most, for
#: the client to finish naming itself (C{Capabilities.names_pending}).
NAMES_WAIT = 2.0

#: A line from the game longer than this many characters is passed on in
#: pieces of this size.
MAX_LINE = 16384


def _ascii(text, default):
    """
    C{text} as printable ASCII for a TTYPE or NEW-ENVIRON value, or
    C{default} when nothing is left.
    """
    cleaned = "".join(c for c in text if c.isprintable() and c.isascii()).strip()
    return cleaned or default


def _escape_environ(value):
    """
    Quote the bytes RFC 1572 reserves (VAR, VALUE, ESC, USERVAR) with ESC.
    """
    reserved = {VAR, VALUE, ESC, USERVAR}
    return b"".join(bytes([ESC, b]) if b in reserved else bytes([b]) for b in value)


def parse_mssp(payload):
    """
    The variables of an MSSP subnegotiation.

    @type payload: L{bytes}
    @return: C{(name, values)} pairs as text, C{values} a L{list}.
    """
    fields = []
    for chunk in payload.split(MSSP_VAR)[1:]:
        name, *values = chunk.split(MSSP_VAL)
        fields.append((name.decode("utf-8", "replace"), [v.decode("utf-8", "replace") for v in values]))
    return fields


class GameReading:
    """
    Reading from the game, paused while any of several reasons holds:
    C{"player"}, the player leaves output unread (a game that sends faster
    than the player reads waits in its own socket, not in the gateway);
    C{"game"}, the game leaves unread what the relay writes to it (the
    answers to its requests wait for it, not in the gateway); C{"linger"},
    a lingering session's replay buffer is full.

    @ivar reasons: the reasons reading is paused for.
    """

    def __init__(self, transport):
        """
        @param transport: the game connection's transport.
        """
        self.transport = transport
        self.reasons = set()

    def pause(self, reason):
        """
        Stop reading for C{reason}.
        """
        if not self.reasons:
            self.transport.pauseProducing()
        self.reasons.add(reason)

    def resume(self, reason):
        """
        C{reason} no longer holds: read again if no other does.
        """
        if reason in self.reasons:
            self.reasons.discard(reason)
            if not self.reasons:
                self.transport.resumeProducing()


@implementer(IPushProducer)
class PausedBy:
    """
    A push producer for a consumer that pauses reading from the game for
    one reason (see L{GameReading}).
    """

    def __init__(self, reading, reason, stop):
        """
        @param reading: the L{GameReading}.
        @param reason: the reason this consumer pauses it for.
        @param stop: called when the consumer stops for good.
        """
        self.reading = reading
        self.reason = reason
        self.stop = stop

    def pauseProducing(self):
        self.reading.pause(self.reason)

    def resumeProducing(self):
        self.reading.resume(self.reason)

    def stopProducing(self):
        self.stop()


class UpstreamRelay(TelnetClient):
    """
    The telnet client for one session (see the module docstring).

    @ivar session: the L{gateway.upstream.core.UpstreamSession}.
    @ivar encoding: the encoding of the text exchanged with the game.
    @ivar connected: whether the connection is up.
    @ivar heard: whether the game has sent anything yet.
    @ivar reading: the L{GameReading} of the connection, once it is made.
    """

    def __init__(self, core, session):
        """
        @param core: the L{gateway.upstream.core.UpstreamCore}.
        @param session: the session relayed.
        """
        super().__init__()
        self.core = core
        self.log = core.log
        self.session = session
        self.connected = False
        self.heard = False
        self._set_encoding(core.upstream.encoding)
        self._text = ""
        self._colours = Colours()
        self._ttype_replies = 0
        self._size = None
        self._msdp_offered = False
        self._registered = False
        self.reading = None
        self._held = []
        self._names_timer = None
        self._names_waited = False

    def _set_encoding(self, name):
        self.encoding = codecs.lookup(name).name
        self._decoder = codecs.getincrementaldecoder(self.encoding)("replace")

    # The connection.

    def connectionMade(self):
        self.connected = True
        self.reading = GameReading(self.transport)
        # Writes the game leaves unread pause reading from it.
        self.transport.registerProducer(PausedBy(self.reading, "game", self._stopped), True)
        self._registered = True
        header = self.core.address_header(self.session, self.transport)
        if header:
            self.transport.write(header)
        self.follow_output()

    def follow_output(self):
        """
        Have the session's frontend pause reading from the game while its
        player leaves output unread (see L{IOutputFlow}).
        """
        frontend = self.session.transport
        if IOutputFlow.providedBy(frontend) and not self.session.closed:
            frontend.register_output_producer(PausedBy(self.reading, "player", self.close))

    def close(self):
        """
        Close the connection to the game (once what was written to it is
        sent).
        """
        self._unregister()
        self.transport.loseConnection()

    def _unregister(self):
        """
        Stop following the game's reading of what the relay writes, before
        the relay stops writing: a transport does not close (or half-close)
        while a paused producer is registered, nor a TLS one while any is.
        """
        if self._registered:
            self._stopped()
            self.transport.unregisterProducer()

    def _stopped(self):
        """
        The game's transport no longer asks to pause reading.
        """
        self._registered = False

    def connectionLost(self, reason):
        self.connected = False
        self.core.relays.discard(self)
        if self._names_timer is not None:
            self._names_timer.cancel()
            self._names_timer = None
        self._held = []
        session = self.session
        if session.closed and session.lingering is None:
            return
        if not self.heard:
            # Nothing ever came through: a game that accepts connections
            # but is not serving, or a TLS handshake that failed.
            self.log.warn("{session}: the game at {host} closed the connection before sending anything: {reason}",
                          session=session, host=self.core.host, reason=reason.getErrorMessage())
            session.close(self.core.not_answering())
            return
        with self.core.outbox.batch():
            self._prompt()
        self.log.info("{session}: the game at {host} closed the connection", session=session, host=self.core.host)
        session.close()

    def stream_broken(self, why):
        """
        The game's stream cannot be read on: the player is told so in one
        line, and the session ends with the connection to the game.
        """
        session = self.session
        self.log.warn("{session}: the game at {host} sent {why}; closing", session=session, host=self.core.host, why=why)
        # The end of the game's last line goes first, not after the close.
        self._prompt()
        session.close(f"The game at {self.core.host} sent {why}; you have been disconnected.")

    def dataReceived(self, data):
        self.heard = True
        if self.session.closed and self.session.lingering is None:
            return
        # What one read of the game's output makes goes out in one write.
        with self.core.outbox.batch():
            super().dataReceived(data)
            self._prompt()

    # The player's side.

    def send_line(self, text):
        """
        Send one line the player typed.
        """
        if self.connected:
            self.send_text(text.encode(self.encoding, "replace") + b"\r\n")

    def input_ended(self):
        """
        The player's input ended: close the writing half of the game's
        connection, so the game reads the end of it as a player leaving
        and what it still sends reaches the player, until it closes.
        """
        if self.connected:
            self._unregister()
            self.transport.loseWriteConnection()

    def send_data(self, package, data):
        """
        Send one of the player's structured messages to the game: an
        C{MSDP} one as MSDP when the game has MSDP on, else as GMCP when
        the game has it on (else it is dropped: the game never asked).
        """
        if package == MOG and self.connected and MSDP in self.remote:
            try:
                payload = json_to_msdp(data, self.encoding)
            except ValueError as e:
                self.log.debug("{session}: ignored an MSDP message: {error}", session=self.session, error=e)
            else:
                self.send_subnegotiation(MSDP, payload)
        elif self.connected and GMCP in self.remote:
            self.send_subnegotiation(GMCP, encode_message(package, data))

    def send_msdp(self, payload):
        """
        Send one of the player's MSDP subnegotiations (well-formed) to the
        game, when MSDP is on between them.
        """
        if self.connected and MSDP in self.remote:
            self.send_subnegotiation(MSDP, payload)

    def _client_msdp(self):
        frontend = self.session.transport
        return IMSDPTransport.providedBy(frontend) and frontend.msdp_on()

    def _msdp_wanted(self):
        """
        Whether the player's client takes the game's MSDP: as MSDP, or as
        structured messages.
        """
        session = self.session
        structured = session.capabilities.structured and IStructuredTransport.providedBy(session.transport)
        return structured or self._client_msdp()

    def msdp_changed(self):
        """
        The player's client turned MSDP or structured messages on or off:
        ask the game for MSDP (when it offered it before) or turn it off.
        """
        if not self.connected:
            return
        if self._msdp_wanted():
            if self._msdp_offered and MSDP not in self.remote:
                self.remote.add(MSDP)
                self.transport.write(IAC + DO + MSDP)
        else:
            self._refused(self.remote, MSDP, False, DONT)

    def capabilities_changed(self):
        """
        The player's client changed (a resized window, structured
        messages turned on or off): tell the game; the answers that waited
        for the client's names go once it has said them.
        """
        self._send_size()
        self.msdp_changed()
        if self._held and not self.session.capabilities.names_pending:
            self._answer_held()

    def _when_named(self, answer, *args):
        """
        Call C{answer(*args)} now, or once the player's client has said its
        names, at the latest after L{NAMES_WAIT} seconds; answers that wait
        keep their order.
        """
        if not self._held and (self._names_waited or not self.session.capabilities.names_pending):
            answer(*args)
            return
        self._held.append((answer, args))
        if self._names_timer is None:
            self._names_timer = self.core.clock.callLater(NAMES_WAIT, self._answer_held)

    def _answer_held(self):
        if self._names_timer is not None:
            if self._names_timer.active():
                self._names_timer.cancel()
            self._names_timer = None
        self._names_waited = True
        held, self._held = self._held, []
        for answer, args in held:
            if self.connected:
                answer(*args)

    def _send_size(self):
        caps = self.session.capabilities
        size = (max(0, min(caps.width, 65535)), max(0, min(caps.height, 65535)))
        if NAWS in self.local and self.connected and size != self._size:
            self._size = size
            self.send_subnegotiation(NAWS, struct.pack(">HH", *size))

    # Text from the game.

    def text_received(self, data):
        text = self._text + self._decoder.decode(data)
        if "\n" not in text and len(text) <= MAX_LINE:
            self._text = text
            return
        # The complete lines are translated together, not one by one.
        end = text.rfind("\n")
        lines = [text[:end]] if end >= 0 else []
        rest = text[end + 1:]
        while len(rest) > MAX_LINE:
            lines.append(rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        self._text = rest
        self.session.send(self._colours.translate("\n".join(lines)))

    def command_received(self, command):
        if command in (GA, EOR_MARK):
            self._prompt()

    def _prompt(self):
        """
        Pass on the text of an unfinished line as a prompt: the game marked
        it as one (GA, EOR), or its write ended there (games that mark
        nothing still get their prompts shown).  An escape sequence cut
        short by the end of the write waits for its rest.
        """
        text = self._text
        cut = unfinished(text)
        self._text = text[cut:]
        prompt = text[:cut].replace("\r", "")
        session = self.session
        if prompt and not session.closed:
            self.core.outbox.flush(session)
            session.transport.send_prompt(self._colours.translate(prompt))

    # Options.

    def accept_local(self, option):
        return option in LOCAL_OPTIONS

    def accept_remote(self, option):
        if option == MSDP:
            # Remembered, to ask for it once the player's client agrees.
            self._msdp_offered = True
            return self._msdp_wanted()
        return option in REMOTE_OPTIONS

    def option_changed(self, option, local, on):
        self.log.debug("{session}: game {side} {option} {state}", session=self.session,
                       side="client" if local else "server", option=option, state="on" if on else "off")
        if option == ECHO and not local and not self.session.closed:
            self.session.transport.set_echo(not on)
        elif option == NAWS and on:
            self._size = None
            self._send_size()
        elif option == GMCP and on:
            self._when_named(self._hello)

    def _hello(self):
        """
        Send GMCP C{Core.Hello}, naming the player's client.
        """
        caps = self.session.capabilities
        hello = {"client": _ascii(caps.client, "gateway"), "version": _ascii(caps.client_version, __version__)}
        self.send_subnegotiation(GMCP, encode_message("Core.Hello", hello))

    def subnegotiation_received(self, option, payload):
        if option == TTYPE and payload == SEND:
            self._when_named(self._terminal_type)
        elif option == NEW_ENVIRON and payload[:1] == SEND:
            self._when_named(self._environment, payload[1:])
        elif option == CHARSET and payload[:1] == REQUEST:
            self._charset(payload[1:])
        elif option == GMCP:
            self._gmcp(payload)
        elif option == MSSP:
            self.core.mssp = parse_mssp(payload)
        elif option == MSDP and well_formed(payload):
            self._msdp(payload)
        else:
            self.log.debug("Ignored a subnegotiation from the game: {option!r} {data}",
                           option=option, data=loggable(payload, 64))

    def _names(self):
        """
        The client's name, terminal type and MTTS bits, as sent in TTYPE
        and NEW-ENVIRON.
        """
        caps = self.session.capabilities
        default_terminal = "XTERM-256COLOR" if caps.xterm256 else "ANSI" if caps.ansi else "DUMB"
        bits = MTTS_PROXY
        for on, bit in ((caps.ansi, MTTS_ANSI), (caps.utf8, MTTS_UTF8), (caps.xterm256, MTTS_256),
                        (caps.screen_reader, MTTS_SCREEN_READER), (caps.truecolor, MTTS_TRUECOLOR),
                        (self.core.upstream.client_address == "mnes", MTTS_MNES)):
            if on:
                bits |= bit
        client = _ascii(caps.client, caps.protocol.upper())
        return client, _ascii(caps.terminal, default_terminal).upper(), bits

    def _terminal_type(self):
        """
        Answer a TTYPE request in the MTTS cycle: the client's name, then
        its terminal, then C{"MTTS <bits>"}, repeated.
        """
        client, terminal, bits = self._names()
        cycle = [client.upper(), terminal, f"MTTS {bits}"]
        answer = cycle[min(self._ttype_replies, 2)]
        self._ttype_replies += 1
        self.send_subnegotiation(TTYPE, IS + answer.encode("ascii"))

    def environment(self):
        """
        The variables the relay answers NEW-ENVIRON with: never anything
        the player's client said about its address, only what the gateway
        saw (the peer of the player's connection, or the address a trusted
        proxy relayed).

        @return: name to value, both L{bytes}.
        """
        caps = self.session.capabilities
        client, terminal, bits = self._names()
        values = {
            b"CLIENT_NAME": client, b"TERMINAL_TYPE": terminal, b"MTTS": str(bits),
            b"CHARSET": "UTF-8" if self.encoding == "utf-8" else self.encoding.upper(),
        }
        if caps.client_version:
            values[b"CLIENT_VERSION"] = _ascii(caps.client_version, "")
        if self.core.upstream.client_address == "mnes":
            values[b"IPADDRESS"] = caps.host
        return {name: value.encode("ascii", "replace") for name, value in values.items()}

    def _environment(self, request):
        values = self.environment()
        names = [name for name, _ in parse_variables(request)] or list(values)
        answer = [IS]
        for name in names[:32]:
            answer.append(bytes([VAR]) + _escape_environ(name))
            if name in values:
                answer.append(bytes([VALUE]) + _escape_environ(values[name]))
        self.send_subnegotiation(NEW_ENVIRON, b"".join(answer))

    def _charset(self, request):
        """
        Answer a CHARSET request: UTF-8 when offered, else the configured
        encoding when offered, else reject.
        """
        if request.startswith(b"[TTABLE]"):
            request = request[9:]
        separator, names = request[:1], request[1:]
        offered = names.split(separator)[:32] if separator else []
        wanted = [canonical("utf-8"), canonical(self.core.upstream.encoding)]
        for choice in wanted:
            for name in offered:
                if canonical(name.decode("ascii", "replace")) == choice:
                    self.send_subnegotiation(CHARSET, ACCEPTED + name)
                    self._set_encoding("utf-8" if choice == wanted[0] else self.core.upstream.encoding)
                    return
        self.send_subnegotiation(CHARSET, REJECTED)

    def _msdp(self, payload):
        """
        Pass on a well-formed MSDP subnegotiation: as it is to a client
        that agreed to MSDP, else as an C{MSDP} structured message.
        """
        if self._client_msdp():
            self.session.transport.send_msdp(payload)
        else:
            self.core.outbox.flush(self.session)
            self.session.send_data(MOG, msdp_to_json(payload, self.encoding))

    def _gmcp(self, payload):
        try:
            package, data = decode_message(payload)
        except ValueError as e:
            self.log.debug("Ignored malformed GMCP from the game: {error}", error=e)
            return
        self.core.outbox.flush(self.session)
        self.session.send_data(package, data)
