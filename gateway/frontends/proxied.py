"""
Listeners behind a load balancer or HAProxy: a listener with
C{trusted_proxies} reads the PROXY header (version 1 or 2) that a
connection from one of those addresses starts with, and the client's
address in it becomes the connection's peer address everywhere above:
connection caps and throttles, the session's capabilities, logs.

A connection from a trusted proxy that does not start with a valid header
within L{HEADER_TIMEOUT} seconds is closed; a connection from any other
address that starts with a PROXY header is closed too (a proxy missing from
C{trusted_proxies}, or a client pretending to be one).  Both are logged.
Connections still waiting for their header when the daemon stops are
closed with the others (see
L{gateway.frontends.limits.ConnectionLimiter.waiting}).

L{gateway.service.build_listeners} puts a L{ProxiedFactory} outside the
listener's L{gateway.frontends.limits.LimitingFactory}, so the limits count
the client's address, not the proxy's.  This reads the header itself
rather than using L{twisted.protocols.haproxy}, whose wrapper loses a
header that arrives in two reads.
"""

from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import WrappingFactory

from gateway.core.throttle import Trusted
from gateway.frontends.addresses import describe, host_of
from gateway.upstream.proxy import V1_PREFIX, V2_SIGNATURE, InvalidHeader, read_header

#: Seconds a trusted proxy has to send the whole header.
HEADER_TIMEOUT = 10.0

log = Logger()


class ProxiedTransport:
    """
    A connection's transport as the protocol above a PROXY header sees it:
    its peer is the client the header named; everything else is the
    transport's.
    """

    def __init__(self, transport, peer):
        """
        @param transport: the connection's transport.
        @param peer: the client's address, from the header.
        """
        self._transport = transport
        self._peer = peer

    @property
    def socket_transport(self):
        """
        The connection's transport, which output is written to (see
        L{gateway.frontends.output.output_for}).
        """
        return self._transport

    def getPeer(self):
        return self._peer

    def __getattr__(self, name):
        return getattr(self._transport, name)


class _Forwarding(Protocol):
    """
    Stands between a transport and the protocol built for it: once the
    protocol is connected, what arrives goes straight to it.

    @ivar inner: the protocol built for the connection, once there is one.
    """

    inner = None

    def _refuse(self, why):
        log.info(
            "Listener {name} closed {peer}: {why}",
            name=self.factory.name, peer=describe(self.transport.getPeer()), why=why,
        )
        self.transport.abortConnection()

    def connectionLost(self, reason):
        if self.inner is not None:
            inner, self.inner = self.inner, None
            inner.connectionLost(reason)


class HeaderReader(_Forwarding):
    """
    A connection from a trusted proxy: reads the PROXY header, then builds
    the listener's protocol for the client the header names (or for the
    proxy's own address when the header names none: a health check) and
    hands it the rest.
    """

    def __init__(self, factory):
        self.factory = factory
        self._received = b""
        self._timer = None

    def connectionMade(self):
        self._timer = self.factory.clock.callLater(self.factory.timeout, self._expired)
        self.factory.waiting.add(self)

    def loseConnection(self):
        """
        Close the connection (the daemon is stopping): what arrives from
        now on is ignored.
        """
        self._stop_timer()
        self.transport.loseConnection()

    def abortConnection(self):
        """
        Cut the connection (the daemon's grace for closing is over).
        """
        self._stop_timer()
        self.transport.abortConnection()

    def _expired(self):
        self._timer = None
        self._refuse(f"no complete PROXY header within {self.factory.timeout:g} seconds")

    def dataReceived(self, data):
        if self.inner is not None:
            self.inner.dataReceived(data)
            return
        if self._timer is None:
            return
        self._received += data
        try:
            header = read_header(self._received)
        except InvalidHeader as e:
            self._stop_timer()
            self._refuse(f"{e} (it is in trusted_proxies, so it must send one)")
            return
        if header is not None:
            self._stop_timer()
            self.factory.waiting.discard(self)
            rest, self._received = self._received[header.length :], b""
            self._connect(header.source or self.transport.getPeer(), rest)

    def _connect(self, peer, rest):
        inner = self.factory.wrappedFactory.buildProtocol(peer)
        if inner is None:
            self.transport.loseConnection()
            return
        self.inner = inner
        inner.makeConnection(ProxiedTransport(self.transport, peer))
        if rest and self.inner is not None:
            self.inner.dataReceived(rest)

    def _stop_timer(self):
        """
        Wait for the header no more: it came, or the connection is closing.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def connectionLost(self, reason):
        self._stop_timer()
        self.factory.waiting.discard(self)
        super().connectionLost(reason)


class HeaderRefuser(_Forwarding):
    """
    A connection from an address that is not a trusted proxy: served as
    usual, on its own transport, unless it starts with a PROXY header.
    Bytes that may be the start of one wait until it is clear whether they
    are.
    """

    def __init__(self, factory, inner):
        self.factory = factory
        self.inner = inner
        self._received = b""
        self._checking = True
        self._refused = False

    def makeConnection(self, transport):
        self.transport = transport
        self.inner.makeConnection(transport)

    def dataReceived(self, data):
        if self._refused:
            # Closing: nothing more reaches the listener's protocol.
            return
        if self._checking:
            data = self._received + data
            if _may_start_header(data):
                self._received = data
                return
            self._received = b""
            self._checking = False
            if data.startswith(V1_PREFIX) or data.startswith(V2_SIGNATURE):
                self._refused = True
                self._refuse("it sent a PROXY header but is not in the listener's trusted_proxies")
                return
        if self.inner is not None:
            self.inner.dataReceived(data)


def _may_start_header(data):
    """
    Whether C{data} is too short to tell whether it starts with a PROXY
    header, but could.
    """
    return (len(data) < len(V1_PREFIX) and V1_PREFIX.startswith(data)) or (
        len(data) < len(V2_SIGNATURE) and V2_SIGNATURE.startswith(data)
    )


class ProxiedFactory(WrappingFactory):
    """
    Wraps a listener's factory: connections from C{trusted_proxies} get a
    L{HeaderReader}, the others a L{HeaderRefuser}.

    @ivar timeout: seconds a trusted proxy has to send its header.
    @ivar waiting: the open connections of L{HeaderReader}s not handed to
        the listener's protocol (waiting for a header, or closing): the
        limiter's C{waiting}, when there is a limiter.
    """

    def __init__(self, wrappedFactory, trusted_proxies, clock, name, timeout=HEADER_TIMEOUT, limiter=None):
        """
        @param wrappedFactory: the listener's factory.
        @param trusted_proxies: address or network strings (validated by
            the configuration).
        @param clock: an L{twisted.internet.interfaces.IReactorTime}.
        @param name: the listener's name, for logs.
        @param limiter: the L{gateway.frontends.limits.ConnectionLimiter}
            that closes connections waiting for a header when the daemon
            stops, or L{None}.
        """
        super().__init__(wrappedFactory)
        self.trusted = Trusted(trusted_proxies)
        self.clock = clock
        self.name = name
        self.timeout = timeout
        self.waiting = set() if limiter is None else limiter.waiting

    def buildProtocol(self, addr):
        if host_of(addr) in self.trusted:
            return HeaderReader(self)
        inner = self.wrappedFactory.buildProtocol(addr)
        if inner is None:
            return None
        return HeaderRefuser(self, inner)
