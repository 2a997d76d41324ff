"""
Closing sessions that stay silent too long, with a warning first.
"""

from gateway.core.throttle import describe_wait


class IdleWatch:
    """
    Watches one session's last input: after C{timeout - warning} silent
    seconds it warns the player, after C{timeout} it closes the session.
    Any input in between starts the count again.  One timer per session,
    re-armed only when it fires.
    """

    def __init__(self, session, timeout, warning):
        """
        @param session: the L{gateway.core.session.Session}.
        @param timeout: seconds of silence before the close (> 0).
        @param warning: seconds before the close to warn (capped to
            C{timeout}).
        """
        self.session = session
        self.timeout = timeout
        self.warning = min(warning, timeout)
        self._clock = session.core.clock
        self._warned_at = None
        self._timer = None
        self._arm(self.timeout - self.warning)

    def _arm(self, delay):
        self._timer = self._clock.callLater(max(0, delay), self._check)

    def _check(self):
        self._timer = None
        session = self.session
        if session.closed:
            return
        silent = self._clock.seconds() - session.last_input_at
        if silent >= self.timeout:
            session.close(f"You have been idle for {describe_wait(silent)}; goodbye.")
        elif silent >= self.timeout - self.warning:
            if self._warned_at != session.last_input_at:
                self._warned_at = session.last_input_at
                session.send(
                    f"You have been idle for a while; you will be disconnected in "
                    f"{describe_wait(self.timeout - silent)} unless you type something."
                )
            self._arm(self.timeout - silent)
        else:
            self._arm(self.timeout - self.warning - silent)

    def stop(self):
        """
        Stop watching (the session ended).
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
