"""
MCCP2, the MUD Client Compression Protocol: everything the server sends
after the start marker is one zlib stream
(https://tintin.mudhalla.net/protocols/mccp/).
"""

import zlib

from gateway.frontends.telnet.base import OptionHandler
from gateway.frontends.telnet.codes import IAC, MCCP2, SB, SE

#: zlib's level, window bits and memory level for each connection's
#: stream: a 4 KiB window and small hash tables keep a compressing
#: connection to about 40 KiB instead of zlib's default 256 KiB, at little
#: cost in ratio for MUD text.  Any inflater reads such a stream.
ZLIB_PARAMETERS = (6, zlib.DEFLATED, 12, 5)


class CompressingTransport:
    """
    The connection's transport with MCCP2 compression on the way out.  It
    stands between the telnet layer and the real transport, so every byte
    written (text, negotiation, subnegotiation, commands) goes through the
    one zlib stream once compression has started.  Anything else is the
    real transport's.

    @ivar wrapped: the real transport.
    """

    __slots__ = ("wrapped", "_compressor")

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self._compressor = None

    def __getattr__(self, name):
        return getattr(self.wrapped, name)

    @property
    def compressing(self):
        """
        Whether output is compressed.
        """
        return self._compressor is not None

    def write(self, data):
        if self._compressor is not None:
            data = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        self.wrapped.write(data)

    def writeSequence(self, seq):
        self.write(b"".join(seq))

    def start(self):
        """
        Write the start marker, in one piece, and compress everything after
        it.
        """
        if self._compressor is None:
            self.write(IAC + SB + MCCP2 + IAC + SE)
            self._compressor = zlib.compressobj(*ZLIB_PARAMETERS)

    def stop(self):
        """
        End the compressed stream cleanly (C{Z_FINISH}); later output is
        plain.
        """
        if self._compressor is not None:
            compressor, self._compressor = self._compressor, None
            self.wrapped.write(compressor.flush(zlib.Z_FINISH))

    def loseConnection(self):
        self.stop()
        self.wrapped.loseConnection()


class Compression(OptionHandler):
    """
    MCCP2: compress everything the server sends once the client agrees,
    until it disagrees or the connection closes.
    """

    __slots__ = ()

    option = MCCP2

    def enabled(self, local):
        self.frontend.transport.compression.start()

    def disabled(self, local):
        self.frontend.transport.compression.stop()
