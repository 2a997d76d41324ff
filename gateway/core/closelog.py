"""
The log line for each connection that ends, within a budget for those
that never logged in.
"""

from twisted.logger import Logger

from gateway.core.durations import describe_duration
from gateway.core.throttle import TokenBucket

#: Seconds between the lines counting connections not logged one by one.
SUMMARY_INTERVAL = 10


class CloseLog:
    """
    Logs one line per connection when it ends: who it was, how long it
    stayed and why it ended.

    Connections that close before logging in are logged one by one up to
    C{limits.prelogin_log_rate} a second (with a burst of five seconds'
    worth); beyond that they are only counted, and one line every
    L{SUMMARY_INTERVAL} seconds says how many were not logged.  A flood of
    connections (a scanner, a denial of service, a load balancer's health
    checks) then neither floods the log nor spends the daemon's time
    formatting it, while ordinary traffic is logged in full.  Sessions that
    logged in are always logged.

    The same budget covers the other lines about connections that end
    before logging in, such as the TLS handshake's (see L{prelogin}).
    """

    log = Logger(namespace="gateway.core.game.GameCore")

    def __init__(self, clock, rate):
        """
        @param clock: an L{twisted.internet.interfaces.IReactorTime}.
        @param rate: lines a second for connections that never logged in;
            C{0} for no limit.
        """
        self.clock = clock
        self._unlogged = 0
        self._summary = None
        self.reconfigure(rate)

    def reconfigure(self, rate):
        """
        Use a new C{rate} from now on.
        """
        self.rate = rate
        self._budget = TokenBucket(self.clock, rate, 5 * rate) if rate else None

    def closed(self, session, reason):
        """
        C{session}'s connection ended for C{reason} (a L{Failure}).
        """
        if session.account is None:
            self.prelogin(self._log_closed, session, reason)
        else:
            self._log_closed(session, reason)

    def _log_closed(self, session, reason):
        self.log.info(
            "{session} disconnected after {duration}: {reason}", session=session,
            duration=describe_duration(self.clock.seconds() - session.connected_at), reason=reason.getErrorMessage(),
        )

    def prelogin(self, emit, *args, **kwargs):
        """
        Log one line about a connection that ends before logging in, within
        the budget: call C{emit(*args, **kwargs)} to log it, or only count
        it when the budget is spent.
        """
        if self._budget is not None and self._budget.take():
            self._unlogged += 1
            if self._summary is None:
                self._summary = self.clock.callLater(SUMMARY_INTERVAL, self.flush)
            return
        emit(*args, **kwargs)

    def flush(self):
        """
        Log how many connections were not logged one by one, if any.
        """
        if self._summary is not None and self._summary.active():
            self._summary.cancel()
        self._summary = None
        count, self._unlogged = self._unlogged, 0
        if count:
            self.log.info(
                "{count} more connections closed before logging in; not logged one by one "
                "(over limits.prelogin_log_rate, {rate:g} a second)", count=count, rate=self.rate,
            )
