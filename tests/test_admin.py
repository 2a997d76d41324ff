"""
gateway-admin against a real data directory.
"""

import io
import sys
from pathlib import Path

import argon2
from twisted.trial.unittest import SynchronousTestCase

from gateway import admin
from gateway.admin import main
from gateway.auth.hashing import PasswordHasher
from gateway.service import DATABASE_NAME
from gateway.store import accounts
from gateway.store.schema import open_database
from tests.helpers import fast_hasher

#: The hasher C{gateway-admin} uses (each test but one replaces it).
ADMIN_HASHER = admin._synchronous_hasher


class AdminTests(SynchronousTestCase):
    def setUp(self):
        self.data = Path(self.mktemp())
        # Cheap hashes: what is checked here is the accounts, not the cost.
        self.patch(admin, "_synchronous_hasher", lambda: fast_hasher(lambda f, *args: f(*args)))

    def run_admin(self, *args, stdin=""):
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdin", io.StringIO(stdin))
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        status = main(["--data-dir", str(self.data)] + list(args))
        return status, out.getvalue(), err.getvalue()

    def record(self, name):
        connection = open_database(self.data / DATABASE_NAME)
        try:
            return accounts.find_by_name(connection.cursor(), name)
        finally:
            connection.close()

    def verify(self, name, password):
        matches, _ = PasswordHasher(lambda f, *a: f(*a))._verify(self.record(name).password_hash, password)
        return matches

    def test_create_list_set_password_delete(self):
        status, out, _ = self.run_admin("create-account", "Root", "--admin", "--password-stdin", stdin="hunter22\n")
        self.assertEqual((status, out), (0, "created admin account Root\n"))
        self.assertEqual(self.record("root").role, "admin")
        self.assertTrue(self.verify("Root", "hunter22"))

        status, out, _ = self.run_admin("list-accounts")
        self.assertEqual(status, 0)
        self.assertIn("Root", out)
        self.assertIn("admin", out)
        self.assertIn("never", out)

        status, out, _ = self.run_admin("set-password", "root", "--password-stdin", stdin="changed1\n")
        self.assertEqual((status, out), (0, "password of Root changed\n"))
        self.assertTrue(self.verify("Root", "changed1"))

        status, out, _ = self.run_admin("delete-account", "ROOT")
        self.assertEqual(status, 0)
        self.assertIsNone(self.record("Root"))

    def test_hashes_like_the_server(self):
        """
        C{gateway-admin} hashes with the parameters the server hashes with
        (Argon2's defaults), so the server never rehashes a password it set.
        """
        encoded = ADMIN_HASHER().hash("hunter22")
        self.assertFalse(argon2.PasswordHasher().check_needs_rehash(encoded))
        self.assertTrue(argon2.PasswordHasher().verify(encoded, "hunter22"))

    def test_errors(self):
        self.run_admin("create-account", "Root", "--password-stdin", stdin="hunter22\n")
        for args, stdin, message in [
            (("create-account", "root", "--password-stdin"), "hunter22\n", "an account called 'root' already exists"),
            (("create-account", "9lives", "--password-stdin"), "hunter22\n", "invalid name '9lives'"),
            (("create-account", "Shorty", "--password-stdin"), "abc\n", "the password is shorter than accounts.password_min_length (6)"),
            (("set-password", "nobody", "--password-stdin"), "hunter22\n", "no account called 'nobody'"),
            (("delete-account", "nobody"), "", "no account called 'nobody'"),
        ]:
            status, out, err = self.run_admin(*args, stdin=stdin)
            self.assertEqual(status, 1, args)
            self.assertIn(f"gateway-admin: {message}", err)
        self.assertEqual(self.record("Root").role, "player")

    def test_bad_config_reported(self):
        status, _, err = self.run_admin("--config", "/nonexistent.toml", "list-accounts")
        self.assertEqual(status, 1)
        self.assertIn("gateway-admin: /nonexistent.toml: cannot read configuration", err)

    def test_interactive_password_must_match(self):
        answers = iter(["secret11", "secret12"])
        import getpass

        self.patch(getpass, "getpass", lambda prompt: next(answers))
        status, _, err = self.run_admin("create-account", "Alice")
        self.assertEqual(status, 1)
        self.assertIn("the passwords do not match", err)
        self.assertIsNone(self.record("Alice"))
