"""
TLS as a service of the daemon: the shared context, the handshake limits,
and wrapping listeners' factories.
"""

from twisted.application.service import Service
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

from gateway.frontends.tls.context import ServerTLS
from gateway.frontends.tls.handshake import HandshakeGateFactory, HandshakeLimits
from gateway.reload import IReloadable


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
        @rtype: L{TLSMemoryBIOFactory}
        """
        gate = HandshakeGateFactory(
            factory, self.limits, listener.client_certificates, listener.certificate_fingerprints, bound
        )
        return TLSMemoryBIOFactory(self.tls.creator(listener.client_certificates != "off"), False, gate)


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
