"""
TLS as a service of the daemon: the shared context, the handshake limits,
and wrapping listeners' factories.
"""

import functools

from twisted.application.service import Service
from twisted.internet.interfaces import ISSLTransport
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.frontends.output import HeldWrites
from gateway.frontends.tls.context import ServerTLS
from gateway.frontends.tls.handshake import AnsweredInClear, HandshakeGate, HandshakeGateFactory, HandshakeLimits
from gateway.interfaces import IClearTextAnswer, IRefusingFactory
from gateway.sighup import IReconfigurable


#: The first byte of what a TLS client sends: a handshake record.
TLS_HANDSHAKE_RECORD = b"\x16"


@implementer(ISSLTransport)
class TLSProtocol(TLSMemoryBIOProtocol):
    """
    Twisted's TLS protocol, an L{ISSLTransport} (as Twisted's own
    C{startTLS} marks its transports), so frontends and libraries that look
    for TLS find it, whose plaintext output of one read (and of the
    handshake's end, when the frontend starts) leaves as one TLS record.

    Not the C{BufferingTLSTransport} newer Twisted uses by default: it
    holds small writes until a C{callLater(0)} per connection, and the
    connection's output (L{gateway.frontends.output.SocketOutput}, under
    TLS) already holds everything until the end of the reactor's turn: with
    both, the encrypted output of one turn often left in two system calls
    instead of one.  This way the records of a turn leave together, on
    every Twisted version.

    A client whose first bytes do not start a TLS handshake is answered in
    clear, and the connection closed, when the frontend's factory provides
    L{IClearTextAnswer}.

    @ivar plaintext: the L{HeldWrites} holding what the frontend writes
        during a read.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plaintext = HeldWrites(functools.partial(TLSMemoryBIOProtocol.write, self))
        self._first_read = True
        self._in_clear = False

    def dataReceived(self, data):
        if self._in_clear:
            return
        if self._first_read:
            self._first_read = False
            if not data.startswith(TLS_HANDSHAKE_RECORD) and self._answer_in_clear(data):
                return
        with self.plaintext.holding():
            super().dataReceived(data)

    def _answer_in_clear(self, data):
        """
        Answer a client that spoke in clear the frontend's way (see
        L{IClearTextAnswer}), and close.

        @return: whether it was answered.
        """
        answer = self.factory.answer_in_clear(data)
        if answer is None:
            return False
        self._in_clear = True
        self.transport.write(answer)
        self.transport.loseConnection()
        return True

    def connectionLost(self, reason):
        if not self._in_clear:
            super().connectionLost(reason)
            return
        # No TLS ever started: the protocol above (the handshake gate)
        # learns why the connection ended, without TLS's own account of a
        # handshake that never began.
        self.connected = False
        ProtocolWrapper.connectionLost(self, Failure(AnsweredInClear()))

    def write(self, data):
        self.plaintext.write(data)

    def loseConnection(self):
        self.plaintext.release()
        super().loseConnection()

    def abortConnection(self):
        self.plaintext.discard()
        super().abortConnection()


@implementer(IRefusingFactory)
class TLSFactory(TLSMemoryBIOFactory):
    """
    A listener's factory served over TLS.  When the connection limits
    (L{gateway.frontends.limits.LimitingFactory}, wrapped around this one)
    turn a client away, the reason is sent over TLS after the handshake, in
    the frontend's own way when its factory provides L{IRefusingFactory},
    else as one line of text.
    """

    protocol = TLSProtocol

    def answer_in_clear(self, data):
        """
        What to answer a client that spoke in clear: the frontend's answer
        when its factory provides L{IClearTextAnswer}.

        @param data: the client's first bytes.
        @return: L{bytes} to send in clear, or L{None}.
        """
        frontend = self.wrappedFactory.wrappedFactory
        if IClearTextAnswer.providedBy(frontend):
            return frontend.answer_in_clear(data)
        return None

    def refuse(self, address, message):
        gates = self.wrappedFactory
        frontend = gates.wrappedFactory
        if IRefusingFactory.providedBy(frontend):
            refusal = frontend.refuse(address, message)
            if refusal is None:
                return None
            return self.protocol(self, HandshakeGate(gates, refusal))
        return self.protocol(self, HandshakeGate(gates, None, refusal=message))


@implementer(IReconfigurable)
class TLSService(Service):
    """
    Owns the daemon's L{ServerTLS}; a reload reads the certificate and key
    files again (their paths, like the rest of C{[tls]}, change with a
    restart).
    """

    name = "tls"

    def __init__(self, tls, limits):
        """
        @type tls: L{ServerTLS}
        @type limits: L{HandshakeLimits}
        """
        self.tls = tls
        self.limits = limits

    def reconfigService(self, new_config):
        return self.tls.reload()

    def wrap(self, factory, listener, bound):
        """
        Serve C{factory} over TLS with the listener's client certificate
        rules.

        @param listener: the L{gateway.config.ListenerSettings}.
        @param bound: C{bound(fingerprint)}, a L{Deferred} of the id of the
            account a certificate is bound to (or L{None}); see
            L{HandshakeGateFactory}.
        @rtype: L{TLSFactory}
        """
        gate = HandshakeGateFactory(
            factory, self.limits, listener.client_certificates, listener.certificate_fingerprints, bound
        )
        return TLSFactory(self.tls.creator(listener.client_certificates != "off"), False, gate)


def build_tls(config, clock, parent, close_log, metrics):
    """
    Load the certificate and attach a L{TLSService} to C{parent}.

    @param close_log: the daemon's L{gateway.core.closelog.CloseLog}, whose
        budget the handshakes' log lines share.
    @param metrics: the daemon's L{gateway.metrics.Metrics}.
    @raise gateway.errors.StartupError: when the certificate or key is
        unusable.
    @rtype: L{TLSService}
    """
    settings = config.tls
    service = TLSService(
        ServerTLS(config), HandshakeLimits(
            clock, settings.handshake_timeout, settings.max_handshakes, close_log, metrics
        )
    )
    service.setServiceParent(parent)
    return service
