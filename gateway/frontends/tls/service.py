"""
TLS as a service of the daemon: the shared context, the handshake limits,
and wrapping listeners' factories.
"""

from twisted.application.service import Service
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

from gateway.frontends.tls.context import ServerTLS
from gateway.frontends.tls.handshake import HandshakeGate, HandshakeGateFactory, HandshakeLimits
from gateway.interfaces import IRefusingFactory
from gateway.reload import IReloadable


@implementer(IRefusingFactory)
class TLSFactory(TLSMemoryBIOFactory):
    """
    A listener's factory served over TLS.  When the connection limits
    (L{gateway.frontends.limits.LimitingFactory}, wrapped around this one)
    turn a client away, the reason is sent over TLS after the handshake, in
    the frontend's own way when its factory provides L{IRefusingFactory},
    else as one line of text.
    """

    def refuse(self, address, message):
        gates = self.wrappedFactory
        frontend = gates.wrappedFactory
        if IRefusingFactory.providedBy(frontend):
            refusal = frontend.refuse(address, message)
            if refusal is None:
                return None
            return self.protocol(self, HandshakeGate(gates, refusal))
        return self.protocol(self, HandshakeGate(gates, None, refusal=message))


@implementer(IReloadable)
class TLSService(Service):
    """
    Owns the daemon's L{ServerTLS}; reloading it reloads the certificate.
    """

    name = "tls"

    def __init__(self, tls, limits):
        """
        @type tls: L{ServerTLS}
        @type limits: L{HandshakeLimits}
        """
        self.tls = tls
        self.limits = limits

    def reload(self):
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


def build_tls(config, clock, parent):
    """
    Load the certificate and attach a L{TLSService} to C{parent}.

    @raise gateway.errors.StartupError: when the certificate or key is
        unusable.
    @rtype: L{TLSService}
    """
    settings = config.tls
    service = TLSService(ServerTLS(config), HandshakeLimits(clock, settings.handshake_timeout, settings.max_handshakes))
    service.setServiceParent(parent)
    return service
