"""
Rate limits on the injected clock: a token bucket for commands, event
counts per key in a sliding interval, growing delays after failures, and
the set of trusted addresses exempt from them.

Every structure here is keyed by text (an address or an account name) and
forgets idle keys, so an attacker using many keys costs bounded memory per
interval.
"""

import functools
import ipaddress
from collections import deque


class TokenBucket:
    """
    C{rate} tokens per second, holding at most C{burst}.
    """

    def __init__(self, clock, rate, burst):
        """
        @param clock: an L{twisted.internet.interfaces.IReactorTime}.
        @type rate: L{float}
        @type burst: L{int}
        """
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._tokens = float(burst)
        self._updated = clock.seconds()

    def take(self):
        """
        Take one token if there is one.

        @return: C{0} when a token was taken, else the seconds until one will
            be available (nothing is taken then).
        @rtype: L{float}
        """
        now = self._clock.seconds()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        # A token short by a rounding error is a token: waiting for it
        # would be a wait too small for the clock to move on.
        if self._tokens >= 1 - 1e-9:
            self._tokens -= 1
            return 0
        return (1 - self._tokens) / self._rate


class _Sweeping:
    """
    A mapping of keys to state that drops expired entries at most once per
    C{interval} seconds.
    """

    def __init__(self, clock, interval):
        self._clock = clock
        self._interval = interval
        self._entries = {}
        self._next_sweep = clock.seconds() + interval

    def _now(self):
        now = self._clock.seconds()
        if now >= self._next_sweep:
            self._next_sweep = now + self._interval
            for key in [k for k, v in self._entries.items() if self._expired(v, now)]:
                del self._entries[key]
        return now

    def __len__(self):
        self._now()
        return len(self._entries)


class WindowCounter(_Sweeping):
    """
    At most C{limit} events per key in any C{interval} seconds.
    """

    def __init__(self, clock, limit, interval):
        super().__init__(clock, interval)
        self._limit = limit

    def _expired(self, times, now):
        return not times or times[-1] <= now - self._interval

    def wait(self, key):
        """
        @return: C{0} when another event for C{key} is allowed now, else the
            seconds until it will be.
        """
        now = self._now()
        times = self._entries.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self._interval:
            times.popleft()
        if len(times) < self._limit:
            return 0
        return times[0] + self._interval - now

    def record(self, key):
        """
        Count one event for C{key} now.
        """
        now = self._now()
        times = self._entries.setdefault(key, deque(maxlen=self._limit))
        times.append(now)


class FailureDelay(_Sweeping):
    """
    After the Nth failure for a key, the next attempt must wait
    C{base * 2 ** (N - 1)} seconds (at most C{maximum}); a key's failures
    are forgotten C{window} seconds after its last one.
    """

    def __init__(self, clock, base, maximum, window):
        super().__init__(clock, window)
        self._base = base
        self._maximum = maximum

    def _expired(self, entry, now):
        return entry[1] <= now - self._interval

    def wait(self, key):
        """
        @return: the seconds C{key} must still wait before its next attempt
            (C{0} when it may go ahead).
        """
        now = self._now()
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            return 0
        failures, last = entry
        delay = min(self._maximum, self._base * 2 ** min(failures - 1, 62))
        return max(0, last + delay - now)

    def failed(self, key):
        """
        Count a failure for C{key} now.
        """
        now = self._now()
        failures, last = self._entries.get(key, (0, now))
        if last <= now - self._interval:
            failures = 0
        self._entries[key] = (failures + 1, now)

    def forget(self, key):
        """
        Clear C{key}'s failures (after a success).
        """
        self._entries.pop(key, None)

    def undo(self, key):
        """
        Take back the last failure counted for C{key} (an attempt counted
        in advance turned out to succeed).
        """
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > 1:
                self._entries[key] = (entry[0] - 1, entry[1])
            else:
                del self._entries[key]


class Trusted:
    """
    The addresses and networks exempt from per-address limits.
    """

    def __init__(self, networks):
        """
        @param networks: address or CIDR strings (already validated).
        """
        self._networks = [ipaddress.ip_network(n) for n in networks]
        # Every connection and login asks; parsing the address is most of
        # the work, and the same few addresses come again and again.
        self._answers = functools.lru_cache(maxsize=4096)(self._check)

    def __contains__(self, host):
        return bool(self._networks) and self._answers(host)

    def _check(self, host):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)


class LoginGuard:
    """
    The core's login throttles: growing delays after failed logins (per
    address and per account) and a cap on account creations per address.
    Trusted addresses are neither counted nor delayed.
    """

    def __init__(self, clock, limits):
        """
        @param limits: the L{gateway.config.LimitSettings}.
        """
        self._clock = clock
        self._limits = None
        self.reconfigure(limits)

    def reconfigure(self, limits):
        """
        Apply new limits.  A throttle whose settings changed starts
        counting afresh; the others keep their counts.

        @param limits: the new L{gateway.config.LimitSettings}.
        """
        old, self._limits = self._limits, limits
        delays = (limits.login_failure_delay, limits.login_failure_max_delay, limits.login_failure_window)
        if old is None or delays != (old.login_failure_delay, old.login_failure_max_delay, old.login_failure_window):
            self._by_address = FailureDelay(self._clock, *delays)
            self._by_account = FailureDelay(self._clock, *delays)
        creations = (limits.max_accounts_per_address, limits.account_creation_interval)
        if old is None or creations != (old.max_accounts_per_address, old.account_creation_interval):
            self._creations = WindowCounter(self._clock, *creations)
        self.trusted = Trusted(limits.trusted_addresses)

    def login_wait(self, host, name):
        """
        @return: the seconds a login attempt from C{host} for account
            C{name} must wait (C{0}: go ahead).
        """
        if host in self.trusted:
            return 0
        return max(self._by_address.wait(host), self._by_account.wait(name.lower()))

    def login_attempted(self, host, name):
        """
        Count a login attempt as failed before its password is checked, so
        that attempts racing each other through the hashing threads are
        delayed too; L{login_succeeded} takes it back.
        """
        if host not in self.trusted:
            self._by_address.failed(host)
            self._by_account.failed(name.lower())

    def login_succeeded(self, host, name):
        if host not in self.trusted:
            self._by_address.undo(host)
        self._by_account.forget(name.lower())

    def creation_wait(self, host):
        """
        @return: the seconds before C{host} may create another account.
        """
        return 0 if host in self.trusted else self._creations.wait(host)

    def created(self, host):
        if host not in self.trusted:
            self._creations.record(host)


def describe_wait(seconds):
    """
    A wait as players read it: C{"1 second"}, C{"40 seconds"}, C{"3 minutes"}.
    """
    seconds = max(1, int(seconds + 0.999))
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"
