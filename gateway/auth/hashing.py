"""
Password hashing with Argon2id, run on a thread pool so the reactor never
waits for it.
"""

import argon2
from argon2.exceptions import InvalidHash, VerificationError, VerifyMismatchError
from twisted.internet.threads import deferToThreadPool


class PasswordHasher:
    """
    Hashes and verifies passwords off the reactor thread.

    @ivar _run: C{run(f, *args)} calls C{f(*args)} somewhere else and returns
        a L{Deferred} of its result.
    """

    def __init__(self, run, hasher=None):
        """
        @param run: the callable that runs work off the reactor thread (see
            L{thread_runner}).
        @param hasher: an L{argon2.PasswordHasher}; the library's defaults
            (RFC 9106 low-memory profile) when omitted.
        """
        self._run = run
        self._hasher = hasher or argon2.PasswordHasher()

    def hash(self, password):
        """
        @type password: L{str}
        @return: a L{Deferred} firing with the encoded hash (L{str}).
        """
        return self._run(self._hasher.hash, password)

    def verify(self, encoded, password):
        """
        @return: a L{Deferred} firing with C{(matches, new_hash)}, where
            C{new_hash} is a fresh hash to store when the old one used weaker
            parameters than today's, else L{None}.
        """
        return self._run(self._verify, encoded, password)

    def _verify(self, encoded, password):
        try:
            self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHash):
            return False, None
        if self._hasher.check_needs_rehash(encoded):
            return True, self._hasher.hash(password)
        return True, None


def thread_runner(reactor, pool):
    """
    A C{run} callable for L{PasswordHasher} that uses C{pool}.

    @type pool: L{twisted.python.threadpool.ThreadPool}
    """

    def run(f, *args):
        return deferToThreadPool(reactor, pool, f, *args)

    return run
