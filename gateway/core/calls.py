"""
Calling handlers that may be plain functions, return Deferreds, or be
coroutine functions.
"""

from inspect import isawaitable

from twisted.internet.defer import Deferred, ensureDeferred, fail, succeed


def call_handler(f, *args):
    """
    Call C{f(*args)} and always return a L{Deferred}: of its result, of the
    awaited coroutine's result, or of the exception it raised.
    """
    try:
        result = f(*args)
    except BaseException:
        return fail()
    if isinstance(result, Deferred):
        return result
    if isawaitable(result):
        return ensureDeferred(result)
    return succeed(result)
