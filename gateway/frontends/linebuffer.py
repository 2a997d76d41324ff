"""
Splitting a byte stream into bounded lines.
"""

import re

_TERMINATOR = re.compile(b"[\r\n]")
_CR, _LF = ord("\r"), ord("\n")

#: Stands in the output of L{LineBuffer.lines} for a line that was too long.
TOO_LONG = None


class LineBuffer:
    """
    Collects bytes into lines ending in CR LF, LF or a lone CR.

    Received bytes are kept as they came and split into lines only as the
    reader takes them (L{lines}), and not at all while L{paused}: a frontend
    whose session has a full queue leaves the rest of what it read here, as
    bytes, and stops reading the connection, so a paste waits in the
    client's socket instead of being refused.  Apart from that pause, at
    most C{max_bytes} bytes of one line are held: a longer line is thrown
    away up to its terminator and reported once as L{TOO_LONG}, so a client
    that never sends a line ending costs a bounded amount of memory.

    @ivar paused: whether L{lines} stops splitting off lines.
    """

    def __init__(self, max_bytes):
        """
        @param max_bytes: the longest line, in bytes, or a callable giving
            it, asked as lines are split (so a reloaded configuration
            applies to open connections at once).
        """
        self._limit = max_bytes if callable(max_bytes) else (lambda: max_bytes)
        self._buffer = bytearray()
        self._discarding = False
        self._after_cr = False
        self.paused = False

    @property
    def max_bytes(self):
        """
        The longest line now, in bytes.
        """
        return self._limit()

    def feed(self, data):
        """
        Add received bytes.

        @type data: L{bytes}
        @return: the iterator of L{lines}, for a reader that takes the
            lines at once.
        """
        self._buffer += data
        return self.lines()

    def lines(self):
        """
        Split off the complete lines received, one at a time, until none is
        left or L{paused} is set.

        @return: an iterator of lines (L{bytes} without terminators), with
            L{TOO_LONG} in place of each line that went over the limit.
        """
        buffer = self._buffer
        while not self.paused:
            if self._after_cr and buffer:
                self._after_cr = False
                if buffer[0] == _LF:
                    del buffer[:1]
            max_bytes = self.max_bytes
            match = _TERMINATOR.search(buffer)
            if match is None:
                if len(buffer) > max_bytes:
                    buffer.clear()
                    if not self._discarding:
                        self._discarding = True
                        yield TOO_LONG
                return
            end = match.start()
            line = TOO_LONG if self._discarding or end > max_bytes else bytes(buffer[:end])
            cut = end + 1
            if buffer[end] == _CR:
                if cut == len(buffer):
                    self._after_cr = True
                elif buffer[cut] == _LF:
                    cut += 1
            del buffer[:cut]
            if self._discarding:
                self._discarding = False
            else:
                yield line

    @property
    def pending(self):
        """
        How many received bytes are held (an unfinished line, and while
        L{paused} the lines not taken yet).
        """
        return len(self._buffer)
