"""
Sessions that outlive their connections: a player whose connection drops
without C{quit} stays in the world for C{sessions.linger} seconds, what is
said to them meanwhile is kept, and logging in again to the account (over
any protocol) resumes the session and replays what they missed.
"""

import secrets

from twisted.logger import Logger

from gateway.core.throttle import describe_wait
from gateway.interfaces import IResumableTransport
from gateway.metrics import LINGERING

#: The structured message framing a replay (see L{Lingering.resume}):
#: C{{"state": "start", "lines": N}} before the replayed lines and
#: C{{"state": "end"}} after them, so a client can show them apart.
REPLAY_PACKAGE = "Char.Session.Replay"


class ReplayBuffer:
    """
    The most recent lines sent to a lingering session, bounded in lines
    and in bytes of (UTF-8) text: when full, the oldest lines go first and
    are counted.

    @ivar dropped: how many lines were not kept.
    @ivar received: how many lines were sent to the session in all.
    """

    def __init__(self, max_lines, max_bytes):
        """
        @param max_lines: the most lines kept (at least 1).
        @param max_bytes: the most bytes of text kept; a single line
            longer than that is cut to it.
        """
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._lines = []
        self._size = 0
        self.dropped = 0
        self.received = 0

    def add(self, text):
        """
        Keep the lines of C{text}, dropping the oldest kept lines to stay
        within the bounds.

        @param text: one or more lines, separated by C{"\\n"}.
        @type text: L{str}
        """
        for line in text.split("\n"):
            size = len(line.encode("utf-8"))
            if size > self.max_bytes:
                line = line.encode("utf-8")[: self.max_bytes].decode("utf-8", "ignore")
                size = len(line.encode("utf-8"))
            self.received += 1
            self._lines.append((line, size))
            self._size += size
        excess = 0
        while len(self._lines) - excess > self.max_lines or self._size > self.max_bytes:
            self._size -= self._lines[excess][1]
            excess += 1
        if excess:
            del self._lines[:excess]
            self.dropped += excess

    @property
    def full(self):
        """
        Whether the buffer holds as much as it keeps: more text would push
        the oldest out.
        """
        return len(self._lines) >= self.max_lines or self._size >= self.max_bytes

    def lines(self):
        """
        The kept lines, oldest first, preceded by a line saying how many
        older ones were not kept when any were dropped.

        @rtype: L{list} of L{str}
        """
        kept = [line for line, _ in self._lines]
        if not self.dropped:
            return kept
        return [f"({self.dropped} older {'line was' if self.dropped == 1 else 'lines were'} not kept.)"] + kept


class Linger:
    """
    The state of one lingering session: since when, its replay buffer and
    the timer that ends it.

    @ivar since: when the connection dropped, in clock seconds.
    @ivar replay: the L{ReplayBuffer}.
    @ivar timer: the L{twisted.internet.interfaces.IDelayedCall} ending
        the linger, or L{None} once it has fired.
    """

    def __init__(self, since, replay, timer):
        self.since = since
        self.replay = replay
        self.timer = timer


class Lingering:
    """
    Keeps the sessions of dropped connections in the world, resumes them
    and ends them, and keeps the resume tokens of sessions whose clients
    take them (L{IResumableTransport}).

    The session stays where it is in the L{gateway.core.world.World} (or,
    relayed to an upstream game, connected to the game), so others still
    see the player; L{gateway.core.session.Session.send} records what it
    is sent in the session's L{ReplayBuffer} while C{session.lingering} is
    set.  Ending and resuming a session is up to the session's own core
    (C{session.core}): its C{leave_world(session)} ends one, its
    C{take_place(old, new)} moves one to a new connection.

    A resume token is 32 random bytes (L{secrets.token_urlsafe}), good once,
    for one account, while the session it was given to is in the world
    (connected or lingering): it is forgotten when the session leaves the
    world or another takes its place, so it expires with the linger.
    Tokens are never logged.
    """

    log = Logger()

    def __init__(self, core):
        """
        @param core: the L{gateway.core.game.GameCore}.
        """
        self.core = core
        self.sessions = set()
        self._accounts = {}
        self._tokens = {}
        self._token_of = {}

    def issue(self, session):
        """
        Give a session that has just logged in a resume token, when its
        transport takes one.  What the session was sent before is
        delivered first, so the client can tell the output of the
        connection before the login from what follows.
        """
        transport = session.transport
        if IResumableTransport.providedBy(transport):
            token = secrets.token_urlsafe(32)
            self._tokens[token] = session
            self._token_of[session] = token
            self.core.outbox.flush(session)
            transport.resume_token(session.account.name, token)

    def forget(self, session):
        """
        The session left the world or another took its place: its token no
        longer resumes anything.
        """
        token = self._token_of.pop(session, None)
        if token is not None:
            del self._tokens[token]

    def redeem(self, name, token):
        """
        Use up a resume token.

        @return: the session it was given to, when C{token} is one of
            account C{name}'s; else L{None} (and the token, if it exists,
            stays good).
        """
        session = self._tokens.get(token)
        if session is None or session.account.name.lower() != name.lower():
            return None
        self.forget(session)
        return session

    def find(self, core, name):
        """
        The lingering session of account C{name} on C{core}, or L{None}.
        """
        return self._accounts.get((core, name.lower()))

    def _forget_session(self, session):
        self.sessions.discard(session)
        del self._accounts[(session.core, session.account.name.lower())]

    def start(self, session):
        """
        The connection of a logged-in session dropped: keep the session in
        the world for C{sessions.linger} seconds.
        """
        settings = self.core.settings.sessions
        clock = self.core.clock
        timer = clock.callLater(settings.linger, self.expire, session)
        session.lingering = Linger(
            clock.seconds(), ReplayBuffer(settings.replay_lines, settings.replay_bytes), timer
        )
        self.sessions.add(session)
        self._accounts[(session.core, session.account.name.lower())] = session
        self.core.metrics.session_state(session, LINGERING)
        self.log.info("{session} lingers for {seconds:g} s", session=session, seconds=settings.linger)

    def expire(self, session):
        """
        Linger ran out: the player leaves the world, as when a session ends.
        """
        session.lingering.timer = None
        self.log.info("{session} stopped lingering", session=session)
        self.end(session)

    def end(self, session):
        """
        End a lingering session now: it leaves the world and the room is
        told.
        """
        linger, session.lingering = session.lingering, None
        self._forget_session(session)
        if linger.timer is not None:
            linger.timer.cancel()
        self.core.metrics.session_state(session, None)
        session.core.leave_world(session)

    def end_all(self):
        """
        End every lingering session (the daemon is stopping).
        """
        for session in list(self.sessions):
            self.end(session)

    def resume(self, old, new):
        """
        A new connection logged in to the account of lingering session
        C{old}: C{new} takes its place in the world, hears how long the
        player was away, and is sent the lines it missed.
        """
        linger, old.lingering = old.lingering, None
        self._forget_session(old)
        linger.timer.cancel()
        new.core.take_place(old, new)
        replay = linger.replay
        away = describe_wait(self.core.clock.seconds() - linger.since)
        missed = replay.received
        if not missed:
            new.send(f"Welcome back. You were away {away}; you missed nothing.")
            return
        new.send(f"Welcome back. You were away {away} and missed {missed} {'line' if missed == 1 else 'lines'}:")
        new.send_data(REPLAY_PACKAGE, {"state": "start", "lines": missed})
        new.send("\n".join(replay.lines()))
        new.send_data(REPLAY_PACKAGE, {"state": "end"})
        self.log.info("{session} resumed after {away}", session=new, away=away)
