"""
The relay benchmark's baseline: Twisted's bare port forwarder
(L{twisted.protocols.portforward}) from a loopback port to the game.  No
telnet, no sessions, no limits: the least any Twisted relay does.

Run: C{python bench/forwarder.py --to PORT}; it prints C{PORT <number>}
once listening.
"""

import argparse
import sys

from twisted.protocols.portforward import ProxyFactory

from bench.baseline_server import serve


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--to", type=int, required=True, help="the game's port on 127.0.0.1")
    args = p.parse_args(argv)
    serve(ProxyFactory("127.0.0.1", args.to))


if __name__ == "__main__":
    sys.exit(main())
