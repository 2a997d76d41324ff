"""
Splitting a byte stream into bounded lines.
"""

import re

_TERMINATOR = re.compile(b"[\r\n]")

#: Stands in the output of L{LineBuffer.feed} for a line that was too long.
TOO_LONG = None


class LineBuffer:
    """
    Collects bytes into lines ending in CR LF, LF or a lone CR.

    At most C{max_bytes} bytes of one line are held: a longer line is thrown
    away up to its terminator and reported once as L{TOO_LONG}, so a client
    that never sends a line ending costs a bounded amount of memory.
    """

    def __init__(self, max_bytes):
        """
        @param max_bytes: the longest line, in bytes, or a callable giving
            it, asked at each L{feed} (so a reloaded configuration applies
            to open connections at once).
        """
        self._limit = max_bytes if callable(max_bytes) else (lambda: max_bytes)
        self._buffer = bytearray()
        self._discarding = False
        self._after_cr = False

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
        @return: the complete lines (L{bytes} without terminators), with
            L{TOO_LONG} in place of each line that went over the limit.
        @rtype: L{list}
        """
        lines = []
        if not data:
            return lines
        max_bytes = self.max_bytes
        start = 1 if self._after_cr and data[:1] == b"\n" else 0
        self._after_cr = False
        while True:
            match = _TERMINATOR.search(data, start)
            end = len(data) if match is None else match.start()
            if not self._discarding:
                self._buffer += data[start:end]
                if len(self._buffer) > max_bytes:
                    self._buffer.clear()
                    self._discarding = True
                    lines.append(TOO_LONG)
            if match is None:
                return lines
            if self._discarding:
                self._discarding = False
            else:
                lines.append(bytes(self._buffer))
                self._buffer.clear()
            start = end + 1
            if data[end:start] == b"\r":
                if start == len(data):
                    self._after_cr = True
                elif data[start:start + 1] == b"\n":
                    start += 1

    @property
    def pending(self):
        """
        How many bytes of an unfinished line are held.
        """
        return len(self._buffer)
