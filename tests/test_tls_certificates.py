"""
Loading, checking and generating the served certificate, and reloading it.
"""

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from gateway.config import load_config
from gateway.errors import StartupError
from gateway.frontends.tls.keypair import (
    DEVELOPMENT_CA, DEVELOPMENT_CERTIFICATE, DEVELOPMENT_KEY, generate_development_certificate, load_key_pair,
)
from gateway.frontends.tls.context import ServerTLS
from tests.certs import common_name, self_signed, write_pair, x509_of


def config_for(data_dir, **tls):
    """
    A configuration using C{data_dir} with the given C{[tls]} keys.
    """
    path = Path(data_dir) / "gateway.toml"
    lines = ["[server]", f"data_dir = {str(data_dir)!r}", 'host_name = "mud.example"', "[tls]"]
    lines += [f"{key} = {value!r}" for key, value in tls.items()]
    path.write_text("\n".join(lines) + "\n")
    return load_config(path)


def captured_log(test):
    """
    Collect the formatted log messages emitted during C{test}.
    """
    from twisted.logger import formatEvent

    messages = []

    def observer(event):
        messages.append(formatEvent(event))

    globalLogPublisher.addObserver(observer)
    test.addCleanup(globalLogPublisher.removeObserver, observer)
    return messages


class LoadKeyPairTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()
        self.certificate, self.key = write_pair(self.directory)

    def test_valid_pair(self):
        pair = load_key_pair(self.certificate, self.key)
        self.assertEqual(pair.fingerprint, x509_of(self.certificate.read_bytes()).digest("sha256").decode())
        self.assertEqual(len(pair.chain), 1)

    def test_chain_is_kept_in_order(self):
        other, _ = self_signed("intermediate")
        self.certificate.write_bytes(self.certificate.read_bytes() + other)
        pair = load_key_pair(self.certificate, self.key)
        self.assertEqual([common_name(c) for c in pair.chain], ["server", "intermediate"])

    def assertRefused(self, fragment, certificate=None, key=None):
        with self.assertRaises(StartupError) as caught:
            load_key_pair(certificate or self.certificate, key or self.key)
        self.assertIn(fragment, str(caught.exception))
        return str(caught.exception)

    def test_missing_certificate(self):
        missing = self.directory / "nope.pem"
        message = self.assertRefused("cannot read the TLS certificate: No such file or directory", certificate=missing)
        self.assertTrue(message.startswith(str(missing)))

    def test_unreadable_key(self):
        message = self.assertRefused("cannot read the TLS key: Is a directory", key=self.directory)
        self.assertTrue(message.startswith(str(self.directory)))

    def test_not_pem(self):
        self.certificate.write_text("hello\n")
        self.assertRefused(f"{self.certificate}: no PEM certificate found")

    def test_damaged_pem(self):
        self.certificate.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        self.assertRefused(f"{self.certificate}: not a valid PEM certificate")

    def test_key_not_pem(self):
        self.key.write_text("garbage")
        self.assertRefused(f"{self.key}: not an unencrypted PEM private key")

    def test_mismatched_key(self):
        _, other_key = write_pair(self.directory, "other")
        self.assertRefused(f"{other_key}: this key does not belong to the certificate in {self.certificate}", key=other_key)

    def test_expired(self):
        certificate, key = write_pair(self.directory, "old", expired=True)
        self.assertRefused(f"{certificate}: the certificate expired on ", certificate=certificate, key=key)


class DevelopmentCertificateTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()

    def test_generated_files(self):
        certificate, key, ca = generate_development_certificate(self.directory, "mud.example")
        self.assertEqual(stat.S_IMODE(key.stat().st_mode), 0o600)
        pair = load_key_pair(certificate, key)
        parsed = pair.chain[0].to_cryptography()
        self.assertEqual(parsed.public_key().curve.name, "secp256r1")
        self.assertEqual(parsed.signature_hash_algorithm.name, "sha256")
        names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(names.get_values_for_type(x509.DNSName), ["localhost", "mud.example"])
        self.assertEqual([str(a) for a in names.get_values_for_type(x509.IPAddress)], ["127.0.0.1", "::1"])
        authority = x509.load_pem_x509_certificate(ca.read_bytes())
        self.assertEqual(parsed.issuer, authority.subject)
        authority.public_key().verify(parsed.signature, parsed.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))

    def test_server_generates_once_and_logs_fingerprint(self):
        messages = captured_log(self)
        config = config_for(self.directory)
        tls = ServerTLS(config)
        self.assertEqual(tls.ca_path, config.data_dir / DEVELOPMENT_CA)
        self.assertTrue(any(tls.pair.fingerprint in m and "SHA-256" in m for m in messages), messages)
        self.assertEqual(ServerTLS(config).pair.fingerprint, tls.pair.fingerprint)

    def test_new_host_name_regenerates(self):
        first = ServerTLS(config_for(self.directory)).pair.fingerprint
        (self.directory / "gateway.toml").write_text(
            f"[server]\ndata_dir = {str(self.directory)!r}\nhost_name = 'other.example'\n"
        )
        second = ServerTLS(load_config(self.directory / "gateway.toml"))
        self.assertNotEqual(second.pair.fingerprint, first)
        self.assertEqual(common_name(second.pair.chain[0]), "other.example")


class ReloadTests(TestCase):
    def setUp(self):
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir()
        self.certificate, self.key = write_pair(self.directory)
        self.tls = ServerTLS(config_for(self.directory, certificate=str(self.certificate), key=str(self.key)))

    def test_configured_files_are_served(self):
        self.assertIsNone(self.tls.ca_path)
        self.assertEqual(self.tls.pair.fingerprint, x509_of(self.certificate.read_bytes()).digest("sha256").decode())
        self.assertFalse((self.directory / DEVELOPMENT_CERTIFICATE).exists())
        self.assertFalse((self.directory / DEVELOPMENT_KEY).exists())

    def test_reload_serves_new_certificate(self):
        old_context = self.tls.context(False)
        certificate, key = self_signed("renewed")
        self.certificate.write_bytes(certificate)
        self.key.write_bytes(key)
        self.assertTrue(self.tls.reload())
        self.assertEqual(common_name(self.tls.pair.chain[0]), "renewed")
        self.assertIsNot(self.tls.context(False), old_context)
        self.assertIsNot(self.tls.context(True), old_context)

    def test_failed_reload_keeps_old_certificate(self):
        messages = captured_log(self)
        before, context = self.tls.pair, self.tls.context(True)
        certificate, _ = self_signed("renewed")
        self.certificate.write_bytes(certificate)  # the old key no longer matches
        self.assertFalse(self.tls.reload())
        self.assertIs(self.tls.pair, before)
        self.assertIs(self.tls.context(True), context)
        self.assertTrue(
            any("TLS reload failed, still serving the previous certificate" in m and "does not belong" in m for m in messages),
            messages,
        )


class UnwritableDataDirectoryTests(TestCase):
    def test_generation_failure_names_the_directory(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = config_for(directory)
        directory.rename(directory.with_name("moved"))
        with self.assertRaises(StartupError) as caught:
            ServerTLS(config)
        self.assertIn("cannot write the development TLS certificate: No such file or directory", str(caught.exception))
        self.assertIn(str(directory), str(caught.exception))
