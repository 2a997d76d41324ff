"""
Limits around every listener's protocol factory: connection caps in total
and per address, new connections per address per interval, a cap on the
output a client leaves unread, and crash isolation for protocol callbacks.

L{gateway.service.build_listeners} wraps each listener's factory in a
L{LimitingFactory}, so built-in frontends and plugins get the same limits.
"""

import uuid

from contextlib import nullcontext

from twisted.application.service import Service
from twisted.internet.interfaces import IConsumer, IPushProducer, ITransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import WrappingFactory
from zope.interface import implementer

from gateway.core.throttle import Trusted, WindowCounter, describe_wait
from gateway.frontends.addresses import describe, host_of
from gateway.frontends.output import Flusher, output_for
from gateway.frontends.text import encode_line
from gateway.interfaces import IReaddressable, IRefusingFactory
from gateway.sighup import IReconfigurable
from gateway.metrics import FULL, PER_ADDRESS, RATE, Metrics

SERVER_FULL = "Server full, try again later."
TOO_MANY_FROM_ADDRESS = "Too many connections from your address, try again later."


@implementer(IReconfigurable)
class ConnectionLimiter(Service):
    """
    Counts open connections across every listener and decides whether a
    new one is admitted.  One limiter is shared by all listeners; as a
    service it follows the C{[limits]} of a reloaded configuration.

    @ivar connections: the open L{LimitedProtocol}s.
    @ivar waiting: open connections not handed to a listener's protocol
        yet (from trusted proxies, waiting for their PROXY header; see
        L{gateway.frontends.proxied}): closed and cut with the others.
    @ivar flusher: the L{gateway.frontends.output.Flusher} sending every
        connection's output at the end of the reactor's turn.
    @ivar metrics: the L{gateway.metrics.Metrics} counting connections.
    """

    log = Logger()
    name = "limits"

    def __init__(self, clock, limits, metrics=None):
        """
        @param clock: an L{twisted.internet.interfaces.IReactorTime}.
        @param limits: the L{gateway.config.LimitSettings}.
        @param metrics: the daemon's L{gateway.metrics.Metrics} (the core's);
            a limiter of its own when L{None}.
        """
        self.clock = clock
        self.metrics = Metrics(clock) if metrics is None else metrics
        self.limits = None
        self.connections = set()
        self.waiting = set()
        self.flusher = Flusher(clock)
        self._per_host = {}
        self.reconfigure(limits)

    def reconfigure(self, limits):
        """
        Apply new limits to new connections and to the output and close
        bounds of open ones.  The new-connection rate starts counting
        afresh when its settings changed.  Connections already over a
        lowered cap stay open.

        @param limits: the new L{gateway.config.LimitSettings}.
        """
        old, self.limits = self.limits, limits
        rate = (limits.max_new_connections_per_address, limits.new_connection_interval)
        if old is None or rate != (old.max_new_connections_per_address, old.new_connection_interval):
            self._new = WindowCounter(self.clock, *rate)
        self.trusted = Trusted(limits.trusted_addresses)

    def reconfigService(self, new_config):
        """
        Take the C{[limits]} of C{new_config} (see L{reconfigure}).
        """
        self.reconfigure(new_config.limits)
        return True

    def admit(self, host, trusted=False):
        """
        Decide on a new connection from C{host} and count it when admitted.

        @param trusted: whether C{host} is exempt from the per-address caps
            and throttles, as an address in C{limits.trusted_addresses} is.
        @return: L{None} when admitted, else the message for the client.
        """
        return self._counted(self._refusal(host, trusted))

    def _counted(self, refusal):
        """
        Count a refusal in the metrics.

        @param refusal: C{(reason, message)} as L{_refusal} gives it.
        @return: the message, L{None} when admitted.
        """
        reason, message = refusal
        if reason is not None:
            self.metrics.connection_refused(reason)
        return message

    def _refusal(self, host, trusted):
        """
        @return: C{(reason, message)}: why C{host} is refused (a reason of
            L{gateway.metrics}) and what it is told, or C{(None, None)} when
            it is admitted (and counted).
        """
        if len(self.connections) >= self.limits.max_connections:
            return FULL, SERVER_FULL
        if trusted or host in self.trusted:
            return None, None
        return self._address_refusal(host)

    def _address_refusal(self, host):
        """
        The per-address caps and throttles alone (see L{_refusal}).
        """
        if self._per_host.get(host, 0) >= self.limits.max_connections_per_address:
            return PER_ADDRESS, TOO_MANY_FROM_ADDRESS
        wait = self._new.wait(host)
        if wait:
            return RATE, f"Too many new connections from your address; try again in {describe_wait(wait)}."
        self._new.record(host)
        return None, None

    def readmit(self, protocol, host):
        """
        Count an open connection under C{host} from now on, when the
        per-address caps and throttles admit one more connection from it
        (the connection came through a trusted HTTP proxy, which named
        C{host} as its client).

        @param protocol: the connection's L{LimitedProtocol}, counted under
            its C{host} until now.
        @return: L{None} when admitted (C{protocol.host} is C{host} now),
            else the message for the client.
        """
        if host == protocol.host:
            return None
        if host not in self.trusted:
            message = self._counted(self._address_refusal(host))
            if message is not None:
                return message
        self.closed(protocol)
        protocol.host = host
        self.opened(protocol)
        return None

    def opened(self, protocol):
        self.connections.add(protocol)
        self._per_host[protocol.host] = self._per_host.get(protocol.host, 0) + 1

    def closed(self, protocol):
        if protocol in self.connections:
            self.connections.discard(protocol)
            left = self._per_host[protocol.host] - 1
            if left:
                self._per_host[protocol.host] = left
            else:
                del self._per_host[protocol.host]

    def count(self, host):
        """
        How many connections C{host} has open.
        """
        return self._per_host.get(host, 0)

    def close_all(self):
        """
        Close every open connection once its output is written (the start of
        a graceful shutdown, after the sessions were closed with the
        shutdown message): what is left are connections without a session,
        such as HTTP requests and TLS handshakes.  They are closed under the
        frontend's protocol, as if the network had closed them.
        """
        for protocol in list(self.connections) + list(self.waiting):
            protocol.loseConnection()

    def abort_all(self):
        """
        Cut every open connection at once (the end of a graceful shutdown).

        @return: how many there were.
        """
        remaining = list(self.connections) + list(self.waiting)
        for protocol in remaining:
            protocol.abortConnection()
        return len(remaining)


class _RefusalProtocol(Protocol):
    """
    Writes one line of plain text and closes.
    """

    def __init__(self, message):
        self.message = message

    def connectionMade(self):
        self.transport.write(encode_line(self.message))
        self.transport.loseConnection()


@implementer(ITransport, IConsumer, IPushProducer, IReaddressable)
class LimitedProtocol(Protocol):
    """
    One limited connection, wrapped around the listener's protocol and
    its transport.  It counts toward the caps while open, is cut when the
    client leaves more than C{limits.max_output_bytes} of output unread
    beyond the transport's buffer, and turns an exception from the wrapped
    protocol into one line for the client and a logged traceback.

    It is where every listener's output takes one path, whatever the
    protocol above: what the wrapped protocol makes of one read (and of
    the connection's start) runs inside the listener's C{batch} (the
    core's L{gateway.core.outbox.Outbox}, which hands each session what a
    read sends it as one piece) and leaves as one write, through an output
    of L{gateway.frontends.output}: straight to the socket at the end of
    the reactor's turn where the transport is a plain socket.

    As the transport of the wrapped protocol it declares the interfaces it
    implements itself; the rest of its transport's methods are reached
    through it all the same.

    @ivar host: the client's host, as the caps count it.
    @ivar protocol: the listener's protocol, until the connection is
        lost.  Like the C{protocol} of Twisted's own transports, it may be
        replaced to hand the connection over to another protocol (as
        autobahn's C{WebSocketResource} does when an HTTP request turns
        into a WebSocket).
    """

    log = Logger()
    disconnecting = False

    def __init__(self, factory, protocol, host):
        self.factory = factory
        self.protocol = protocol
        self.host = host
        self._output = None
        self._failed = False
        self._close_timer = None

    def __getattr__(self, name):
        # Whatever else the transport offers (setTcpNoDelay, getHandle,
        # ...), for the protocol above; not its private names.
        if name.startswith("_") or name == "transport":
            raise AttributeError(name)
        return getattr(self.transport, name)

    def logPrefix(self):
        return f"{self.protocol.__class__.__name__} (limited)"

    def makeConnection(self, transport):
        self._start_output(transport)
        with self._output.read_batch():
            self._guard(self._connect, transport)

    def _start_output(self, transport):
        self._output = output_for(self, transport, self.factory.limiter.flusher)
        self._output.start()

    def _connect(self, transport):
        super().makeConnection(transport)
        self.factory.registerProtocol(self)
        with self.factory.batch():
            self.protocol.makeConnection(self)

    def getPeer(self):
        return self.transport.getPeer()

    def readdress(self, host):
        """
        Count this connection under C{host} (see L{IReaddressable}).
        """
        message = self.factory.limiter.readmit(self, host)
        if message is not None:
            self.log.info(
                "Listener {name} refused {host}, relayed by {peer}: {message}",
                name=self.factory.name, host=host, peer=describe(self.getPeer()), message=message,
            )
        return message

    def getHost(self):
        return self.transport.getHost()

    def pauseProducing(self):
        """
        Stop reading from the connection.
        """
        self.transport.pauseProducing()

    def resumeProducing(self):
        """
        Read from the connection again.
        """
        self.transport.resumeProducing()

    def stopProducing(self):
        self.transport.stopProducing()

    def write(self, data):
        if not self._failed:
            self._output.write(data)

    def writeSequence(self, data):
        self.write(b"".join(data))

    def output_unread(self, size):
        """
        The client leaves C{size} bytes unread beyond the transport's
        buffer: cut it when that is over C{limits.max_output_bytes}.
        """
        limit = self.factory.limiter.limits.max_output_bytes
        if size > limit and not self._failed:
            self._failed = True
            self.log.warn("Cut {peer}: it left over {limit} bytes of output unread", peer=describe(self.getPeer()), limit=limit)
            self.factory.limiter.metrics.output_cut()
            self.abortConnection()

    def abortConnection(self):
        self._output.discard()
        self.transport.abortConnection()

    def startTLS(self, *args, **kwargs):
        # What was written before goes out in the clear; what follows is
        # encrypted by the transport, so it goes through the transport.
        inner = self._output.inner
        self._output.close()
        self.transport.startTLS(*args, **kwargs)
        self._start_output(self.transport)
        self._output.set_inner(inner)

    def loseWriteConnection(self):
        self._output.close()
        self.transport.loseWriteConnection()

    def loseConnection(self):
        """
        Close once the output is written, but cut the connection if the
        client has not taken it within C{limits.close_timeout} seconds.  Our
        producer is unregistered first: a transport does not close while a
        paused producer is registered.  Once the connection is lost there is
        nothing left to close (TLS asks again while it tells its protocol
        that the connection is gone).
        """
        if self.disconnecting or not self.connected:
            return
        self.disconnecting = 1
        limiter = self.factory.limiter
        self._close_timer = limiter.clock.callLater(limiter.limits.close_timeout, self._close_expired)
        self._output.close()
        self.transport.loseConnection()

    def _close_expired(self):
        self._close_timer = None
        self.log.info("Cut {peer}: it did not take its last output in time", peer=describe(self.getPeer()))
        self.abortConnection()

    def registerProducer(self, producer, streaming):
        if not streaming:
            raise ValueError("gateway's connection limits only pass on push (streaming) producers")
        self._output.set_inner(producer)

    def unregisterProducer(self):
        self._output.set_inner(None)

    def dataReceived(self, data):
        if not self._failed:
            with self._output.read_batch():
                self._guard(self._read, data)

    def _read(self, data):
        with self.factory.batch():
            self.protocol.dataReceived(data)

    def connectionLost(self, reason):
        self.connected = 0
        self.factory.unregisterProtocol(self)
        self._output.discard()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        try:
            self.protocol.connectionLost(reason)
        except Exception:
            self.log.failure("Protocol failed in connectionLost for {peer}", peer=describe(self.getPeer()))
        self.protocol = None

    def _guard(self, f, *args):
        """
        Call a wrapped protocol's callback; if it raises, log the traceback
        with a reference, tell the client (in plain text, unless the factory
        refuses in its own way) and close this connection only.
        """
        try:
            f(*args)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            self.log.failure("Protocol failed for {peer} (ref {ref})", peer=describe(self.getPeer()), ref=ref)
            if not self._failed:
                self._failed = True
                if not IRefusingFactory.providedBy(self.factory.wrappedFactory):
                    self._output.write(encode_line(f"Sorry, your connection failed on our side (reference {ref})."))
                self.loseConnection()


class LimitingFactory(WrappingFactory):
    """
    Wraps a listener's factory with the shared L{ConnectionLimiter}.

    @ivar limiter: the L{ConnectionLimiter}.
    @ivar proxies: the listener's C{trusted_proxies}, whose own connections
        (a header naming no client or the proxy itself: HAProxy's health
        checks) the per-address caps and throttles leave alone.
    """

    protocol = LimitedProtocol
    log = Logger()

    def __init__(self, wrappedFactory, limiter, name="?", batch=nullcontext, proxies=()):
        """
        @param name: the listener's name, for logs.
        @param batch: returns the context each read and each connection's
            start run in: the core's C{outbox.batch}, so that what they
            send each session is handed to it as one piece.
        @param proxies: address or network strings (validated by the
            configuration).
        """
        super().__init__(wrappedFactory)
        self.limiter = limiter
        self.name = name
        self.batch = batch
        self.proxies = Trusted(proxies)

    def buildProtocol(self, addr):
        host = host_of(addr)
        message = self.limiter.admit(host, host in self.proxies)
        if message is not None:
            self.log.info(
                "Listener {name} refused {peer}: {message}", name=self.name, peer=describe(addr), message=message
            )
            return self._refusal(addr, message)
        try:
            wrapped = self.wrappedFactory.buildProtocol(addr)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            self.log.failure("Listener {name} failed to build a protocol (ref {ref})", name=self.name, ref=ref)
            return self._refusal(addr, f"Sorry, the server failed to accept you (reference {ref}).")
        if wrapped is None:
            return None
        self.limiter.metrics.connection_accepted(self.name)
        return self.protocol(self, wrapped, host)

    def _refusal(self, addr, message):
        if IRefusingFactory.providedBy(self.wrappedFactory):
            return self.wrappedFactory.refuse(addr, message)
        return _RefusalProtocol(message)

    def registerProtocol(self, protocol):
        self.limiter.opened(protocol)

    def unregisterProtocol(self, protocol):
        self.limiter.closed(protocol)
