"""
Password hashing with Argon2id, run on a thread pool so the reactor never
waits for it.
"""

import os
import sys
import threading

import argon2
from argon2.exceptions import InvalidHash, VerificationError, VerifyMismatchError
from twisted.internet.defer import fail
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from gateway.errors import HashingBusy

log = Logger()


class PasswordHasher:
    """
    Hashes and verifies passwords off the reactor thread, with at most
    C{limit} jobs running or waiting at once; over that, a job fails at
    once with L{HashingBusy} and nothing is hashed.

    @ivar limit: the most jobs at once (L{None}: no limit, and C{run} may
        then answer synchronously, as C{gateway-admin}'s does); it may
        change while the hasher runs.
    @ivar _run: C{run(f, *args)} calls C{f(*args)} somewhere else and returns
        a L{Deferred} of its result.
    @ivar _jobs: the jobs running or waiting now.
    """

    def __init__(self, run, hasher=None, limit=None):
        """
        @param run: the callable that runs work off the reactor thread (see
            L{thread_runner}).
        @param hasher: an L{argon2.PasswordHasher}; the library's defaults
            (RFC 9106 low-memory profile) when omitted.
        @param limit: the initial L{limit}.
        """
        self._run = run
        self._hasher = hasher or argon2.PasswordHasher()
        self.limit = limit
        self._jobs = 0

    def hash(self, password):
        """
        @type password: L{str}
        @return: a L{Deferred} firing with the encoded hash (L{str}), or
            failing with L{HashingBusy}.
        """
        return self._queue(self._hasher.hash, password)

    def verify(self, encoded, password):
        """
        @return: a L{Deferred} firing with C{(matches, new_hash)}, where
            C{new_hash} is a fresh hash to store when the old one used weaker
            parameters than today's, else L{None}; or failing with
            L{HashingBusy}.
        """
        return self._queue(self._verify, encoded, password)

    def _queue(self, f, *args):
        if self.limit is None:
            return self._run(f, *args)
        if self._jobs >= self.limit:
            return fail(HashingBusy("too many password checks are waiting"))
        self._jobs += 1

        def done(result):
            self._jobs -= 1
            return result

        return self._run(f, *args).addBoth(done)

    def _verify(self, encoded, password):
        try:
            self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHash):
            return False, None
        if self._hasher.check_needs_rehash(encoded):
            return True, self._hasher.hash(password)
        return True, None


def thread_runner(reactor, pool, nice=0):
    """
    A C{run} callable for L{PasswordHasher} that uses C{pool}.

    @type pool: L{twisted.python.threadpool.ThreadPool}
    @param nice: niceness each of the pool's threads adds to itself before
        its first job (see L{lower_priority}), so that a storm of logins
        takes CPU from other logins rather than from the reactor thread.
    """
    lowered = threading.local()

    def call(f, *args):
        if not getattr(lowered, "done", False):
            lowered.done = True
            lower_priority(nice)
        return f(*args)

    def run(f, *args):
        return deferToThreadPool(reactor, pool, call, f, *args)

    return run


def lower_priority(nice):
    """
    Add C{nice} to the calling thread's niceness (capped at 19).  Only on
    Linux, where niceness belongs to a thread (and the threads it starts,
    such as Argon2's lanes); elsewhere it would slow the whole process, so
    nothing is done.
    """
    if nice and sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        try:
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, current + nice))
        except OSError as e:
            # A sandbox may forbid it (a seccomp filter without
            # setpriority); hashing then runs at normal priority.
            log.warn("Could not lower a hashing thread's priority: {error}", error=e.strerror or e)
