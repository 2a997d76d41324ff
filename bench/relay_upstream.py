"""
The game behind the relays of the relay benchmark: a bare Twisted telnet-less
line server that a relayed client drives through the relay under test.

On connection it sends C{welcome}.  A client line C{tick R D} makes it send
that client R lines a second for D seconds (the first after a random part
of a period, so that many sessions spread over time); C{flood M} makes it
write M lines at once.  Every line is C{t<monotonic ns at sending>}
padded to L{LINE_BYTES} bytes, so the client can tell each line's latency
(the two processes share the machine's monotonic clock).  Anything else a
client sends (telnet negotiation, other lines) is ignored.

Run: C{python bench/relay_upstream.py [--port N]}; it prints C{PORT <number>}
once listening.
"""

import argparse
import random
import sys
import time

from twisted.internet import reactor, task
from twisted.internet.protocol import ServerFactory
from twisted.protocols.basic import LineReceiver

from bench.baseline_server import serve

#: Bytes per line sent, its CRLF included.
LINE_BYTES = 80


def stamped():
    """
    One line carrying the time it is sent.
    """
    head = b"t%d " % (time.monotonic_ns(),)
    return head + b"x" * (LINE_BYTES - 2 - len(head)) + b"\r\n"


class Game(LineReceiver):
    """
    One relayed session as the game sees it.
    """

    delimiter = b"\n"
    MAX_LENGTH = 4096

    def connectionMade(self):
        self.ticking = None
        self.transport.write(b"welcome\r\n")

    def lineReceived(self, line):
        words = line.strip().split()
        if len(words) == 3 and words[0].endswith(b"tick"):
            self._tick(float(words[1]), float(words[2]))
        elif len(words) == 2 and words[0].endswith(b"flood"):
            self.transport.write(b"".join(stamped() for _ in range(int(words[1]))))

    def _tick(self, rate, duration):
        period = 1.0 / rate
        count = int(rate * duration)
        sent = [0]

        def one():
            self.transport.write(stamped())
            sent[0] += 1
            if sent[0] >= count and self.ticking is not None:
                self.ticking.stop()
                self.ticking = None

        def start():
            self.ticking = task.LoopingCall(one)
            self.ticking.start(period)

        reactor.callLater(random.random() * period, start)

    def connectionLost(self, reason):
        if self.ticking is not None:
            self.ticking.stop()
            self.ticking = None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    serve(ServerFactory.forProtocol(Game), args.port)


if __name__ == "__main__":
    sys.exit(main())
