"""
One connected client, as the core sees it.
"""

import itertools
import uuid
from collections import deque

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from gateway.core.calls import call_handler
from gateway.core.markup import escape
from gateway.errors import CommandError, InvalidName, SessionClosed
from gateway.interfaces import ISession, IStructuredTransport

_ids = itertools.count(1)


@implementer(ISession)
class Session:
    """
    A client's place in the core: its login state, its input queue and, once
    logged in, its account and room.

    Input lines are handled strictly one at a time in arrival order.  A line
    either answers an outstanding L{ask} or, when nothing is running, is
    dispatched as a command; lines that arrive while a command runs wait in
    a bounded queue.  A failing handler costs the player one line of
    explanation and nothing else.

    @ivar account: the L{gateway.interfaces.IAccount} once logged in.
    @ivar room: the id of the room the session is in, once logged in.
    """

    log = Logger()

    def __init__(self, core, transport):
        """
        @param core: the L{gateway.core.game.GameCore}.
        @param transport: the frontend's L{gateway.interfaces.ISessionTransport}.
        """
        self.id = next(_ids)
        self.core = core
        self.transport = transport
        self.account = None
        self.room = None
        self.connected_at = core.clock.seconds()
        self.last_input_at = self.connected_at
        self._pending = deque()
        self._waiter = None
        self._busy = False
        self._pumping = False
        self.closed = False

    @property
    def capabilities(self):
        return self.transport.capabilities

    def __repr__(self):
        who = self.account.name if self.account else "(logging in)"
        return f"<Session {self.id} {who} {self.capabilities.protocol} {self.capabilities.peer}>"

    # Output

    def send(self, text):
        """
        Send lines of text to the client (nothing once closed).
        """
        if not self.closed:
            self.transport.send(text)

    def send_data(self, package, data):
        """
        Send a structured message (see L{IStructuredTransport}) when the
        client takes them; otherwise do nothing, as the text said it all.
        """
        if not self.closed and self.capabilities.structured and IStructuredTransport.providedBy(self.transport):
            self.transport.send_data(package, data)

    def close(self, reason=None):
        """
        End the session: C{reason} is shown as a last line, then the frontend
        closes the connection and calls L{connection_lost}.
        """
        if not self.closed:
            self.transport.close(reason)

    # Input

    def line_received(self, text):
        if self.closed:
            return
        self.last_input_at = self.core.clock.seconds()
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.callback(text)
            return
        if len(self._pending) >= self.core.settings.limits.max_pending_lines:
            self.send(f"Too many commands are waiting; ignored: {escape(text[:40])}")
            return
        self._pending.append(text)
        self._pump()

    def ask(self, prompt, echo=True):
        """
        Show C{prompt} and wait for the next line of input.

        @param echo: C{False} to hide what the player types (passwords).
        @return: a L{Deferred} firing with the line, or failing with
            L{SessionClosed} if the connection ends first.
        """
        if not echo:
            self.transport.set_echo(False)
        self.transport.send_prompt(prompt)
        if self._pending:
            answer = succeed(self._pending.popleft())
        else:
            answer = self._waiter = Deferred()
        if not echo:

            def restore(result):
                if not self.closed:
                    self.transport.set_echo(True)
                return result

            answer.addBoth(restore)
        return answer

    def run(self, handler, *args):
        """
        Run C{handler(self, *args)} as this session's current task: input
        waits for it (or feeds its L{ask}s) until it finishes.

        @return: a L{Deferred} firing with C{True} when the handler
            succeeded, C{False} when it failed (the player has been told).
        """
        self._busy = True
        d = call_handler(handler, self, *args)
        d.addCallbacks(lambda _: True, self._report_failure)
        d.addBoth(self._finished)
        return d

    def _pump(self):
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._pending and not self._busy and not self.closed:
                self.run(self.core.dispatcher.dispatch, self._pending.popleft())
        finally:
            self._pumping = False

    def _finished(self, succeeded):
        self._busy = False
        self._pump()
        return succeeded

    def _report_failure(self, failure):
        if failure.check(SessionClosed):
            return False
        if failure.check(CommandError, InvalidName):
            self.send(failure.getErrorMessage())
            return False
        ref = uuid.uuid4().hex[:8]
        self.log.failure("Handler failed for {session} (ref {ref})", failure, session=self, ref=ref)
        self.send(f"Sorry, that went wrong on our side (reference {ref}). It has been logged; please try again.")
        return False

    # Lifecycle

    def capabilities_changed(self):
        """
        The frontend learned more about the client; output already follows
        the new capabilities, so this only records the change in the log.
        """
        self.log.debug("{session} capabilities: {caps}", session=self, caps=self.capabilities)

    def connection_lost(self, reason):
        if self.closed:
            return
        self.closed = True
        self._pending.clear()
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.errback(SessionClosed())
        self.core.disconnected(self, reason)
