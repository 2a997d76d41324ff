"""
Holding a telnet connection's writes while one event is handled.
"""

from contextlib import contextmanager


class BatchingTransport:
    """
    The connection's transport, holding what is written while a batch is
    open and writing it in one piece when the batch closes.

    The telnet layer opens a batch around its start and around each read,
    so the option offers, banner and prompt of a new connection, or a
    command's output, prompt and go-ahead, reach the transport as one
    write: under TLS one record instead of one per piece.  It stands under
    the MCCP2 compression, so what it holds is already in the order the
    stream needs.  Anything but writing is the real transport's.

    @ivar wrapped: the real transport.
    """

    __slots__ = ("wrapped", "_held")

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self._held = None

    def __getattr__(self, name):
        return getattr(self.wrapped, name)

    @contextmanager
    def batch(self):
        """
        Hold writes until the outermost batch closes.
        """
        if self._held is not None:
            yield
            return
        self._held = []
        try:
            yield
        finally:
            self._release()

    def _release(self):
        held, self._held = self._held, None
        if held:
            self.wrapped.write(held[0] if len(held) == 1 else b"".join(held))

    def write(self, data):
        if self._held is None:
            self.wrapped.write(data)
        else:
            self._held.append(data)

    def writeSequence(self, seq):
        self.write(b"".join(seq))

    def loseConnection(self):
        if self._held is not None:
            self._release()
            self._held = []
        self.wrapped.loseConnection()
