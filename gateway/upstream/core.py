"""
The upstream core: what a listener with C{upstream = "NAME"} gives its
frontends instead of the built-in world.  Each session gets its own telnet
client connection to the game (L{gateway.upstream.relay.UpstreamRelay});
the player's lines go to the game, the game's text comes back.
"""

import dataclasses
import ipaddress

from twisted.internet import endpoints, ssl
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import succeed
from twisted.internet.protocol import Factory
from zope.interface import implementer

from gateway.core.capabilities import host_from_peer
from gateway.core.session import Session
from gateway.core.status import CoreStatus
from gateway.errors import StartupError
from gateway.interfaces import IGatewayCore, IMSDPInput, IMSDPRelay, IStructuredInput
from gateway.logtext import Logger
from gateway.metrics import CONNECTED, CONNECTING, PLAYING
from gateway.upstream.proxy import proxy_header
from gateway.upstream.relay import UpstreamRelay

#: The PROXY protocol version of each C{client_address} mode that sends one.
PROXY_VERSIONS = {"proxy-v1": 1, "proxy-v2": 2}

#: Queued after a session's last input line when its input ends (see
#: L{UpstreamSession.input_ended}).
END_OF_INPUT = object()

#: MSSP fields that L{gateway.core.status.CoreStatus} holds in fields of
#: its own, or that the listener fills in.
_MSSP_OWN = frozenset(["NAME", "PLAYERS", "UPTIME", "PORT", "CODEBASE", "HOSTNAME"])


def _count(text):
    """
    The whole number an MSSP value holds: up to 12 ASCII digits, as a game
    writes a player count or a start time.

    @type text: L{str}
    @return: an L{int}, or L{None} when C{text} is something else.
    """
    if len(text) <= 12 and text.isascii() and text.isdigit():
        return int(text)
    return None


def endpoint_host(description):
    """
    The host a client endpoint description connects to, for messages:
    C{"tcp:mud.example.org:4000"} gives C{"mud.example.org"}.

    @type description: L{str}
    @rtype: L{str}
    """
    _, _, rest = description.partition(":")
    arguments = [a for a in rest.split(":") if a]
    for argument in arguments:
        if argument.startswith("host="):
            return argument[5:]
    positional = [a for a in arguments if "=" not in a]
    return positional[0] if positional else description


def peer_address(peer):
    """
    The address a peer description (L{gateway.core.capabilities.Capabilities.peer})
    names, for a PROXY header.

    @type peer: L{str}
    @return: an L{IPv4Address} or L{IPv6Address} of type C{"TCP"}, or
        L{None} when C{peer} names no IP address and port (a UNIX socket).
    """
    host = host_from_peer(peer)
    port = peer.rpartition(":")[2]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if host == peer or not port.isdigit():
        return None
    return (IPv4Address if ip.version == 4 else IPv6Address)("TCP", host, int(port))


def upstream_endpoint(reactor, upstream, config):
    """
    The client endpoint for C{upstream}: its C{endpoint} description, or,
    with a C{ca_file}, TLS to C{tls:HOST:PORT} with L{client_tls_options}.

    @param upstream: the L{gateway.config.UpstreamSettings}.
    @param config: the L{gateway.config.Config}, to resolve C{ca_file}.
    @raise StartupError: when the CA file cannot be used.
    @rtype: L{twisted.internet.interfaces.IStreamClientEndpoint}
    """
    if not upstream.ca_file:
        return endpoints.clientFromString(reactor, upstream.endpoint)
    host, port, options = client_tls_options(upstream, config)
    return endpoints.wrapClientTLS(options, endpoints.HostnameEndpoint(reactor, host, port))


def client_tls_options(upstream, config):
    """
    TLS towards an upstream with a C{ca_file}: the certificates in that
    file are trusted instead of the system's, and the host name of its
    C{tls:HOST:PORT} endpoint is still verified.

    @return: C{(host, port, options)}, C{options} an
        L{twisted.internet.interfaces.IOpenSSLClientConnectionCreator}.
    @raise StartupError: when the CA file cannot be read or holds no
        certificate, or the endpoint is not written C{tls:HOST:PORT}.
    """
    path = config.resolve(upstream.ca_file)
    where = f"upstreams.{upstream.name}.ca_file"
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise StartupError(f"{where}: cannot read {path}: {e.strerror}")
    blocks = [b"-----BEGIN CERTIFICATE-----" + block for block in pem.split(b"-----BEGIN CERTIFICATE-----")[1:]]
    try:
        certificates = [ssl.Certificate.loadPEM(block) for block in blocks]
    except Exception as e:
        raise StartupError(f"{where}: {path} holds an unreadable certificate: {e}")
    if not certificates:
        raise StartupError(f"{where}: {path} holds no PEM certificate")
    parts = upstream.endpoint.split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        raise StartupError(f"upstreams.{upstream.name}.endpoint: with a ca_file, write it as 'tls:HOST:PORT'")
    host, port = parts[1], int(parts[2])
    return host, port, ssl.optionsForClientTLS(host, trustRoot=ssl.trustRootFromCertificates(certificates))


@implementer(IStructuredInput, IMSDPInput)
class UpstreamSession(Session):
    """
    A L{Session} relayed to the game; the client's structured messages go
    to the game as GMCP, and MSDP both ways between a telnet client that
    agreed to it and the game.

    @ivar relay: the L{UpstreamRelay} once connecting starts.
    @ivar connecting: the L{Deferred} of the connection being made.
    """

    relay = None
    connecting = None

    def __repr__(self):
        return f"<Session {self.id} relayed {self.capabilities.protocol} {self.capabilities.peer}>"

    def capabilities_changed(self):
        super().capabilities_changed()
        if self.relay is not None:
            self.relay.capabilities_changed()

    def input_ended(self):
        """
        See L{gateway.interfaces.ISession.input_ended}: once the lines
        before have gone to the game, the game reads the end of the
        connection's input (L{UpstreamRelay.input_ended}), as from a
        player's own telnet client.  Still logging in to the gateway, the
        session closes.
        """
        if self._waiter is not None:
            self.close()
        else:
            self.line_received(END_OF_INPUT)

    def data_received(self, package, data):
        if self.relay is not None and not self.closed:
            self.relay.send_data(package, data)

    def msdp_received(self, payload):
        if self.relay is not None and not self.closed:
            self.relay.send_msdp(payload)

    def msdp_changed(self):
        if self.relay is not None and not self.closed:
            self.relay.msdp_changed()

    def send(self, text):
        """
        See L{Session.send}; while the session lingers and its replay
        buffer is full, the game's connection stops being read until the
        player is back.
        """
        super().send(text)
        linger, relay = self.lingering, self.relay
        if linger is not None and linger.replay.full and relay is not None and relay.connected:
            relay.reading.pause("linger")


class _RelayFactory(Factory):
    """
    Builds the one relay a connection attempt is for.
    """

    def __init__(self, relay):
        self.relay = relay

    def buildProtocol(self, address):
        return self.relay


@implementer(IGatewayCore, IMSDPRelay)
class UpstreamCore:
    """
    Relays sessions to one upstream game: an L{IGatewayCore} that shares the
    daemon's login throttle, output batching, limits and shutdown with
    it: its sessions are counted among the game core's
    (L{gateway.core.game.GameCore.track}).

    With C{login = "upstream"} a session is connected to the game at once
    and the game's own login runs.  With C{login = "gateway"} the player
    logs in to a gateway account first (the login dialogue of the built-in
    world, or the frontend's own authentication), then is connected; when
    such a player's connection drops, the connection to the game stays
    open for C{sessions.linger} seconds (see L{gateway.core.linger}), and
    logging in to the account again carries on with it.

    Every line the player types goes to the game, at the session's command
    rate; lines typed while the connection is being made wait for it.

    @ivar game: the L{gateway.core.game.GameCore}.
    @ivar upstream: the L{gateway.config.UpstreamSettings}.
    @ivar endpoint: the client endpoint of the game.
    @ivar login: C{"upstream"} or C{"gateway"}.
    @ivar accounts: whether players log in to gateway accounts (with
        C{login = "gateway"}; see L{IGatewayCore.accounts}).
    @ivar host: the game's host, for messages.
    @ivar mssp: the game's own MSSP status as C{(name, values)} pairs, once
        a relay has received it, else L{None}.
    @ivar relays: the L{UpstreamRelay}s connected or connecting to the
        game, which C{max_connections} caps.
    """

    def __init__(self, game, upstream, endpoint, login="upstream"):
        self.game = game
        self.upstream = upstream
        self.endpoint = endpoint
        self.login = login
        self.accounts = login == "gateway"
        self.host = endpoint_host(upstream.endpoint)
        self.mssp = None
        self.relays = set()
        # Each upstream logs under a namespace of its own.
        self.log = Logger(namespace=f"gateway.upstream.{upstream.name}")
        # Session input is dispatched to self.dispatch.
        self.dispatcher = self

    # What frontends and sessions read, shared with the game core.

    @property
    def clock(self):
        return self.game.clock

    @property
    def limits(self):
        return self.game.limits

    @property
    def guard(self):
        return self.game.guard

    @property
    def metrics(self):
        return self.game.metrics

    @property
    def settings(self):
        return self.game.settings

    @property
    def portal(self):
        return self.game.portal

    @property
    def store(self):
        return self.game.store

    @property
    def outbox(self):
        return self.game.outbox

    @property
    def lingering(self):
        return self.game.lingering

    def file_path(self, configured, default_name):
        """
        See L{IGatewayCore.file_path}.
        """
        return self.game.file_path(configured, default_name)

    def status(self):
        """
        The gateway's status (see L{IGatewayCore.status}), with what the
        game says of itself in MSSP once a relay has received it: its
        name, player count, start time and other fields.

        @rtype: L{CoreStatus}
        """
        status = self.game.status()
        if self.mssp is None:
            return status
        fields = {name.upper(): values for name, values in self.mssp if values}
        changes = {"listing": {
            name: values[0] if len(values) == 1 else values
            for name, values in self.mssp if values and name.upper() not in _MSSP_OWN
        }}
        if "NAME" in fields:
            changes["name"] = fields["NAME"][0]
        players = _count(fields.get("PLAYERS", [""])[0])
        if players is not None:
            changes["players"] = {self.upstream.name: players}
        started = _count(fields.get("UPTIME", [""])[0])
        if started is not None:
            changes["started_at"] = float(started)
        return dataclasses.replace(status, **changes)

    # Sessions.

    def connect(self, transport, account=None):
        """
        A client connected: relay it, at once when the frontend already
        authenticated C{account} or with C{login = "upstream"}, after the
        gateway login with C{login = "gateway"} (see
        L{IGatewayCore.connect}).

        @rtype: L{UpstreamSession}
        """
        # The game lays out its own text (see Capabilities.laid_out).
        transport.capabilities.laid_out = True
        session = self.game.track(UpstreamSession(self, transport))
        if account is not None:
            session.account = account
            session.run(self._relay)
        elif self.login == "gateway":
            session.run(self._log_in)
        else:
            session.run(self._relay)
        return session

    def enter(self, session, account, method=None):
        """
        Relay a session that logged in to C{account} by other means than
        the login dialogue (a resume token): to the account's lingering
        connection to the game, if there is one.
        """
        session.account = account
        self.log.info("{session} logged in as {name} by {method}", session=session, name=account.name, method=method)
        session.run(self._relay)

    def resume_with_token(self, session, name, token):
        """
        See L{gateway.core.game.GameCore.resume_with_token}.
        """
        return self.game.resume_with_token(session, name, token)

    def execute(self, transport, account, line):
        """
        A command without a terminal (SSH C{exec}): a game has no commands
        to run that way, so it is refused with a line saying so.

        @return: C{(session, done)}, C{done} firing with C{False}.
        """
        session = self.game.track(UpstreamSession(self, transport))
        session.send("This server relays to a game, which needs a terminal: connect without a command.")
        return session, succeed(False)

    def dispatch(self, session, line):
        """
        A line the player typed: to the game; or the end of the player's
        input (L{END_OF_INPUT}).
        """
        if session.relay is None:
            return
        if line is END_OF_INPUT:
            session.relay.input_ended()
        else:
            session.relay.send_line(line)

    async def _log_in(self, session):
        timeout = self.settings.login.timeout
        timer = self.clock.callLater(timeout, self._login_expired, session)
        try:
            account, method = await self.game.authenticate(session)
        finally:
            if timer.active():
                timer.cancel()
        if account is not None and not session.closed:
            session.account = account
            self.log.info("{session} logged in as {name}{by}", session=session, name=account.name,
                          by=f" by {method}" if method else "")
            await self._relay(session)

    def _login_expired(self, session):
        self.log.info("{session} did not log in in time", session=session)
        session.close(f"Login timed out after {self.settings.login.timeout:g} seconds. Goodbye.")

    async def _relay(self, session):
        """
        Connect C{session} to the game, or to the connection its account's
        lingering session left; tell the player and close when the game
        cannot be reached in C{connect_timeout} seconds.
        """
        lingering = self.lingering
        previous = lingering.find(self, session.account.name) if session.account is not None else None
        if previous is not None:
            lingering.issue(session)
            lingering.resume(previous, session)
            return
        cap = self.upstream.max_connections
        if cap and len(self.relays) >= cap:
            self.log.warn("{session} turned away: {count} players are connected to the game {name} (max_connections)",
                          session=session, count=len(self.relays), name=self.upstream.name)
            session.close(f"The game at {self.host} is full; try again in a minute.")
            return
        relay = session.relay = UpstreamRelay(self, session)
        self.relays.add(relay)
        name = self.upstream.name
        self.metrics.upstream_state(session, name, CONNECTING)
        connecting = session.connecting = self.endpoint.connect(self.metrics.counting_bytes(_RelayFactory(relay), name))
        connecting.addTimeout(self.upstream.connect_timeout, self.clock)
        try:
            await connecting
        except Exception as e:
            self.relays.discard(relay)
            self.metrics.upstream_state(session, name, None)
            if not session.closed:
                self.metrics.upstream_failed(name)
                self.log.warn(
                    "{session}: the game {name} at {endpoint} cannot be reached: {error}",
                    session=session, name=self.upstream.name, endpoint=self.upstream.endpoint, error=e,
                )
                session.close(self.not_answering())
            return
        finally:
            session.connecting = None
        self.metrics.session_state(session, PLAYING)
        self.metrics.upstream_state(session, name, CONNECTED)
        self.log.info("{session} relayed to the game {name}", session=session, name=self.upstream.name)
        if session.account is not None:
            lingering.issue(session)

    def not_answering(self):
        """
        The line a player gets when the game cannot be reached.
        """
        return f"The game at {self.host} is not answering; try again in a minute."

    def address_header(self, session, transport):
        """
        What to send the game before anything else to tell it the player's
        address: with C{client_address = "proxy-v1"} or C{"proxy-v2"} a
        PROXY header from the player's address to the game's, else
        nothing (C{"mnes"} tells it in NEW-ENVIRON).

        @param transport: the game connection's transport.
        @rtype: L{bytes}
        """
        version = PROXY_VERSIONS.get(self.upstream.client_address)
        if version is None:
            return b""
        return proxy_header(version, peer_address(session.capabilities.peer), transport.getPeer())

    def take_place(self, old, new):
        """
        The lingering session C{old} resumes on a new connection: the
        connection to the game carries on for C{new}, reading again if it
        paused.
        """
        relay, old.relay = old.relay, None
        self.lingering.forget(old)
        new.relay = relay
        relay.session = new
        self.metrics.session_state(old, None)
        self.metrics.session_state(new, PLAYING)
        self.metrics.upstream_state(old, self.upstream.name, None)
        if relay.connected:
            self.metrics.upstream_state(new, self.upstream.name, CONNECTED)
            # The new connection pauses reading again if its player does
            # not read either.
            relay.reading.resume("linger")
            relay.reading.resume("player")
            relay.follow_output()
            relay.capabilities_changed()
            relay.msdp_changed()

    def leave_world(self, session):
        """
        A lingering session ended: so does its connection to the game.
        """
        self.lingering.forget(session)
        relay, session.relay = session.relay, None
        if relay is not None and relay.connected:
            relay.close()
        self.metrics.upstream_state(session, self.upstream.name, None)

    def disconnected(self, session, reason):
        """
        A session's connection is gone: so is its connection to the game,
        unless the session lingers (C{login = "gateway"}, see
        L{gateway.core.linger}).
        """
        if session.connecting is not None:
            session.connecting.cancel()
        relay = session.relay
        lingers = (
            self.login == "gateway" and session.account is not None and relay is not None and relay.connected
            and self.game.may_linger(session) and self.lingering.find(self, session.account.name) is None
        )
        self.game.disconnected(session, reason)
        if lingers:
            self.lingering.start(session)
        else:
            self.leave_world(session)
