"""
The game core every frontend connects to.
"""

from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from gateway.auth.credentials import CertificateFingerprint

from gateway.core.closelog import CloseLog
from gateway.core.countdown import Countdown
from gateway.core.idle import IdleWatch
from gateway.core.linger import Lingering
from gateway.core.login import login_dialogue
from gateway.core.outbox import Outbox
from gateway.core.session import Session
from gateway.core.status import CoreStatus
from gateway.core.throttle import LoginGuard
from gateway.errors import SessionClosed
from gateway.interfaces import IAccount, IGatewayCore
from gateway.logtext import loggable
from gateway.metrics import ATTACHED, COMMAND, LOGGING_IN, PLAYING, Metrics


@implementer(IGatewayCore)
class GameCore:
    """
    The built-in world's L{IGatewayCore}: owns the sessions and brings them
    into the world once logged in.

    @ivar settings: the L{gateway.config.Config}.
    @ivar world: the L{gateway.core.world.World}.
    @ivar store: the L{gateway.store.database.Store}.
    @ivar portal: the L{twisted.cred.portal.Portal}.
    @ivar hasher: the L{gateway.auth.hashing.PasswordHasher}.
    @ivar games: the L{gateway.game.host.GameHost} running the game
        plugins: their commands and hooks.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} for timers.
    @ivar outbox: the L{Outbox} coalescing what a burst of input sends.
    @ivar guard: the L{gateway.core.throttle.LoginGuard} throttling logins
        and account creations.
    @ivar lingering: the L{Lingering} keeping the sessions of dropped
        connections.
    @ivar countdown: the L{gateway.core.countdown.Countdown} of an
        admin's C{shutdown}.
    @ivar metrics: the daemon's L{gateway.metrics.Metrics}, which also
        knows when it started and how many are playing.
    """

    log = Logger()
    #: Players log in to gateway accounts (see L{IGatewayCore.accounts}).
    accounts = True

    def __init__(self, settings, world, store, portal, hasher, games, clock, metrics=None):
        """
        @param metrics: the daemon's L{gateway.metrics.Metrics}; new ones
            when L{None}.
        """
        self.settings = settings
        self.world = world
        self.store = store
        self.portal = portal
        self.hasher = hasher
        hasher.limit = settings.login.max_hashing_queue
        self.clock = clock
        self.guard = LoginGuard(clock, settings.limits)
        self.metrics = Metrics(clock) if metrics is None else metrics
        self.countdown = Countdown(self)
        self.sessions = set()
        self.outbox = Outbox()
        self.close_log = CloseLog(clock, settings.limits.prelogin_log_rate)
        self._login_timers = {}
        self._idle = {}
        self._drained = None
        self._stopping = False
        self.lingering = Lingering(self)
        self.games = games
        games.attach(self)

    @property
    def dispatcher(self):
        """
        The L{gateway.core.dispatcher.Dispatcher} of the game plugins'
        commands in service (a reload replaces it).
        """
        return self.games.dispatcher

    def reconfigure(self, settings):
        """
        Use a reloaded configuration (see L{gateway.live_settings}): sessions
        opened from now on get its limits and login settings, the login
        throttles follow its limits, the hasher its queue bound, and every session runs commands at its
        rate and is watched with its idle timeout.

        @param settings: the new L{gateway.config.Config}.
        """
        old, new = self.settings.limits, settings.limits
        self.settings = settings
        self.guard.reconfigure(new)
        self.hasher.limit = settings.login.max_hashing_queue
        self.close_log.reconfigure(new.prelogin_log_rate)
        if (old.commands_per_second, old.command_burst) != (new.commands_per_second, new.command_burst):
            for session in self.sessions:
                session.reconfigure(new)
        if (old.idle_timeout, old.idle_warning) != (new.idle_timeout, new.idle_warning):
            for watch in self._idle.values():
                watch.stop()
            self._idle = {}
            if new.idle_timeout:
                for session in self.sessions:
                    self._idle[session] = IdleWatch(session, new.idle_timeout, new.idle_warning)

    @property
    def limits(self):
        """
        The live L{gateway.config.LimitSettings}, those of the configuration
        loaded last (see L{IGatewayCore.limits}).
        """
        return self.settings.limits

    def status(self):
        """
        See L{IGatewayCore.status}.

        @rtype: L{CoreStatus}
        """
        server = self.settings.server
        return CoreStatus(
            name=server.name, host_name=server.host_name, started_at=self.metrics.started_at,
            uptime=self.metrics.uptime(), players=self.metrics.players_by_frontend(),
            listing=dict(self.settings.mssp.fields),
        )

    def file_path(self, configured, default_name):
        """
        See L{IGatewayCore.file_path}.
        """
        if configured:
            return self.settings.resolve(configured)
        return self.settings.data_dir / default_name

    def connect(self, transport, account=None):
        """
        A client connected: give it a session (see L{IGatewayCore.connect}).
        An C{account} goes straight into the world; otherwise the session
        logs in by its bound client certificate or with the login dialogue,
        and is closed if that is not finished in time.

        @param transport: the frontend's L{gateway.interfaces.ISessionTransport}.
        @param account: the L{gateway.interfaces.IAccount} the frontend
            authenticated, or L{None}.
        @rtype: L{Session}
        """
        session = self._open(transport)
        if account is not None:
            self.enter(session, account)
            return session
        timeout = self.settings.login.timeout
        self._login_timers[session] = self.clock.callLater(timeout, self._login_expired, session)
        session.run(self._log_in)
        return session

    def execute(self, transport, account, line):
        """
        Run one command for a client the frontend already authenticated,
        without bringing it into the world (an SSH C{exec} request): no
        arrival is announced and a session of the same account already
        online stays connected.  The command acts from the account's saved
        room.

        @param line: the command line.
        @return: C{(session, done)}: the L{Session} (its C{line_received}
            answers the command's questions) and a L{Deferred} firing with
            C{True} when the command succeeded, C{False} when it failed (the
            client has been told).
        """
        session = self._open(transport)
        self.metrics.session_state(session, COMMAND)
        session.account = account
        session.room = self.world.place_for(account.location)
        return session, session.run(self.dispatcher.dispatch, line)

    def _open(self, transport):
        return self.track(Session(self, transport))

    def track(self, session):
        """
        Count C{session} among the daemon's sessions: it is watched for
        idleness, follows reloaded limits, is closed at shutdown, and its
        end is logged when its core calls L{disconnected}.  The upstream
        cores (L{gateway.upstream.core.UpstreamCore}) track the sessions
        they open here.

        @return: C{session}.
        """
        self.sessions.add(session)
        self.metrics.session_state(session, LOGGING_IN)
        limits = self.settings.limits
        if limits.idle_timeout:
            self._idle[session] = IdleWatch(session, limits.idle_timeout, limits.idle_warning)
        # Not logged here: the line at disconnect (CloseLog) says who it was
        # and how long it stayed, one line per connection, like sshd.
        return session

    async def _log_in(self, session):
        account, method = await self.authenticate(session)
        if account is not None and not session.closed and session.account is None:
            self.enter(session, account, method)

    async def authenticate(self, session):
        """
        Log a session in to an account: by the client certificate bound to
        it (C{cert add}), else with the login dialogue.  The upstream cores
        with C{login = "gateway"} use it too.

        @return: C{(account, method)}: the L{IAccount} or L{None} (the
            dialogue gave up), and C{"client certificate"} or L{None} (the
            dialogue), for the log.
        @raise SessionClosed: when the client left meanwhile.
        """
        if session.capabilities.certificate:
            account = await self._certified_account(session)
            if account is not None:
                return account, "client certificate"
        return await login_dialogue(session), None

    async def _certified_account(self, session):
        """
        The account the session's client certificate is bound to.

        @return: the L{IAccount} (the client has been told), or L{None}
            when the certificate is bound to no account.
        @raise SessionClosed: when the client left meanwhile, or the lookup
            failed (logged; the client has been told and is being
            disconnected).
        """
        credentials = CertificateFingerprint(session.capabilities.certificate)
        try:
            _, account, _ = await self.portal.login(credentials, None, IAccount)
        except UnauthorizedLogin:
            account = None
        except Exception:
            self.log.failure("Certificate login failed for {session}", session=session)
            session.close("Sorry, logging in with your certificate went wrong on our side; it has been logged.")
            raise SessionClosed()
        if session.closed:
            raise SessionClosed()
        if account is None:
            return None
        session.send(f"Logged in as {account.name} by your client certificate.")
        return account

    def _login_expired(self, session):
        del self._login_timers[session]
        self.log.info("{session} did not log in in time", session=session)
        session.close(f"Login timed out after {self.settings.login.timeout:g} seconds. Goodbye.")

    def enter(self, session, account, method=None):
        """
        Put a freshly logged-in session into the world.  When the account's
        session lingers (see L{gateway.core.linger}), the new one resumes
        it.  When the account is connected, C{sessions.per_account} says
        what happens: with C{"replace"} the new session takes over the old
        one's place and the old connection is told why it is being closed;
        with C{"attach"} the new connection joins the old session.

        @param method: how the account logged in when not by the login
            dialogue or the frontend (C{"client certificate"}), for the log.
        """
        timer = self._login_timers.pop(session, None)
        if timer is not None:
            timer.cancel()
        session.account = account
        self.metrics.session_state(session, PLAYING)
        previous = self.world.find_online(account.name)
        if previous is not None and previous.lingering is None and self.settings.sessions.per_account == "attach":
            self._attach(previous, session)
            return
        self.lingering.issue(session)
        if previous is not None and previous.lingering is not None:
            self.lingering.resume(previous, session)
        elif previous is not None:
            self.take_place(previous, session)
            previous.close("You have logged in from another connection; this one is being closed.")
            session.send("You were already connected; that connection has been closed and you carry on here.")
        else:
            self.world.enter(session, self.world.place_for(account.location))
            self.world.announce(session.room, f"{account.name} has arrived.", exclude=session)
        if method is None:
            self.log.info("{session} logged in as {name}", session=session, name=account.name)
        else:
            self.log.info("{session} logged in as {name} by {method}", session=session, name=account.name, method=method)
        session.send_data("Char.Login.Result", {"success": True, "name": account.name})
        if "look" in self.dispatcher.commands:
            self.dispatcher.dispatch(session, "look")
        self.games.logged_in(session)

    def resume_with_token(self, session, name, token):
        """
        Resume the session of account C{name} for C{session}, which is
        logging in, with a resume token (see L{Lingering.issue}).  The
        attempt counts for the login throttles as a password would, and
        is refused while they ask the client to wait.

        @return: C{True} when C{session} took over the account's session,
            C{False} when the token was refused.
        """
        if session.account is not None or session.closed or not session.waiting:
            return False
        host = session.capabilities.host
        if self.guard.login_wait(host, name):
            return False
        self.guard.login_attempted(host, name)
        resumed = self.lingering.redeem(name, token)
        if resumed is None:
            self.log.info("Refused a resume token for {name} from {peer}", name=loggable(name), peer=session.capabilities.peer)
            return False
        self.guard.login_succeeded(host, name)
        session.cancel_question()
        session.core.enter(session, resumed.account, "resume token")
        return True

    def _attach(self, primary, session):
        """
        Attach the new connection of C{session} to the account's connected
        session C{primary} (C{sessions.per_account = "attach"}).
        """
        primary.send(f"Another connection ({session.capabilities.protocol}) is now attached to your session.")
        self.outbox.flush(primary)
        session.primary = primary
        primary.attached.append(session)
        self.metrics.session_state(session, ATTACHED)
        self.log.info("{session} attached to {primary}", session=session, primary=primary)
        session.send_data("Char.Login.Result", {"success": True, "name": session.account.name})
        session.send(
            f"You are already connected ({primary.capabilities.protocol}); this connection is attached "
            f"to that session: both see what happens and either may type."
        )

    def take_place(self, old, new):
        """
        Put C{new} where session C{old} is in the world, and C{old} out of
        it, without telling anyone: the player stays where they were.
        """
        room = old.room
        self.world.leave(old)
        self.lingering.forget(old)
        old.room = None
        self.world.enter(new, room)
        self.metrics.session_state(old, None)
        self.metrics.session_state(new, PLAYING)

    def leave_world(self, session):
        """
        Take an ended session out of the world, telling the room it left.
        """
        room = session.room
        online = self.world.find_online(session.account.name) is session
        self.world.leave(session)
        self.lingering.forget(session)
        if online:
            self.world.announce(room, f"{session.account.name} has left.")
            self.games.left(session)

    def may_linger(self, session):
        """
        Whether the session of a dropped connection may linger: lingering
        is on, and neither the server ended the session nor is the daemon
        stopping.
        """
        return self.settings.sessions.linger > 0 and not session.ended and not self._stopping

    def _may_linger(self, session):
        """
        Whether the session of a dropped connection stays in the world.
        """
        return self.may_linger(session) and self.world.find_online(session.account.name) is session

    def disconnected(self, session, reason):
        """
        A session's connection is gone.  An attached connection is
        detached; a session with connections attached carries on in the
        first of them; the session of a connection that dropped lingers
        (see L{gateway.core.linger}); any other leaves the world.
        """
        self.sessions.discard(session)
        self.metrics.session_state(session, None)
        timer = self._login_timers.pop(session, None)
        if timer is not None:
            timer.cancel()
        idle = self._idle.pop(session, None)
        if idle is not None:
            idle.stop()
        if session.primary is not None:
            session.primary.attached.remove(session)
            session.primary = None
        elif session.account is not None and session.room is not None:
            if session.attached:
                successor, *others = session.attached
                session.attached = []
                self.take_place(session, successor)
                successor.primary = None
                successor.attached = others
                for other in others:
                    other.primary = successor
            elif self._may_linger(session):
                self.lingering.start(session)
                if self.settings.sessions.flicker:
                    name = session.account.name
                    self.world.announce(session.room, f"{name}'s connection flickers.", exclude=session)
            else:
                self.leave_world(session)
        self.close_log.closed(session, reason)
        if self._drained is not None and not self.sessions:
            self.close_log.flush()
            drained, self._drained = self._drained, None
            drained.callback(None)

    def shutdown(self, message):
        """
        End every lingering session and close every connected one with
        C{message} as its last line, the way the
        server ends a session (the web client then says it is disconnected
        and offers to reconnect, rather than retrying by itself); the
        caller closes the connections that have no session.

        @return: a L{Deferred} that fires once every session has
            disconnected.
        """
        self._stopping = True
        self.lingering.end_all()
        for session in list(self.sessions):
            session.close(message)
        if not self.sessions:
            return succeed(None)
        if self._drained is None:
            self._drained = Deferred()
        return self._drained
