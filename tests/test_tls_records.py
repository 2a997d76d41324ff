"""
Over TLS, what the frontend writes while one read is handled leaves as one
TLS record (L{gateway.frontends.tls.wrapping.TLSProtocol}).
"""

from pathlib import Path

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import CertificateOptions
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import TestCase

from gateway.frontends.tls.context import ServerTLS
from gateway.frontends.tls.wrapping import TLSFactory
from tests.test_tls_certificates import config_for

APPLICATION_DATA = 0x17


def records(data):
    """
    The content types of the TLS records in C{data}.
    """
    types = []
    while len(data) >= 5:
        length = int.from_bytes(data[3:5], "big")
        types.append(data[0])
        data = data[5 + length:]
    return types


class ThreeWrites(Protocol):
    """
    Answers each read with three writes, as a frontend writes a command's
    output, its prompt and a go-ahead.
    """

    def dataReceived(self, data):
        for piece in (b"output\r\n", b"> ", b"\xff\xf9"):
            self.transport.write(piece)


class Collector(Protocol):
    received = b""

    def dataReceived(self, data):
        self.received += data


class OneRecordPerReadTests(TestCase):
    def test_writes_of_one_read_are_one_record(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        server_factory = TLSFactory(ServerTLS(config_for(directory)).creator(False), False, Factory.forProtocol(ThreeWrites))
        client_factory = TLSMemoryBIOFactory(CertificateOptions(), True, Factory.forProtocol(Collector))
        # Twisted's own, unbuffered: each write is sent at once.
        client_factory.protocol = TLSMemoryBIOProtocol
        client, server, pump = connectedServerAndClient(
            lambda: server_factory.buildProtocol(None), lambda: client_factory.buildProtocol(None)
        )
        pump.flush()
        raw = []
        write = server.transport.write
        self.patch(server.transport, "write", lambda data: (raw.append(data), write(data)))
        client.write(b"look\r\n")
        pump.flush()
        self.assertEqual(client.wrappedProtocol.received, b"output\r\n> \xff\xf9")
        self.assertEqual(records(b"".join(raw)), [APPLICATION_DATA])
