"""
The baseline: a bare Twisted line-broadcast server with no features.

It speaks just enough of gateway's dialogue for the same load generator to
drive it: a C{Name: } prompt, then a line starting C{Exits:}; after that a
C{say TEXT} line goes to everyone else as C{NAME says, "TEXT"} and back to
the sender as C{You say, "TEXT"}.  No telnet, no accounts, no limits.

Run: C{python bench/baseline_server.py [--port N]}; it prints
C{PORT <number>} once listening.
"""

import argparse
import resource
import sys

from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineReceiver


class Broadcast(LineReceiver):
    """
    One client of the bare broadcast server.
    """

    delimiter = b"\r\n"
    MAX_LENGTH = 4096

    def connectionMade(self):
        self.name = None
        self.transport.write(b"Name: ")

    def lineReceived(self, line):
        if self.name is None:
            self.name = line.strip()
            self.factory.clients.add(self)
            self.transport.write(b"Exits: none\r\n")
        elif line.startswith(b"say "):
            text = line[4:]
            out = self.name + b' says, "' + text + b'"\r\n'
            for other in self.factory.clients:
                if other is not self:
                    other.transport.write(out)
            self.transport.write(b'You say, "' + text + b'"\r\n')

    def connectionLost(self, reason):
        self.factory.clients.discard(self)


def serve(factory, port=0):
    """
    Serve C{factory} on C{port} of 127.0.0.1 (any free port for C{0}) with
    the file-descriptor limit raised to the hard limit; print C{PORT
    <number>} once listening and run the reactor.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listening = reactor.listenTCP(port, factory, backlog=1024, interface="127.0.0.1")
    print(f"PORT {listening.getHost().port}", flush=True)
    reactor.run()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    factory = protocol.ServerFactory.forProtocol(Broadcast)
    factory.clients = set()
    serve(factory, args.port)


if __name__ == "__main__":
    sys.exit(main())
