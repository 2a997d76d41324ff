"""
The server context's policy, checked by handshakes in memory against
OpenSSL clients that ask for what the policy forbids.
"""

from pathlib import Path

from OpenSSL import SSL, crypto
from twisted.trial.unittest import TestCase

from gateway.errors import ConfigError
from gateway.frontends.tls.keypair import use_key_pair
from gateway.frontends.tls.context import POLICY_OPTIONS, ServerTLS
from tests.certs import self_signed, write_pair, x509_of
from tests.test_tls_certificates import config_for


def handshake(server_context, client_context):
    """
    Run a handshake between two contexts through memory BIOs.

    @return: C{(server connection, client connection)} once done.
    @raise SSL.Error: when either side gives up.
    """
    server = SSL.Connection(server_context, None)
    server.set_accept_state()
    client = SSL.Connection(client_context, None)
    client.set_connect_state()
    done = {server: False, client: False}
    for _ in range(20):
        for this, other in ((client, server), (server, client)):
            if not done[this]:
                try:
                    this.do_handshake()
                    done[this] = True
                except SSL.WantReadError:
                    pass
            try:
                other.bio_write(this.bio_read(65536))
            except SSL.WantReadError:
                pass
        if all(done.values()):
            return server, client
    raise AssertionError("the handshake did not finish")


class PolicyTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()
        # An RSA certificate, the kind that could also do key exchange
        # without forward secrecy if the policy allowed it.
        certificate, key = write_pair(self.directory, rsa=True)
        self.files = {"certificate": str(certificate), "key": str(key)}
        self.tls = ServerTLS(config_for(self.directory, **self.files))

    def client(self, maximum=None, ciphers=None):
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        if maximum is not None:
            context.set_min_proto_version(0)
            context.set_max_proto_version(maximum)
        if ciphers is not None:
            context.set_cipher_list(ciphers)
        return context

    def test_options(self):
        for context in (self.tls.context(False), self.tls.context(True)):
            options = context.set_options(0)
            for option in ("OP_NO_COMPRESSION", "OP_CIPHER_SERVER_PREFERENCE", "OP_NO_RENEGOTIATION"):
                self.assertTrue(options & getattr(SSL, option), option)
            self.assertEqual(options & POLICY_OPTIONS, POLICY_OPTIONS)

    def test_tls13_by_default(self):
        server, _ = handshake(self.tls.context(False), self.client())
        self.assertEqual(server.get_protocol_version_name(), "TLSv1.3")

    def test_tls12_uses_aead_with_forward_secrecy(self):
        server, _ = handshake(self.tls.context(False), self.client(maximum=SSL.TLS1_2_VERSION))
        self.assertEqual(server.get_protocol_version_name(), "TLSv1.2")
        self.assertTrue(server.get_cipher_name().startswith("ECDHE-RSA-"), server.get_cipher_name())
        self.assertRegex(server.get_cipher_name(), "GCM|CHACHA20")

    def test_tls11_refused(self):
        client = self.client(maximum=SSL.TLS1_1_VERSION)
        client.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        self.assertRaises(SSL.Error, handshake, self.tls.context(False), client)

    def test_cipher_without_forward_secrecy_refused(self):
        client = self.client(maximum=SSL.TLS1_2_VERSION, ciphers=b"AES128-GCM-SHA256:AES256-GCM-SHA384")
        self.assertRaises(SSL.Error, handshake, self.tls.context(False), client)

    def test_cbc_cipher_refused(self):
        client = self.client(maximum=SSL.TLS1_2_VERSION, ciphers=b"ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA")
        self.assertRaises(SSL.Error, handshake, self.tls.context(False), client)

    def test_client_certificate_requested_only_when_asked(self):
        certificate, key = self_signed("bot")
        for request, expected in ((False, None), (True, x509_of(certificate).digest("sha256"))):
            client = self.client()
            use_key_pair(client, [x509_of(certificate)], crypto.load_privatekey(crypto.FILETYPE_PEM, key))
            server, _ = handshake(self.tls.context(request), client)
            peer = server.get_peer_certificate()
            self.assertEqual(peer and peer.digest("sha256"), expected)

    def test_self_signed_and_expired_client_certificates_pass_the_handshake(self):
        # Expiry is refused after the handshake, with a message the client
        # can read (see test_tls_handshake).
        certificate, key = self_signed("old", expired=True)
        client = self.client()
        use_key_pair(client, [x509_of(certificate)], crypto.load_privatekey(crypto.FILETYPE_PEM, key))
        server, _ = handshake(self.tls.context(True), client)
        self.assertTrue(server.get_peer_certificate().has_expired())

    def test_tls13_minimum(self):
        tls = ServerTLS(config_for(self.directory, min_version="TLSv1.3", **self.files))
        self.assertRaises(SSL.Error, handshake, tls.context(False), self.client(maximum=SSL.TLS1_2_VERSION))

    def test_bad_cipher_list(self):
        with self.assertRaises(ConfigError) as caught:
            ServerTLS(config_for(self.directory, ciphers="NOTHING-REAL", **self.files))
        self.assertIn("tls.ciphers 'NOTHING-REAL' selects no cipher", str(caught.exception))
