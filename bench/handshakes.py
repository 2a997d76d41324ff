"""
TLS handshake load: P worker processes, each opening connections one after
another for a fixed time, each a full handshake (a fresh context per
worker, no session resumption) followed by one application round trip: the
client sends a line and waits for the first byte back (the echo server's
echo; gateway's first telnet negotiation or greeting), so the server has
finished its side of the handshake too.  Blocking sockets and the C{ssl}
module keep the client's cost per handshake low; its CPU is reported.

Run: C{python bench/handshakes.py --port N [--workers P] [--duration S]};
prints one JSON object: handshakes, handshakes_per_s, errors, client_cpu_s,
protocol, cipher.
"""

import argparse
import json
import socket
import ssl
import sys
import time

from procpool import run_workers


def _worker(port, duration, queue):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    done = errors = 0
    version = cipher = None
    end = time.monotonic() + duration
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with context.wrap_socket(raw) as tls:
                    tls.sendall(b"\r\n")
                    if not tls.recv(1):
                        raise ConnectionError("closed before any data")
                    version, cipher = tls.version(), tls.cipher()[0]
            done += 1
        except (OSError, ssl.SSLError):
            errors += 1
    queue.put((done, errors, version, cipher))


def main(argv=None):
    p = argparse.ArgumentParser(description="TLS handshake load generator")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--duration", type=float, default=10)
    args = p.parse_args(argv)
    results, elapsed, client_cpu = run_workers(
        _worker, [(args.port, args.duration)] * args.workers, args.duration + 60
    )
    done = sum(r[0] for r in results)
    print(json.dumps({
        "handshakes": done,
        "handshakes_per_s": done / elapsed,
        "errors": sum(r[1] for r in results),
        "client_cpu_s": client_cpu,
        "seconds": elapsed,
        "protocol": next((r[2] for r in results if r[2]), None),
        "cipher": next((r[3] for r in results if r[3]), None),
    }))


if __name__ == "__main__":
    sys.exit(main())
