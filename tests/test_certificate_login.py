"""
Binding client certificates to accounts: the checker, the store and the
C{cert} command.
"""

from twisted.cred.error import UnauthorizedLogin
from twisted.trial.unittest import TestCase

from gateway.auth.credentials import CertificateFingerprint
from gateway.auth.fingerprints import normalize_fingerprint
from gateway.interfaces import IAccount
from tests.helpers import make_core, sign_up

FINGERPRINT = ":".join(["AB"] * 32)
OTHER = ":".join(["0F"] * 32)


class FingerprintTests(TestCase):
    def test_forms_people_type(self):
        for text in (FINGERPRINT, FINGERPRINT.lower(), "ab" * 32, "SHA256 Fingerprint=" + FINGERPRINT, " " + FINGERPRINT + " "):
            self.assertEqual(normalize_fingerprint(text), FINGERPRINT, text)

    def test_not_fingerprints(self):
        for text in ("", "AB:CD", "ZZ" * 32, "AB" * 33):
            self.assertIsNone(normalize_fingerprint(text), text)


class CheckerTests(TestCase):
    def setUp(self):
        self.core = make_core()
        _, self.session = sign_up(self.core, "Alice")

    def login(self, fingerprint):
        return self.core.portal.login(CertificateFingerprint(fingerprint), None, IAccount)

    def test_bound_fingerprint_logs_in(self):
        self.successResultOf(self.core.store.bind_certificate(self.session.account.id, FINGERPRINT))
        interface, account, _ = self.successResultOf(self.login(FINGERPRINT))
        self.assertIs(interface, IAccount)
        self.assertEqual(account.name, "Alice")

    def test_unknown_fingerprint_refused(self):
        self.failureResultOf(self.login(FINGERPRINT), UnauthorizedLogin)


class CertCommandTests(TestCase):
    def setUp(self):
        self.core = make_core()
        self.transport, self.session = sign_up(self.core, "Alice")

    def run_command(self, line, certificate=""):
        self.transport.capabilities.certificate = certificate
        self.transport.clear()
        self.session.line_received(line)
        return self.transport.lines()

    def test_add_list_remove(self):
        self.assertIn(f"Certificate {FINGERPRINT} is now bound to your account", self.run_command("cert add", FINGERPRINT))
        self.assertIn("already bound to your account", self.run_command("cert add", FINGERPRINT))
        listing = self.run_command("cert list", FINGERPRINT)
        self.assertIn("1 certificate bound to your account:", listing)
        self.assertIn(f"  {FINGERPRINT}  added ", listing)
        self.assertIn("(this connection)", listing)
        self.assertNotIn("(this connection)", self.run_command("cert list"))
        self.assertEqual(
            self.run_command("cert remove " + FINGERPRINT.replace(":", "").lower()),
            f"Certificate {FINGERPRINT} no longer logs you in.",
        )
        self.assertIn("No certificates are bound", self.run_command("cert list"))

    def test_add_without_certificate(self):
        self.assertIn("This connection has no client certificate.", self.run_command("cert add"))
        self.assertEqual(self.successResultOf(self.core.store.certificates_of(self.session.account.id)), [])

    def test_certificate_of_another_account(self):
        bob_transport, bob = sign_up(self.core, "Bob")
        self.successResultOf(self.core.store.bind_certificate(bob.account.id, FINGERPRINT))
        self.assertEqual(
            self.run_command("cert add", FINGERPRINT),
            "That certificate is already bound to another account; nothing was changed.",
        )
        self.assertEqual(self.successResultOf(self.core.store.certificates_of(self.session.account.id)), [])

    def test_remove_refusals(self):
        self.assertIn("That is not a SHA-256 fingerprint", self.run_command("cert remove 1234"))
        self.assertIn("No such certificate is bound to your account", self.run_command("cert remove " + OTHER))

    def test_usage(self):
        for line in ("cert", "cert frobnicate", "cert remove", "cert list all"):
            self.assertEqual(self.run_command(line), "Usage: cert add | cert list | cert remove <fingerprint>", line)

    def test_help_lists_it(self):
        self.assertIn("cert ", self.run_command("help"))
