"""
The handshake gate: sits between L{TLSMemoryBIOProtocol} and a frontend's
protocol, and connects the frontend only once the handshake is done and
the client certificate (if any) passes the listener's rules.
"""

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IHandshakeListener, ISSLTransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import Attribute, Interface, directlyProvides, implementer, providedBy

from gateway.auth.fingerprints import certificate_fingerprint, normalize_fingerprint
from gateway.frontends.addresses import describe
from gateway.frontends.text import encode_line
from gateway.frontends.tls.certificates import not_after, openssl_reason


class IVerifiedTLS(Interface):
    """
    The transport a frontend gets on a TLS listener, once the handshake is
    done and the client certificate has passed the listener's rules.
    """

    client_certificates = Attribute("The listener's mode: C{'off'}, C{'optional'} or C{'required'}.")
    fingerprint = Attribute(
        "The SHA-256 fingerprint of the client's certificate (see "
        "L{gateway.auth.fingerprints}), or L{None} when it sent none."
    )


class HandshakeLimits:
    """
    The bounds every TLS listener's handshakes share.

    @ivar handshaking: how many connections are in their handshake now.
    """

    def __init__(self, clock, timeout, max_handshakes):
        """
        @param clock: the L{twisted.internet.interfaces.IReactorTime}.
        @param timeout: seconds a handshake may take.
        @param max_handshakes: how many may be unfinished at once, over
            all listeners; further connections are closed at once.
        """
        self.clock = clock
        self.timeout = timeout
        self.max_handshakes = max_handshakes
        self.handshaking = 0


class HandshakeGateFactory(WrappingFactory):
    """
    Wraps a frontend's factory with the listener's client certificate rules.
    """

    noisy = False

    def __init__(self, wrappedFactory, limits, client_certificates, fingerprints=()):
        """
        @param limits: the shared L{HandshakeLimits}.
        @param client_certificates: C{'off'}, C{'optional'} or C{'required'}.
        @param fingerprints: allowed client certificate fingerprints; empty
            for any.
        """
        super().__init__(wrappedFactory)
        self.limits = limits
        self.client_certificates = client_certificates
        self.fingerprints = frozenset(normalize_fingerprint(f) for f in fingerprints)

    def protocol(self, factory, wrappedProtocol):
        return HandshakeGate(factory, wrappedProtocol)


@implementer(IHandshakeListener, ISSLTransport, IVerifiedTLS)
class HandshakeGate(ProtocolWrapper):
    """
    One connection's gate.  Until the handshake completes the frontend's
    protocol is not connected at all, so it never sees a client that has
    not finished TLS.
    """

    log = Logger()
    fingerprint = None

    def __init__(self, factory, wrappedProtocol):
        super().__init__(factory, wrappedProtocol)
        self.client_certificates = factory.client_certificates
        self._timer = None
        self._state = "new"

    def makeConnection(self, transport):
        # Like ProtocolWrapper.makeConnection, minus connecting the wrapped
        # protocol, which waits for handshakeCompleted.
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)

    def connectionMade(self):
        limits = self._limits = self.factory.limits
        self._peer = describe(self.transport.getPeer())
        if limits.handshaking >= limits.max_handshakes:
            self.log.warn(
                "Refused TLS connection from {peer}: the limit of {limit} unfinished handshakes (tls.max_handshakes) is reached",
                peer=self._peer, limit=limits.max_handshakes,
            )
            self._state = "refused"
            self.transport.abortConnection()
            return
        limits.handshaking += 1
        self._state = "handshaking"
        self._timer = limits.clock.callLater(limits.timeout, self._handshake_expired)

    def _end_handshake(self, state):
        if self._state == "handshaking":
            self._limits.handshaking -= 1
        self._state = state
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _handshake_expired(self):
        self._timer = None
        self.log.info(
            "TLS handshake from {peer} not finished in {timeout:g} seconds; closed",
            peer=self._peer, timeout=self._limits.timeout,
        )
        self._end_handshake("timed out")
        self.transport.abortConnection()

    def handshakeCompleted(self):
        self._end_handshake("checking")
        certificate = self.transport.getPeerCertificate() if self.client_certificates != "off" else None
        refusal = self._refusal(certificate)
        if refusal is not None:
            self.log.info("Refused TLS client {peer}: {reason}", peer=self._peer, reason=refusal)
            self._state = "refused"
            self.transport.write(encode_line(refusal))
            # Write, then close once it is flushed; a client that never
            # reads is cut off when the timeout runs out.
            self._timer = self._limits.clock.callLater(self._limits.timeout, self.transport.abortConnection)
            self.transport.loseConnection()
            return
        if certificate is not None:
            self.fingerprint = certificate_fingerprint(certificate)
        self._state = "connected"
        directlyProvides(self, providedBy(self.transport))
        self.wrappedProtocol.makeConnection(self)

    def _refusal(self, certificate):
        """
        Why the client certificate is not accepted here, or L{None}.
        """
        allowed = self.factory.fingerprints
        if certificate is None:
            if self.client_certificates == "required" or allowed:
                return "This port requires a client certificate; reconnect with one."
            return None
        if certificate.has_expired():
            return f"Your client certificate expired on {not_after(certificate)}; make a new one and bind it with 'cert add'."
        if allowed and certificate_fingerprint(certificate) not in allowed:
            return "Your client certificate is not on this port's list of allowed certificates."
        return None

    def dataReceived(self, data):
        if self._state == "connected":
            self.wrappedProtocol.dataReceived(data)

    def connectionLost(self, reason):
        state = self._state
        self._end_handshake("closed")
        self.factory.unregisterProtocol(self)
        if state == "connected":
            self.wrappedProtocol.connectionLost(reason)
        elif state == "handshaking":
            if reason.check(ConnectionDone, ConnectionLost):
                why = "the client closed the connection"
            else:
                why = openssl_reason(reason.value)
            self.log.info("TLS handshake from {peer} failed: {why}", peer=self._peer, why=why)
