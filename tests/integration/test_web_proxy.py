"""
The web client behind a real HAProxy in HTTP mode that terminates TLS
(C{mode http}, C{option forwardfor}, C{X-Forwarded-Proto: https}), as
docs/tls.md sets it up, in front of a plain web listener whose
C{options.trusted_proxies} names it; autobahn's client speaks C{wss://} to
HAProxy.

Clients connect from other loopback addresses (127.0.0.2, 127.0.0.4) than
HAProxy's own (127.0.0.1), so the address the gateway sees tells the
client's from the proxy's.  A second HAProxy frontend sends from
127.0.0.3, which the listener does not trust.  Skipped with a reason when
HAProxy or autobahn is missing.
"""

import json
import textwrap
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.trial.unittest import TestCase

from tests.certs import self_signed
from tests.daemon import Daemon
from tests.integration.test_haproxy import HAProxy, missing
from tests.integration.test_tls_integration import wait_for
from tests.test_websocket import NEEDS_AUTOBAHN, autobahn

if autobahn:
    from autobahn.twisted.websocket import WebSocketClientFactory

    from tests.integration.test_websocket_daemon import WAIT, RecordingClient, refused


class BehindHTTPProxyTests(TestCase):
    skip = missing() or (None if autobahn else NEEDS_AUTOBAHN)

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(textwrap.dedent("""
            [limits]
            max_connections_per_address = 2

            [listeners.web]
            frontend = "websocket"
            endpoint = "tcp:0:interface=127.0.0.1"

            [listeners.web.options]
            trusted_proxies = ["127.0.0.1"]
        """))
        self.daemon = Daemon(directory / "var", config=config)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=1)
        certificate, key = self_signed("localhost")
        self.certificate = certificate
        pem = directory / "proxy.pem"
        pem.write_bytes(certificate + key)
        web = ("127.0.0.1", self.daemon.ports["web"])
        self.haproxy = HAProxy(
            directory / "haproxy", {"web": (web, ""), "untrusted": (web, "source 127.0.0.3")},
            https={"web": pem, "untrusted": pem},
        )
        self.addCleanup(self.haproxy.stop)
        self.haproxy.start()

    @inlineCallbacks
    def client(self, source="127.0.0.2", frontend="web", origin="same", headers=None):
        """
        Open a socket through HAProxy's C{frontend} from C{source} to
        C{wss://localhost:PORT/ws}; closed after the test.

        @param origin: the C{Origin} header (C{"same"}: the page's own,
            C{https://localhost:PORT}).
        """
        port = self.haproxy.ports[frontend]
        if origin == "same":
            origin = f"https://localhost:{port}"
        factory = WebSocketClientFactory(
            f"wss://localhost:{port}/ws", origin=origin, protocols=["gateway.json"], headers=headers or {}
        )
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        client = RecordingClient()
        factory.protocol = lambda: client
        self.addCleanup(self._close, client)
        tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=WAIT, bindAddress=(source, 0))
        trust = Certificate.loadPEM(self.certificate)
        yield wrapClientTLS(optionsForClientTLS("localhost", trustRoot=trust), tcp).connect(factory)
        yield client.opened.addTimeout(WAIT, reactor)
        return client

    @inlineCallbacks
    def _close(self, client):
        if client.transport is not None and not client.closed.called:
            client.transport.abortConnection()
            yield client.closed

    @inlineCallbacks
    def sign_up(self, client, name):
        """
        Create the account C{name}.
        """
        yield client.expect('"prompt","text":"Name: "')
        for line, reply in ((name, "Create it?"), ("yes", "Choose a password"), ("secret1", "Repeat")):
            client.line(line)
            yield client.expect(reply)
        client.line("secret1")
        yield client.expect('{"type":"echo","on":true}')

    @inlineCallbacks
    def test_client_address_and_resume(self):
        """
        A player at 127.0.0.2 on the page's own https origin is logged with
        that address (a spoofed C{X-Forwarded-For} it sends is left of
        HAProxy's and not read), gets a resume token, and resumes with
        it from 127.0.0.4 after its connection was cut.
        """
        client = yield self.client(headers={"X-Forwarded-For": "198.51.100.9, not an address"})
        yield self.sign_up(client, "Wendy")
        resume = yield client.expect('"type":"resume"')
        wait_for(self.daemon, "Account Wendy created from 127.0.0.2")
        self.assertNotIn("198.51.100.9", self.daemon.output())
        self.assertNotIn("Ignored a forwarding header", self.daemon.output())
        client.transport.abortConnection()
        yield client.closed.addTimeout(WAIT, reactor)
        again = yield self.client(source="127.0.0.4")
        yield again.expect('"prompt","text":"Name: "')
        again.sendMessage(json.dumps({"type": "resume", "name": "Wendy", "token": json.loads(resume)["token"]}).encode("utf-8"))
        yield again.expect("Welcome back")

    @inlineCallbacks
    def test_per_address_cap_counts_the_client(self):
        """
        C{limits.max_connections_per_address} (2 here) counts each
        client's address, although every connection comes from HAProxy:
        a third socket from 127.0.0.2 is refused (503), one from 127.0.0.4
        is served.
        """
        for _ in range(2):
            client = yield self.client()
            yield client.expect("Name: ")
        why = yield refused(self)
        self.assertIn("503", why)
        client = yield self.client(source="127.0.0.4")
        yield client.expect("Name: ")
        wait_for(self.daemon, "Listener web refused 127.0.0.2, relayed by 127.0.0.1:")

    @inlineCallbacks
    def test_untrusted_proxy_ignored(self):
        """
        Through a HAProxy at 127.0.0.3, which the listener does not trust,
        the forwarding headers count for nothing: the https page is not
        the plain connection's own origin, and a client without an origin
        is the proxy's address.
        """
        why = yield refused(self, frontend="untrusted")
        self.assertIn("403", why)
        client = yield self.client(frontend="untrusted", origin=None)
        yield self.sign_up(client, "Uma")
        yield client.expect("Exits:")
        self.assertNotIn('"type":"resume"', "".join(client.history))
        wait_for(self.daemon, "Account Uma created from 127.0.0.3:")
        self.assertNotIn("127.0.0.2", self.daemon.output())

