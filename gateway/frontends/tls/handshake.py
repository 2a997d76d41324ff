"""
The handshake gate: sits between L{TLSMemoryBIOProtocol} and a frontend's
protocol, and connects the frontend only once the handshake is done and
the client certificate (if any) passes the listener's rules.

The frontend is then connected to the TLS protocol itself
(L{gateway.frontends.tls.wrapping.TLSProtocol}, an L{ISSLTransport}), whose
C{getPeerCertificate()} gives it the client's certificate.
"""

from twisted.internet.defer import maybeDeferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import WrappingFactory
from zope.interface import implementer

from gateway.auth.fingerprints import certificate_fingerprint, normalize_fingerprint
from gateway.frontends.addresses import describe
from gateway.frontends.text import encode_line
from gateway.frontends.tls.keypair import not_after, not_yet_valid, openssl_reason
from gateway.interfaces import IRefusingFactory
from gateway.metrics import Metrics

#: Bytes a client may send while its certificate is being looked up.
MAX_EARLY_BYTES = 65536


class AnsweredInClear(ConnectionDone):
    """
    The connection ended after a client that spoke in clear, not TLS, was
    answered in clear (see L{gateway.interfaces.IClearTextAnswer}).
    """


class HandshakeLimits:
    """
    The bounds every TLS listener's handshakes share.

    At the cap, the oldest unfinished handshake gives way to the new
    connection rather than the new one being refused: connections that
    never finish their handshake can then hold the slots only until
    newer ones arrive, and a real client, whose handshake takes a few
    round trips, is locked out only by a flood that opens
    C{max_handshakes} connections during those round trips.  Refusing the
    newest instead would let a handful of stalled connections per
    C{timeout} seconds refuse everyone.
    """

    def __init__(self, clock, timeout, max_handshakes, close_log, metrics=None):
        """
        @param clock: the L{twisted.internet.interfaces.IReactorTime}.
        @param timeout: seconds a handshake (and the check of the client
            certificate after it) may take.
        @param max_handshakes: how many may be unfinished at once, over
            all listeners; at the cap the oldest is dropped.
        @param close_log: the daemon's L{gateway.core.closelog.CloseLog}:
            the lines about connections that end in their handshake are
            logged within its budget (C{limits.prelogin_log_rate}).
        @param metrics: the daemon's L{gateway.metrics.Metrics}; one of its
            own when L{None}.
        """
        self.clock = clock
        self.metrics = Metrics(clock) if metrics is None else metrics
        self.close_log = close_log
        self.timeout = timeout
        self.max_handshakes = max_handshakes
        # Insertion-ordered: the oldest unfinished handshake comes first.
        self._open = {}

    @property
    def handshaking(self):
        """
        How many connections are in their handshake now.
        """
        return len(self._open)

    def started(self, gate):
        """
        Count C{gate}'s handshake.

        @return: the gate of the oldest handshake, which must give way, when
            the cap is reached, else L{None}.
        """
        oldest = next(iter(self._open)) if len(self._open) >= self.max_handshakes else None
        self._open[gate] = None
        return oldest

    def finished(self, gate):
        """
        Stop counting C{gate}'s handshake.
        """
        self._open.pop(gate, None)


class HandshakeGateFactory(WrappingFactory):
    """
    Wraps a frontend's factory with the listener's client certificate rules.
    """

    noisy = False

    def __init__(self, wrappedFactory, limits, client_certificates, fingerprints=(), bound=None):
        """
        @param limits: the shared L{HandshakeLimits}.
        @param client_certificates: C{'off'}, C{'optional'} or C{'required'}.
        @param fingerprints: the only client certificate fingerprints let
            in; empty for any.
        @param bound: C{bound(fingerprint)} returns (a L{Deferred} of) the id
            of the account a fingerprint is bound to, or L{None}.  A
            C{'required'} listener without C{fingerprints} admits only
            bound certificates.
        """
        super().__init__(wrappedFactory)
        self.limits = limits
        self.client_certificates = client_certificates
        self.fingerprints = frozenset(normalize_fingerprint(f) for f in fingerprints)
        self.bound = bound

    def protocol(self, factory, wrappedProtocol):
        return HandshakeGate(factory, wrappedProtocol)


@implementer(IHandshakeListener)
class HandshakeGate(Protocol):
    """
    One connection's gate.  Until the handshake completes and the client
    certificate has been accepted, the frontend's protocol is not connected
    at all, so it never sees a client that has not finished TLS.  Then it
    is connected to the TLS transport itself, and may hand the connection
    over to another protocol the way autobahn's C{WebSocketResource} does
    (it makes the new one the TLS transport's C{wrappedProtocol}): the gate
    is then out of the connection's path, so neither its factory nor
    anything else keeps it.
    """

    log = Logger()

    def __init__(self, factory, wrappedProtocol, refusal=None):
        """
        @param refusal: a message to send (over TLS) instead of connecting
            C{wrappedProtocol} at all, when the connection limits turn the
            client away (see L{TLSFactory.refuse}).
        """
        self.factory = factory
        self.wrappedProtocol = wrappedProtocol
        self._refusal_message = refusal
        self._timer = None
        self._state = "new"
        self._checking = False
        self._early = []

    def connectionMade(self):
        limits = self._limits = self.factory.limits
        self._peer = describe(self.transport.getPeer())
        self._state = "handshaking"
        self._timer = limits.clock.callLater(limits.timeout, self._handshake_expired)
        oldest = limits.started(self)
        if oldest is not None:
            oldest._give_way()

    def _log_end(self, level, format, **kwargs):
        """
        Log, with C{level} (a L{Logger} method), why this connection ends
        before its frontend got it: within C{limits.prelogin_log_rate}, like
        every connection that closes before logging in.
        """
        self._limits.close_log.prelogin(level, format, peer=self._peer, **kwargs)

    def _give_way(self):
        """
        Drop this unfinished handshake to make room for a newer one.
        """
        self._log_end(
            self.log.warn,
            "Dropped TLS handshake from {peer}: the limit of {limit} unfinished handshakes "
            "(tls.max_handshakes) is reached and it is the oldest",
            limit=self._limits.max_handshakes,
        )
        self._end_handshake("dropped")
        self._limits.metrics.handshake_dropped()
        self.transport.abortConnection()

    def _end_handshake(self, state):
        if self._state == "handshaking":
            self._limits.finished(self)
        self._state = state
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _handshake_expired(self):
        self._timer = None
        what = "Certificate check of TLS client" if self._checking else "TLS handshake from"
        self._log_end(
            self.log.info, "{what} {peer} not finished in {timeout:g} seconds; closed",
            what=what, timeout=self._limits.timeout,
        )
        self._end_handshake("timed out")
        self._limits.metrics.tls_handshake("timed_out")
        self.transport.abortConnection()

    def handshakeCompleted(self):
        self._limits.metrics.tls_handshake("completed")
        if self._refusal_message is not None:
            self._refuse(self._refusal_message)
            return
        certificate = self.transport.getPeerCertificate() if self.factory.client_certificates != "off" else None
        refusal = self._refusal(certificate)
        if refusal is not None:
            self._refuse(refusal)
        elif self._must_be_bound(certificate):
            self._checking = True
            fingerprint = certificate_fingerprint(certificate)
            d = maybeDeferred(self.factory.bound, fingerprint)
            d.addCallbacks(self._checked, self._check_failed, callbackArgs=(fingerprint,))
        else:
            self._connect()

    def _refusal(self, certificate):
        """
        Why the client certificate is not accepted here, or L{None}.
        """
        allowed = self.factory.fingerprints
        if certificate is None:
            if self.factory.client_certificates == "required" or allowed:
                return "This port requires a client certificate; reconnect with one."
            return None
        if certificate.has_expired():
            return f"Your client certificate expired on {not_after(certificate)}; make a new one and bind it with 'cert add'."
        starts = not_yet_valid(certificate)
        if starts is not None:
            return f"Your client certificate is not valid before {starts}; check your clock or make a new one."
        if allowed and certificate_fingerprint(certificate) not in allowed:
            return "Your client certificate is not on this port's list of allowed certificates."
        return None

    def _must_be_bound(self, certificate):
        factory = self.factory
        return certificate is not None and factory.client_certificates == "required" and not factory.fingerprints

    def _checked(self, account_id, fingerprint):
        if self._state != "handshaking":
            return
        if account_id is None:
            self._refuse(
                f"Your certificate {fingerprint} is not bound to an account. "
                "Log in on another port and run 'cert add' while connected with it."
            )
        else:
            self._connect()

    def _check_failed(self, failure):
        self.log.failure("Looking up the client certificate of {peer} failed", failure, peer=self._peer)
        if self._state == "handshaking":
            self._refuse("Sorry, your certificate could not be checked on our side; it has been logged.")

    def _refuse(self, reason):
        """
        Tell the client C{reason}, then close once it is flushed: in the
        frontend's own protocol when its factory provides
        L{IRefusingFactory} (a browser gets an HTTP response), else as one
        line.  A client that never reads is cut off when the timeout runs
        out.
        """
        self._log_end(self.log.info, "Refused TLS client {peer}: {reason}", reason=reason)
        self._end_handshake("refused")
        frontend = self.factory.wrappedFactory
        if IRefusingFactory.providedBy(frontend):
            self.wrappedProtocol = frontend.refuse(self.transport.getPeer(), reason)
            if self.wrappedProtocol is not None:
                self._state = "refusing"
                self.wrappedProtocol.makeConnection(self.transport)
        else:
            self.transport.write(encode_line(reason))
        self._timer = self._limits.clock.callLater(self._limits.timeout, self.transport.abortConnection)
        self.transport.loseConnection()

    def _connect(self):
        self._end_handshake("connected")
        self.wrappedProtocol.makeConnection(self.transport)
        early, self._early = self._early, None
        for data in early:
            self.wrappedProtocol.dataReceived(data)

    def dataReceived(self, data):
        if self._state in ("connected", "refusing"):
            self.wrappedProtocol.dataReceived(data)
        elif self._state == "handshaking":
            # Sent right after the handshake, while the certificate is
            # looked up: kept for the frontend, within a bound.
            self._early.append(data)
            if sum(map(len, self._early)) > MAX_EARLY_BYTES:
                self._log_end(self.log.info, "TLS client {peer} sent too much before it was admitted; closed")
                self._end_handshake("refused")
                self.transport.abortConnection()

    def connectionLost(self, reason):
        state = self._state
        self._end_handshake("closed")
        if state in ("connected", "refusing"):
            self.wrappedProtocol.connectionLost(reason)
        elif state == "handshaking" and self._checking:
            self._log_end(self.log.info, "TLS client {peer} left while its certificate was checked")
        elif state == "handshaking":
            if reason.check(AnsweredInClear):
                why = "it spoke in clear, not TLS, and was answered in clear"
            elif reason.check(ConnectionDone, ConnectionLost):
                why = "the client closed the connection"
            else:
                why = openssl_reason(reason.value)
            self._log_end(self.log.info, "TLS handshake from {peer} failed: {why}", why=why)
