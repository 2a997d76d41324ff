"""
The client side of telnet, for the connection to an upstream game: a byte
parser that never raises on what the game sends, option negotiation that
answers each request once (no loops, RFC 1143's rule that a request for
the state an option is already in gets no answer), and MCCP2
decompression of what the game sends once it starts compressing.
"""

import zlib

from twisted.internet.protocol import Protocol

from gateway.frontends.telnet.codes import DO, DONT, IAC, MCCP2, SB, SE, WILL, WONT
from gateway.logtext import Logger, loggable

#: A subnegotiation from the game longer than this is discarded (GMCP
#: messages of a big game can be long; a telnet client's are short).
MAX_SUBNEGOTIATION = 65536

#: Decompressed MCCP2 output is parsed in pieces of at most this many
#: bytes, so a small compressed read cannot make one huge buffer.
INFLATE_PIECE = 65536

#: One read of compressed output from the game may decompress to at most
#: this many bytes (a socket read is at most 64 KiB: this allows a ratio
#: of 64 to 1, far beyond what a game's text compresses to).  More is a
#: compression bomb: the stream is broken off (L{TelnetClient.stream_broken}).
MAX_BURST = 64 * INFLATE_PIECE


class TelnetClient(Protocol):
    """
    A telnet client connection.  Subclasses say which options they take
    (L{accept_local}, L{accept_remote}) and receive text
    (L{text_received}), commands (L{command_received}), option changes
    (L{option_changed}) and subnegotiations (L{subnegotiation_received}).

    @ivar local: the options on at the client's side (we C{WILL}).
    @ivar remote: the options on at the game's side (it C{WILL}s).
    @ivar broken: why the game's stream could not be read on (see
        L{stream_broken}), or L{None} while it can.
    """

    broken = None

    log = Logger()

    def __init__(self):
        self.local = set()
        self.remote = set()
        self._state = "data"
        self._command = None
        self._subnegotiation = bytearray()
        self._overflow = False
        self._inflater = None
        self._inflated = 0

    # What subclasses implement.

    def accept_local(self, option):
        """
        Whether the client performs C{option} when the game asks (C{DO}).
        """
        return False

    def accept_remote(self, option):
        """
        Whether the game may perform C{option} when it offers (C{WILL}).
        """
        return False

    def option_changed(self, option, local, on):
        """
        C{option} went on or off, at the client's side when C{local}.
        """

    def text_received(self, data):
        """
        Text bytes from the game, IAC escapes undone.
        """

    def command_received(self, command):
        """
        A telnet command other than negotiation (C{GA}, C{EOR}, C{NOP}...).
        """

    def subnegotiation_received(self, option, payload):
        """
        C{IAC SB option payload IAC SE} arrived for an option that is on.
        """

    def stream_broken(self, why):
        """
        The game's stream cannot be read on: its compressed stream is
        corrupt, or decompresses to more than L{MAX_BURST} bytes in one
        read.  What it sends from now on is ignored, and the connection is
        closed once this returns.

        @param why: what went wrong, a phrase for a player ("a corrupt
            compressed stream").
        """
        self.log.warn("The game sent {why}; closing", why=why)

    def close(self):
        """
        Close the connection, once what was written is sent.
        """
        self.transport.loseConnection()

    # Writing.

    def send_text(self, data):
        """
        Send text bytes, IAC doubled.
        """
        self.transport.write(data.replace(IAC, IAC + IAC))

    def send_subnegotiation(self, option, payload):
        """
        Send C{IAC SB option payload IAC SE}, IAC in the payload doubled.
        """
        self.transport.write(IAC + SB + option + payload.replace(IAC, IAC + IAC) + IAC + SE)

    # Reading.

    def dataReceived(self, data):
        self._inflated = 0
        while data and self.broken is None:
            if self._inflater is None:
                data = self._parse(data)
            else:
                data = self._inflate(data)

    def _break(self, why):
        """
        Stop reading the game's stream, say why (L{stream_broken}) and
        close the connection.
        """
        self.broken = why
        self._inflater = None
        self.stream_broken(why)
        self.close()

    def _inflate(self, data):
        """
        Decompress and parse C{data}, in pieces of at most
        L{INFLATE_PIECE} bytes, and at most L{MAX_BURST} bytes in all in
        one read.

        @return: the bytes after the end of compression (plain), or C{b""}.
        """
        inflater = self._inflater
        while True:
            try:
                piece = inflater.decompress(data, INFLATE_PIECE)
            except zlib.error as e:
                self.log.debug("The game's MCCP2 stream is corrupt: {error}", error=e)
                self._break("a corrupt compressed stream")
                return b""
            self._inflated += len(piece)
            if self._inflated > MAX_BURST:
                self._break(f"more than {MAX_BURST // 1048576} MiB in one compressed burst")
                return b""
            self._parse_all(piece)
            if inflater.eof:
                # The game ended compression: the rest is plain.
                self._inflater = None
                return inflater.unused_data
            data = inflater.unconsumed_tail
            if not data and len(piece) < INFLATE_PIECE:
                return b""

    def _parse_all(self, piece):
        """
        Parse decompressed bytes; compression cannot start again inside.
        """
        rest = self._parse(piece)
        if rest:
            self.log.debug("Ignored {count} bytes after a nested MCCP2 start", count=len(rest))

    def _parse(self, data):
        """
        Parse C{data} up to its end or to the start of compression.

        @return: the bytes after the start of compression (compressed), or
            C{b""}.
        """
        text = []
        i, end = 0, len(data)
        while i < end:
            state = self._state
            if state == "data":
                j = data.find(IAC, i)
                stop = end if j < 0 else j
                if stop > i:
                    text.append(data[i:stop])
                if j < 0:
                    break
                i, self._state = j + 1, "escaped"
                continue
            byte = data[i:i + 1]
            i += 1
            if state == "escaped":
                self._state = "data"
                if byte == IAC:
                    text.append(IAC)
                elif byte == SB:
                    self._state = "sb"
                    self._subnegotiation.clear()
                    self._overflow = False
                elif byte in (WILL, WONT, DO, DONT):
                    self._state, self._command = "option", byte
                else:
                    self._flush(text)
                    self.command_received(byte)
            elif state == "option":
                self._state = "data"
                self._flush(text)
                self._negotiate(self._command, byte)
            elif state == "sb":
                if byte == IAC:
                    self._state = "sb-escaped"
                else:
                    self._collect(byte)
            else:  # sb-escaped
                if byte == SE:
                    self._state = "data"
                    self._flush(text)
                    if self._finish_subnegotiation():
                        return data[i:]
                else:
                    # IAC IAC is an escaped 255; after any other byte the
                    # game erred, and the byte is kept as is.
                    self._state = "sb"
                    self._collect(byte)
        self._flush(text)
        return b""

    def _collect(self, byte):
        """
        Add one byte to the subnegotiation being read, unless it is over
        L{MAX_SUBNEGOTIATION} bytes long already (it is then discarded).
        """
        if len(self._subnegotiation) < MAX_SUBNEGOTIATION:
            self._subnegotiation += byte
        else:
            self._overflow = True

    def _flush(self, text):
        if text:
            data = b"".join(text)
            del text[:]
            self.text_received(data)

    def _finish_subnegotiation(self):
        """
        Hand over a finished subnegotiation.

        @return: whether it started compression.
        """
        if self._overflow:
            self.log.warn("Discarded a subnegotiation from the game over {limit} bytes", limit=MAX_SUBNEGOTIATION)
            return False
        payload = bytes(self._subnegotiation)
        option, payload = payload[:1], payload[1:]
        if option == MCCP2 and MCCP2 in self.remote and self._inflater is None:
            self._inflater = zlib.decompressobj()
            return True
        if option in self.local or option in self.remote:
            self.subnegotiation_received(option, payload)
        else:
            self.log.debug("Ignored a subnegotiation for {option!r}, which is off", option=loggable(option))
        return False

    def _negotiate(self, command, option):
        if command == WILL:
            self._requested(self.remote, option, False, self.accept_remote, DO, DONT)
        elif command == DO:
            self._requested(self.local, option, True, self.accept_local, WILL, WONT)
        elif command == WONT:
            self._refused(self.remote, option, False, DONT)
        else:
            self._refused(self.local, option, True, WONT)

    def _requested(self, on, option, local, accept, yes, no):
        if option in on:
            return
        if accept(option):
            on.add(option)
            self.transport.write(IAC + yes + option)
            self.option_changed(option, local, True)
        else:
            self.transport.write(IAC + no + option)

    def _refused(self, on, option, local, no):
        if option not in on:
            return
        on.discard(option)
        self.transport.write(IAC + no + option)
        self.option_changed(option, local, False)
