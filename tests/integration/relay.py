"""
A TCP relay on loopback for tests that need something between a real
client and the daemon: a stand-in for a proxy that starts every connection
with a header (HAProxy's C{send-proxy}), or a network the test cuts.
"""

import socket
import threading


class LoopbackRelay:
    """
    Relays every connection to L{port} to C{target} on 127.0.0.1, after
    C{header}.  L{cut} closes every relayed connection and holds new ones
    back until L{release}.

    @ivar port: the port clients connect to.
    """

    def __init__(self, target, header=b""):
        self.target = target
        self.header = header
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        self.lock = threading.Lock()
        self.open = threading.Event()
        self.open.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client):
        self.open.wait()
        server = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        server.settimeout(None)
        server.sendall(self.header)
        with self.lock:
            self.sockets += [client, server]
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
        self._pump(client, server)

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self):
        """
        Close every relayed connection, both sides, and hold new ones back
        until L{release}.
        """
        self.open.clear()
        with self.lock:
            cut, self.sockets = self.sockets, []
        for end in cut:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def release(self):
        """
        Let new connections through again.
        """
        self.open.set()

    def close(self):
        """
        Stop listening and close every relayed connection.
        """
        self.listener.close()
        self.cut()
        self.release()
