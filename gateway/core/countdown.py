"""
The countdown to a shutdown an admin asked for: warnings to everyone
online at sensible intervals, then the daemon stops the way SIGTERM stops
it.
"""

from twisted.logger import Logger

from gateway.core.durations import describe_left
from gateway.core.markup import escape

#: Seconds left at which everyone online is warned (besides at the start).
WARNINGS = (3600, 1800, 900, 600, 300, 120, 60, 30, 10, 5)


class Countdown:
    """
    At most one shutdown countdown.

    The daemon stops through C{core.clock}, which in the daemon is the
    reactor: C{clock.stop()} stops the services as SIGTERM does (every
    session is told C{shutdown.message} and given C{shutdown.grace}
    seconds).

    @ivar ends_at: when the daemon stops, in clock seconds, or L{None} when
        no countdown runs.
    @ivar message: the admin's reason, repeated in every warning.
    """

    log = Logger()

    def __init__(self, core):
        """
        @param core: the L{gateway.core.game.GameCore}.
        """
        self.core = core
        self.ends_at = None
        self.message = ""
        self._call = None

    def start(self, seconds, message=""):
        """
        Stop the daemon in C{seconds}, warning everyone now and as the time
        runs out; a countdown already running is replaced.
        """
        self._stop_timer()
        self.ends_at = self.core.clock.seconds() + seconds
        self.message = message
        self._warn()

    def cancel(self):
        """
        Cancel the countdown and tell everyone.

        @return: whether a countdown was running.
        """
        if self.ends_at is None:
            return False
        self._stop_timer()
        self.ends_at = None
        self._tell_everyone("The shutdown has been cancelled.")
        return True

    def _stop_timer(self):
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def _warn(self):
        self._call = None
        left = self.ends_at - self.core.clock.seconds()
        if left <= 0:
            self.ends_at = None
            self.log.info("Shutdown countdown over: stopping")
            self.core.clock.stop()
            return
        reason = f" ({escape(self.message)})" if self.message else ""
        self._tell_everyone(f"|RThe server shuts down in {describe_left(left)}{reason}.|n")
        following = max((w for w in WARNINGS if w < left), default=0)
        self._call = self.core.clock.callLater(left - following, self._warn)

    def _tell_everyone(self, text):
        for session in self.core.world.online():
            session.send(text)
