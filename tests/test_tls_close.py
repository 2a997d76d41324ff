"""
A frontend over TLS closes while a core's producer is registered on it
for output flow (L{gateway.interfaces.IOutputFlow}), as when a relayed
game closes its connection: Twisted's TLS transport does not close while
a producer is registered, so the frontend lets go of it first.
"""

from pathlib import Path

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import CertificateOptions
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from gateway.frontends.lines import build_factory
from gateway.frontends.tls.context import ServerTLS
from gateway.frontends.tls.wrapping import TLSFactory
from tests.helpers import make_core
from tests.test_tls_certificates import config_for


@implementer(IPushProducer)
class Source:
    """
    A push producer with nothing to produce.
    """

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class Client(Protocol):
    received = b""
    lost = False

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost = True


class CloseWithProducerTests(TestCase):
    def test_closes_with_an_output_producer_registered(self):
        """
        L{gateway.frontends.base.LineFrontend.close} over TLS sends its
        reason and closes the connection although a producer is
        registered for output flow.
        """
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        frontends = build_factory(make_core(), None, {})
        server_factory = TLSFactory(ServerTLS(config_for(directory)).creator(False), False, frontends)
        client_factory = TLSMemoryBIOFactory(CertificateOptions(), True, Factory.forProtocol(Client))
        client_factory.protocol = TLSMemoryBIOProtocol
        client, server, pump = connectedServerAndClient(
            lambda: server_factory.buildProtocol(None), lambda: client_factory.buildProtocol(None)
        )
        pump.flush()
        player = client.wrappedProtocol
        frontend = server.wrappedProtocol
        frontend.register_output_producer(Source())
        frontend.close("The game at mud.example.org closed the connection.")
        pump.flush()
        self.assertIn(b"closed the connection.\r\n", player.received)
        self.assertTrue(player.lost)
