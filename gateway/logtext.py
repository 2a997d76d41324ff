"""
Log events: debug events only when asked for, and client-supplied text made
safe for log lines.

Every name, method, terminal type, client name, path or other string a
client chose goes into a log event through L{loggable}, so that it can
neither end the line nor start a forged one, nor drive the terminal of
whoever reads the log.
"""

import twisted.logger
from twisted.logger import LogLevel

MAX_LOGGED = 120
"""
How many characters of one client-supplied string are logged.
"""


def loggable(text, limit=MAX_LOGGED):
    """
    C{text} with every character that is not printable (CR, LF, ESC, BEL,
    the Unicode line separators...) and the backslash written as a Python
    escape (C{\\r}, C{\\x1b}, C{\\u2028}, C{\\\\}), cut to C{limit}
    characters (then ending in C{"..."}).

    @param text: L{str}, or L{bytes} (decoded as UTF-8, undecodable bytes
        becoming U+FFFD).
    @rtype: L{str}
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    cut = len(text) > limit
    escaped = "".join(c if c.isprintable() and c != "\\" else ascii(c)[1:-1] for c in text[:limit])
    return escaped + "..." if cut else escaped


class Logger(twisted.logger.Logger):
    """
    A L{twisted.logger.Logger} that drops debug events unless
    L{show_debug} turned them on (the C{server.debug_log} setting): a
    client must not be able to fill the log with per-negotiation detail.
    """

    debug_enabled = False

    def emit(self, level, format=None, **kwargs):
        if level != LogLevel.debug or Logger.debug_enabled:
            super().emit(level, format, **kwargs)


def show_debug(enabled):
    """
    Emit debug events (from every L{Logger}) from now on when C{enabled}.
    """
    Logger.debug_enabled = enabled
