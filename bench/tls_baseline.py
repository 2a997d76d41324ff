"""
The TLS baseline: a bare Twisted TLS echo server, no features, serving a
given certificate and key with Twisted's own defaults
(L{twisted.internet.ssl.CertificateOptions}).  The TLS handshake scenario
points it at the certificate gateway generated, so both serve the same key.

Run: C{python bench/tls_baseline.py --certificate CERT.pem --key KEY.pem};
it prints C{PORT <number>} once listening.
"""

import argparse
import sys

from twisted.internet import protocol, reactor, ssl


class Echo(protocol.Protocol):
    """
    Sends back whatever it receives.
    """

    def dataReceived(self, data):
        self.transport.write(data)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--certificate", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args(argv)
    with open(args.certificate, "rb") as c, open(args.key, "rb") as k:
        pem = c.read() + k.read()
    options = ssl.PrivateCertificate.loadPEM(pem).options()
    factory = protocol.ServerFactory.forProtocol(Echo)
    port = reactor.listenSSL(args.port, factory, options, backlog=1024, interface="127.0.0.1")
    print(f"PORT {port.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    sys.exit(main())
