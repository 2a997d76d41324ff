"""
One connected client, as the core sees it.
"""

import itertools
import uuid

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.core.calls import call_handler
from gateway.core.markup import escape
from gateway.core.throttle import TokenBucket
from gateway.errors import CommandError, InvalidName, SessionClosed
from gateway.interfaces import IInputFlow, ISession, IStructuredTransport
from gateway.logtext import Logger

_ids = itertools.count(1)

MAX_CAPABILITY_LOGS = 16
"""
How many capability changes of one connection are logged (debug).
"""


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

    Commands run at most C{limits.commands_per_second} per second after a
    burst of C{limits.command_burst}: faster input waits in the queue, so a
    paste cannot monopolise the server.  When the queue is full, input is
    paused (if the transport provides L{IInputFlow}) until the queue is half
    drained: no line is lost, and what the frontend had already read still
    joins the queue.  A transport that cannot pause has the lines beyond
    the queue refused, with one message per episode.  A transport whose
    C{send} raises ends only its own session.

    A session whose connection dropped may stay in the world for a while
    (see L{gateway.core.linger}): while C{lingering} is set, what it is
    sent goes to its replay buffer.  A session may also have other
    connections C{attached} to it (C{sessions.per_account = "attach"}):
    they see all its output and prompts, and their commands act as it.

    @ivar account: the L{gateway.interfaces.IAccount} once logged in.
    @ivar room: the id of the room the session is in, once logged in.
    @ivar lingering: the L{gateway.core.linger.Linger} while the session
        outlives its connection, else L{None}.
    @ivar primary: for a connection attached to another session, that
        session; else L{None}.
    @ivar attached: the sessions attached to this one.
    @ivar ended: whether the server chose to end the session (L{close}):
        such a session does not linger.
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
        # A list, not a deque: an empty deque takes 600 bytes, and at most
        # limits.max_pending_lines wait here.
        self._pending = []
        self._waiter = None
        self._busy = False
        self._pumping = False
        limits = core.settings.limits
        self._commands = TokenBucket(core.clock, limits.commands_per_second, limits.command_burst)
        self._rate_timer = None
        self._sleeping = {}
        self._input_paused = False
        self._refused = 0
        self._input_stopped = False
        self._capability_logs = 0
        self.closed = False
        self.ended = False
        self.lingering = None
        self.primary = None
        self.attached = []

    @property
    def capabilities(self):
        return self.transport.capabilities

    def __repr__(self):
        who = self.account.name if self.account else "(logging in)"
        return f"<Session {self.id} {who} {self.capabilities.protocol} {self.capabilities.peer}>"

    # Output

    def send(self, text):
        """
        Send lines of text to the client (nothing once closed), through the
        core's L{gateway.core.outbox.Outbox}; while the session lingers,
        into its replay buffer.
        """
        if self.lingering is not None:
            self.lingering.replay.add(text)
        elif not self.closed:
            self.core.outbox.send(self, text)

    def deliver(self, text):
        """
        Hand text to the frontend now (the L{gateway.core.outbox.Outbox}
        calls this; use L{send}).
        """
        if not self.closed:
            try:
                self.transport.send(text)
            except Exception:
                self._transport_failed()
        for other in self.attached:
            other.deliver(text)

    def _transport_failed(self):
        """
        The frontend raised while sending: log it and end this session only,
        so a broadcast carries on to everyone else.
        """
        failure = Failure()
        ref = uuid.uuid4().hex[:8]
        self.log.failure("Transport failed for {session} (ref {ref})", failure, session=self, ref=ref)
        try:
            self.transport.close(f"Sorry, your connection failed on our side (reference {ref}).")
        except Exception:
            self.log.failure("Closing {session} failed too (ref {ref})", session=self, ref=ref)
        self.connection_lost(failure)

    def send_data(self, package, data):
        """
        Send a structured message (see L{IStructuredTransport}) when the
        client takes them; otherwise do nothing, as the text said it all.
        """
        if not self.closed and self.capabilities.structured and IStructuredTransport.providedBy(self.transport):
            self.core.outbox.flush(self)
            self.transport.send_data(package, data)
        for other in self.attached:
            other.send_data(package, data)

    def close(self, reason=None):
        """
        End the session: C{reason} is shown as a last line, then the frontend
        closes the connection and calls L{connection_lost}.  The
        connections attached to it are closed too; a lingering session
        leaves the world at once.
        """
        if self.lingering is not None:
            self.core.lingering.end(self)
            return
        attached, self.attached = self.attached, []
        for other in attached:
            other.primary = None
            other.close(reason)
        if not self.closed:
            self.ended = True
            self.stop_input()
            self.core.outbox.flush(self)
            self.transport.close(reason)

    def stop_input(self):
        """
        Dispatch no more input: the connection is being closed (a TLS
        close, for one, takes a while).  Lines queued or arriving from now
        on are dropped silently.
        """
        self._input_stopped = True
        self._pending.clear()

    # Input

    def line_received(self, text):
        if self.closed or self._input_stopped:
            return
        self.last_input_at = self.core.clock.seconds()
        if self.primary is not None:
            # Typing on any connection keeps the session from idling out.
            self.primary.last_input_at = self.last_input_at
        asking = self.primary if self.primary is not None and self.primary._waiter is not None else self
        if asking._waiter is not None:
            waiter, asking._waiter = asking._waiter, None
            waiter.callback(text)
            return
        limit = self.core.settings.limits.max_pending_lines
        if len(self._pending) >= limit and not self._input_paused:
            self._refuse(text)
            return
        self._pending.append(text)
        if len(self._pending) >= limit:
            self._pause_input()
        self._pump()

    def input_ended(self):
        """
        See L{gateway.interfaces.ISession.input_ended}: C{quit}, after the
        lines before it.
        """
        self.line_received("quit")

    def _refuse(self, text):
        self._refused += 1
        self.core.metrics.line_refused()
        if self._refused == 1:
            self.send(
                f"Too many commands are waiting; input is ignored until they have run (ignored: {escape(text[:40])})"
            )

    def _pause_input(self):
        flow = IInputFlow(self.transport, None)
        if flow is not None and not self._input_paused:
            self._input_paused = True
            self.core.metrics.input_paused()
            flow.pause_input()

    def _resume_input(self):
        if self._refused > 1:
            self.send(f"{self._refused} lines in all were ignored while commands were waiting.")
        self._refused = 0
        if self._input_paused:
            self._input_paused = False
            IInputFlow(self.transport).resume_input()

    def ask(self, prompt, echo=True):
        """
        Show C{prompt} and wait for the next line of input.

        @param echo: C{False} to hide what the player types (passwords).
        @return: a L{Deferred} firing with the line, or failing with
            L{SessionClosed} if the connection ends first.
        """
        self.core.outbox.flush(self)
        connections = self.connections()
        for session in connections:
            if not echo:
                session.transport.set_echo(False)
            session.transport.send_prompt(prompt)
        if self._pending:
            answer = succeed(self._pending.pop(0))
        else:
            answer = self._waiter = Deferred()
        if not echo:

            def restore(result):
                for session in connections:
                    if not session.closed:
                        session.transport.set_echo(True)
                return result

            answer.addBoth(restore)
        return answer

    @property
    def waiting(self):
        """
        Whether the session's task is waiting for an answer (see L{ask}).
        """
        return self._waiter is not None

    def cancel_question(self):
        """
        Withdraw the question the session's task is waiting on (see
        L{ask}, L{waiting}): the task fails with L{SessionClosed}, ending
        quietly.
        """
        waiter, self._waiter = self._waiter, None
        waiter.errback(SessionClosed())

    def resume_with_token(self, name, token):
        return self.core.resume_with_token(self, name, token)

    def connections(self):
        """
        This session, when connected, and the sessions attached to it.
        """
        return ([] if self.closed else [self]) + self.attached

    def sleep(self, seconds):
        """
        Wait on the core's clock without holding up anything else.

        @return: a L{Deferred} firing with L{None} after C{seconds}, or
            failing with L{SessionClosed} as soon as the connection ends.
        """
        d = Deferred()
        self._sleeping[d] = self.core.clock.callLater(seconds, self._woken, d)
        return d

    def _woken(self, d):
        del self._sleeping[d]
        d.callback(None)

    def run(self, handler, *args):
        """
        Run C{handler(self, *args)} as this session's current task: input
        waits for it (or feeds its L{ask}s) until it finishes.  A session
        attached to another runs C{handler} with that one, so its commands
        act as the account's session in the world.

        @return: a L{Deferred} firing with C{True} when the handler
            succeeded, C{False} when it failed (the player has been told).
        """
        self._busy = True
        d = call_handler(handler, self.primary or self, *args)
        d.addCallbacks(lambda _: True, self._report_failure)
        d.addBoth(self._finished)
        return d

    def _pump(self):
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._pending and not self._busy and not self.closed and self._rate_timer is None:
                wait = self._commands.take()
                if wait:
                    self._rate_timer = self.core.clock.callLater(wait, self._rate_ready)
                    break
                self.core.metrics.timed_command(self.run, self.core.dispatcher.dispatch, self._pending.pop(0))
        finally:
            self._pumping = False
        if (self._refused or self._input_paused) and not self.closed:
            if len(self._pending) <= self.core.settings.limits.max_pending_lines // 2:
                self._resume_input()

    def _rate_ready(self):
        self._rate_timer = None
        self._pump()

    def _finished(self, succeeded):
        self._busy = False
        self._pump()
        return succeeded

    def _report_failure(self, failure):
        if failure.check(SessionClosed):
            # Nothing to report: the connection ended under the handler.
            # The traceback holds the handler's frames in reference cycles;
            # without it they are freed at once, not by the collector's
            # slow full collections (docs/benchmarks.md, "Why it costs
            # what it costs").
            failure.cleanFailure()
            return False
        if failure.check(CommandError, InvalidName):
            self.send(failure.getErrorMessage())
            return False
        ref = uuid.uuid4().hex[:8]
        self.log.failure("Handler failed for {session} (ref {ref})", failure, session=self, ref=ref)
        self.send(f"Sorry, that went wrong on our side (reference {ref}). It has been logged; please try again.")
        return False

    # Lifecycle

    def reconfigure(self, limits):
        """
        Run commands at the rate of new C{limits} from now on (the
        allowance starts full).

        @param limits: the L{gateway.config.LimitSettings}.
        """
        self._commands = TokenBucket(self.core.clock, limits.commands_per_second, limits.command_burst)

    def capabilities_changed(self):
        """
        The frontend learned more about the client; output already follows
        the new capabilities, so this only records the change in the log:
        the first L{MAX_CAPABILITY_LOGS} changes of the connection (the
        negotiation), not every one of a client resizing its window many
        times a second.
        """
        if self._capability_logs < MAX_CAPABILITY_LOGS:
            self._capability_logs += 1
            self.log.debug("{session} capabilities: {caps}", session=self, caps=self.capabilities)

    def connection_lost(self, reason):
        if self.closed:
            return
        self.closed = True
        self._pending.clear()
        if self._rate_timer is not None:
            self._rate_timer.cancel()
            self._rate_timer = None
        sleeping, self._sleeping = self._sleeping, {}
        for d, call in sleeping.items():
            call.cancel()
            d.errback(SessionClosed())
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.errback(SessionClosed())
        self.core.disconnected(self, reason)
