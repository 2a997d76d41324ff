"""
The hashing threads lower their own priority, and only their own; the
hashing queue is bounded.
"""

import os
import sys
import threading

from twisted.internet.defer import Deferred
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from gateway.auth.hashing import PasswordHasher, lower_priority, thread_runner
from gateway.errors import HashingBusy


def priority():
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class InThread:
    """
    Runs C{f} in a new thread and waits for it: a stand-in for both the
    thread pool (C{callInThreadWithCallback}) and the reactor
    (C{callFromThread}).
    """


    def callInThreadWithCallback(self, onResult, f, *args):
        def work():
            try:
                onResult(True, f(*args))
            except BaseException as e:
                onResult(False, e)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(30)

    def callFromThread(self, f, *args):
        f(*args)


class PriorityTests(SynchronousTestCase):
    def setUp(self):
        if not sys.platform.startswith("linux"):
            raise SkipTest("niceness is per thread only on Linux")

    def test_each_pool_thread_lowers_its_priority(self):
        pool = InThread()
        run = thread_runner(pool, pool, nice=5)
        before = priority()
        result = run(lambda a, b: (a + b, priority()), 2, 3)
        total, seen = self.successResultOf(result)
        self.assertEqual(total, 5)
        self.assertEqual(seen, min(19, before + 5))
        self.assertEqual(priority(), before)

    def test_zero_leaves_priority_alone(self):
        pool = InThread()
        before = priority()
        self.assertEqual(self.successResultOf(thread_runner(pool, pool)(priority)), before)

    def test_capped_at_19(self):
        seen = []

        def work():
            lower_priority(15)
            lower_priority(15)
            seen.append(priority())

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(30)
        self.assertEqual(seen, [19])

    def test_forbidden_by_a_sandbox(self):
        """
        Where the system call is refused (a seccomp filter), hashing runs at
        normal priority and a warning is logged.
        """

        def refused(*args):
            raise PermissionError(1, "Operation not permitted")

        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.patch(os, "setpriority", refused)
        pool = InThread()
        self.assertEqual(self.successResultOf(thread_runner(pool, pool, nice=5)(lambda: "hashed")), "hashed")
        self.assertEqual(
            [formatEvent(e) for e in events if e.get("log_namespace") == "gateway.auth.hashing"],
            ["Could not lower a hashing thread's priority: Operation not permitted"],
        )

    def test_failure_reaches_the_deferred(self):
        pool = InThread()

        def broken():
            raise ValueError("no")

        self.failureResultOf(thread_runner(pool, pool, nice=1)(broken), ValueError)


class QueueTests(SynchronousTestCase):
    """
    At most C{limit} hashing jobs run or wait at once; more fail at once
    with L{HashingBusy}, without being started.
    """

    def setUp(self):
        self.started = []
        self.hasher = PasswordHasher(self.job, limit=2)

    def job(self, f, *args):
        d = Deferred()
        self.started.append(d)
        return d

    def test_over_the_limit_fails_without_hashing(self):
        self.hasher.hash("one")
        self.hasher.verify("encoded", "two")
        self.failureResultOf(self.hasher.hash("three"), HashingBusy)
        self.failureResultOf(self.hasher.verify("encoded", "four"), HashingBusy)
        self.assertEqual(len(self.started), 2)

    def test_finished_jobs_make_room(self):
        first = self.hasher.hash("one")
        second = self.hasher.hash("two")
        self.started[0].callback("hash")
        self.assertEqual(self.successResultOf(first), "hash")
        self.hasher.hash("three")
        self.assertEqual(len(self.started), 3)
        self.failureResultOf(self.hasher.hash("four"), HashingBusy)
        self.started[1].errback(ValueError("failed"))
        self.failureResultOf(second, ValueError)
        self.hasher.hash("five")
        self.assertEqual(len(self.started), 4)
        self.failureResultOf(self.hasher.hash("six"), HashingBusy)

    def test_limit_changes_while_running(self):
        self.hasher.hash("one")
        self.hasher.limit = 1
        self.failureResultOf(self.hasher.hash("two"), HashingBusy)
        self.hasher.limit = None
        self.hasher.hash("three")
        self.assertEqual(len(self.started), 2)
