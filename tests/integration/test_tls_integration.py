"""
The real daemon over TLS with the clients people use: C{openssl s_client},
C{gnutls-cli} and Twisted's own TLS client, all verifying the generated
certificate against its CA file and host name; client certificate login;
and reloading the certificate with SIGHUP.
"""

import hashlib
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

from service_identity import VerificationError
from twisted.internet import defer, endpoints, protocol, reactor
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.trial.unittest import SkipTest, TestCase

from tests.certs import write_pair
from tests.daemon import Daemon, LineClient, sign_up

EPHEMERAL = "tcp:0:interface=127.0.0.1"
TLS_LISTENERS = [f"telnet-tls={EPHEMERAL}", f"lines-tls={EPHEMERAL}"]


def need(tool):
    if shutil.which(tool) is None:
        raise SkipTest(f"{tool} is not installed (Debian: apt-get install {'gnutls-bin' if tool == 'gnutls-cli' else tool})")


class ToolClient(LineClient):
    """
    A L{LineClient} talking through a command-line TLS client whose
    standard input and output are one end of a socket pair.
    """

    def __init__(self, test, args, timeout=10):
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(args, stdin=theirs, stdout=theirs, stderr=subprocess.DEVNULL)
        theirs.close()
        super().__init__(None, sock=ours, timeout=timeout)
        test.addCleanup(self.stop)

    def stop(self):
        self.close()
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(10)


def s_client(test, port, ca, *extra):
    return ToolClient(test, [
        "openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(ca),
        "-verify_hostname", "localhost", "-verify_return_error", "-quiet", "-no_ign_eof", "-nocommands",
        *extra,
    ])


def gnutls_cli(test, port, ca):
    return ToolClient(test, [
        "gnutls-cli", "--x509cafile", str(ca), "--verify-hostname", "localhost", "-p", str(port), "127.0.0.1",
    ])


def wait_for(daemon, text, timeout=10):
    """
    Wait until the daemon has logged C{text}.
    """
    deadline = time.monotonic() + timeout
    while text not in daemon.output():
        if time.monotonic() > deadline:
            raise AssertionError(f"the daemon did not log {text!r}:\n{daemon.output()}")
        time.sleep(0.05)


class TLSClientTests(TestCase):
    def setUp(self):
        self.data = Path(self.mktemp()).resolve()
        self.daemon = Daemon(self.data, listen=TLS_LISTENERS)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)
        self.ca = self.data / "tls-dev-ca.pem"

    def test_openssl_and_gnutls_chat_on_both_listeners(self):
        need("openssl")
        need("gnutls-cli")
        alice = s_client(self, self.daemon.ports["lines-tls"], self.ca)
        alice.expect("OK gateway ")
        sign_up(alice, "Alice")
        bob = gnutls_cli(self, self.daemon.ports["telnet-tls"], self.ca)
        sign_up(bob, "Bob")
        alice.expect("Bob has arrived.")
        bob.send_line("say hello over TLS")
        alice.expect('Bob says, "hello over TLS"')
        alice.send_line("who")
        listing = alice.expect("idle")
        listing += alice.expect("idle")
        self.assertRegex(listing, r"Alice\s+lines \(secure\)")
        self.assertRegex(listing, r"Bob\s+telnet \(secure\)")
        alice.send_line("quit")
        self.assertIn("Goodbye.", alice.read_until_closed())
        bob.expect("Alice has left.")

    def test_plain_text_client_on_tls_port(self):
        plain = LineClient(self.daemon.ports["lines-tls"])
        self.addCleanup(plain.close)
        plain.send_line("hello")
        self.assertNotIn("Name", plain.read_until_closed())
        wait_for(self.daemon, "TLS handshake from 127.0.0.1:")
        self.assertIn("failed: ", self.daemon.output())
        self.assertNotIn("Traceback", self.daemon.output())

    def test_client_certificate_logs_in_after_cert_add(self):
        need("openssl")
        directory = self.data.parent
        certificate, key = directory / "client-cert.pem", directory / "client-key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-out", str(certificate), "-days", "7", "-subj", "/CN=carol-bot"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
        )
        with_certificate = ("-cert", str(certificate), "-key", str(key))
        port = self.daemon.ports["lines-tls"]
        first = s_client(self, port, self.ca, *with_certificate)
        sign_up(first, "Carol")
        first.send_line("cert add")
        first.expect("is now bound to your account")
        first.send_line("quit")
        first.read_until_closed()

        again = s_client(self, port, self.ca, *with_certificate)
        seen = again.expect("Exits:")
        self.assertNotIn("Name:", seen)
        again.send_line("who")
        again.expect("Carol")
        self.assertIn("logged in as Carol by client certificate", self.daemon.output())

        # Without the certificate the same port asks for a name.
        plain = s_client(self, port, self.ca)
        plain.expect("Name: ")

    @defer.inlineCallbacks
    def test_twisted_client_verifies_host_name(self):
        trust = Certificate.loadPEM(self.ca.read_bytes())
        port = self.daemon.ports["lines-tls"]
        greeting = yield _greeting(optionsForClientTLS("localhost", trustRoot=trust), port)
        self.assertTrue(greeting.startswith(b"OK gateway "), greeting)
        with self.assertRaises(VerificationError):
            yield _greeting(optionsForClientTLS("wrong.example", trustRoot=trust), port)


class _FirstLine(protocol.Protocol):
    def __init__(self):
        self.done = defer.Deferred()
        self.data = b""

    def dataReceived(self, data):
        self.data += data
        if b"\r\n" in self.data and not self.done.called:
            self.done.callback(self.data.split(b"\r\n")[0])
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if not self.done.called:
            self.done.errback(reason)


@defer.inlineCallbacks
def _greeting(options, port):
    """
    Connect with Twisted's TLS client and return the server's first line.
    """
    endpoint = endpoints.wrapClientTLS(options, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=10))
    client = _FirstLine()
    yield endpoints.connectProtocol(endpoint, client)
    line = yield client.done.addTimeout(10, reactor)
    return line


class ReloadTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()
        self.certificate, self.key = write_pair(self.directory)
        config = self.directory / "gateway.toml"
        config.write_text(
            f"[tls]\ncertificate = {str(self.certificate)!r}\nkey = {str(self.key)!r}\n"
            f"[listeners.lines-tls]\nfrontend = 'lines'\nendpoint = {EPHEMERAL!r}\ntls = true\n"
        )
        self.daemon = Daemon(self.directory / "data", config=config)
        self.addCleanup(self.daemon.stop)

    def served(self):
        """
        Connect, verifying the current files, and return the SHA-256 of the
        served certificate and the open connection.
        """
        context = ssl.create_default_context(cafile=str(self.certificate))
        context.check_hostname = False  # the test certificate is its own CA
        raw = socket.create_connection(("127.0.0.1", self.daemon.ports["lines-tls"]), timeout=10)
        connection = context.wrap_socket(raw)
        self.addCleanup(connection.close)
        return hashlib.sha256(connection.getpeercert(binary_form=True)).hexdigest(), connection

    def test_sighup_serves_the_new_certificate_and_keeps_connections(self):
        self.daemon.start()
        before, old = self.served()
        client = LineClient(None, sock=old)
        client.expect("Name: ")

        renewed_certificate, renewed_key = write_pair(self.directory, "renewed")
        renewed_certificate.replace(self.certificate)
        renewed_key.replace(self.key)
        self.daemon.process.send_signal(signal.SIGHUP)
        after_fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(self.certificate.read_text())).hexdigest()
        wait_for(self.daemon, ":".join(after_fingerprint[i:i + 2] for i in range(0, 64, 2)).upper())
        after, _ = self.served()
        self.assertNotEqual(after, before)
        self.assertEqual(after, after_fingerprint)
        # The connection made before the reload carries on.
        client.send_line("Dora")
        client.expect("Create it? (yes/no)")

        self.key.write_text("not a key")
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(self.daemon, "TLS reload failed, still serving the previous certificate")
        self.assertIn(f"{self.key}: not an unencrypted PEM private key", self.daemon.output())
        still, _ = self.served()
        self.assertEqual(still, after)
        self.assertIsNone(self.daemon.process.poll())


class HandshakeLimitTests(TestCase):
    def test_stalled_handshakes_are_capped_and_timed_out(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(
            "[tls]\nhandshake_timeout = 3\nmax_handshakes = 1\n"
            f"[listeners.lines-tls]\nfrontend = 'lines'\nendpoint = {EPHEMERAL!r}\ntls = true\n"
        )
        daemon = Daemon(directory / "data", config=config)
        self.addCleanup(daemon.stop)
        daemon.start()
        port = daemon.ports["lines-tls"]
        stalled = LineClient(port)
        self.addCleanup(stalled.close)
        # The start of a ClientHello, never finished.  The daemon accepts
        # connections in arrival order, so the second one finds the single
        # handshake slot taken and the stalled one gives way.
        stalled.sock.sendall(b"\x16\x03\x01")
        second = LineClient(port)
        self.addCleanup(second.close)
        self.assertNotIn("Name", stalled.read_until_closed())
        wait_for(daemon, "Dropped TLS handshake from 127.0.0.1:")
        self.assertIn("the limit of 1 unfinished handshakes", daemon.output())
        self.assertNotIn("Name", second.read_until_closed())
        wait_for(daemon, "not finished in 3 seconds; closed")
        self.assertNotIn("Traceback", daemon.output())


class PluginOverTLSTests(TestCase):
    def test_websocket_plugin_over_tls(self):
        """
        A plugin frontend on a C{tls = true} listener serves over TLS
        unchanged: the WebSocket frontend (autobahn) becomes C{wss://} and
        accepts its own page's C{https://} origin.
        """
        try:
            import autobahn  # noqa: F401
        except ImportError:
            raise SkipTest("autobahn is not installed (pip install 'gateway[websocket]' or apt install python3-autobahn)")
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(f"[listeners.web]\nfrontend = 'websocket'\nendpoint = {EPHEMERAL!r}\ntls = true\n")
        daemon = Daemon(directory / "data", config=config)
        self.addCleanup(daemon.stop)
        daemon.start()
        port = daemon.ports["web"]
        context = ssl.create_default_context(cafile=str(directory / "data" / "tls-dev-ca.pem"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        client = LineClient(None, sock=context.wrap_socket(raw, server_hostname="localhost"))
        self.addCleanup(client.close)
        client.sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: https://localhost:{port}\r\n\r\n".encode()
        )
        client.expect("HTTP/1.1 101 Switching Protocols")
        client.expect("Welcome to gateway.")
        self.assertNotIn("Traceback", daemon.output())


class ConnectionLimitOverTLSTests(TestCase):
    def test_over_the_cap_is_told_over_tls(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(
            "[limits]\nmax_connections_per_address = 1\n"
            f"[listeners.lines-tls]\nfrontend = 'lines'\nendpoint = {EPHEMERAL!r}\ntls = true\n"
        )
        daemon = Daemon(directory / "data", config=config)
        self.addCleanup(daemon.stop)
        daemon.start()
        context = ssl.create_default_context(cafile=str(directory / "data" / "tls-dev-ca.pem"))

        def connect():
            raw = socket.create_connection(("127.0.0.1", daemon.ports["lines-tls"]), timeout=10)
            client = LineClient(None, sock=context.wrap_socket(raw, server_hostname="localhost"))
            self.addCleanup(client.close)
            return client

        connect().expect("Name: ")
        self.assertIn("Too many connections from your address, try again later.", connect().read_until_closed())
