"""
SSH public keys: parsing, fingerprints, the in-game C{keys} command, the
key checker, and the server's host keys.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from twisted.conch.error import ValidPublicKey
from twisted.conch.ssh.keys import Key
from twisted.cred.credentials import SSHPrivateKey
from twisted.cred.error import UnauthorizedLogin
from twisted.trial.unittest import TestCase

from gateway.auth.sshkeys import BadPublicKey, SSHKeyChecker, fingerprint, parse_public_key
from gateway.config import build_settings
from gateway.errors import StartupError
from gateway.frontends.ssh import SSHOptions
from gateway.frontends.ssh.hostkeys import KINDS, create_host_key, host_keys, load_host_key
from gateway.frontends.ssh.server import GatewaySSHFactory
from gateway.listener import ListenerService
from tests.helpers import make_core, sign_up

ED25519_LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHiN6Oq2E8m8SIy6xS/3wD8OEvpj+6KgQ6TZD3MZpJ2T me@laptop"


def openssh_line(key, comment="me@laptop"):
    return key.public().toString("openssh").decode("ascii") + " " + comment


class ParseTests(TestCase):
    def test_parses_an_openssh_line(self):
        key = parse_public_key(ED25519_LINE)
        self.assertEqual(key.key_type, "ssh-ed25519")
        self.assertEqual(key.comment, "me@laptop")
        self.assertEqual(key.blob, Key.fromString(ED25519_LINE.encode()).blob())

    def test_bad_lines_are_refused_with_a_reason(self):
        small_rsa = Key(rsa.generate_private_key(public_exponent=65537, key_size=1024))
        ed = ED25519_LINE.split()
        for line, reason in [
            ("", "Expected a public key line"),
            ("ssh-ed25519", "Expected a public key line"),
            ("ssh-dss AAAAB3NzaC1kc3M= x", "Key type 'ssh-dss' is not accepted"),
            ('from="10.0.0.1" ' + ED25519_LINE, "is not accepted"),
            ("ssh-ed25519 not-base64!", "damaged"),
            ("ssh-ed25519 " + ed[1][:-8], "damaged"),
            ("ssh-rsa " + ed[1], "holds a ssh-ed25519 key"),
            (openssh_line(small_rsa), "1024 bits; at least 2048"),
            (ED25519_LINE + "\x1b[2J", "printable"),
        ]:
            e = self.assertRaises(BadPublicKey, parse_public_key, line)
            self.assertIn(reason, str(e), line)


class KeysCommandTests(TestCase):
    def setUp(self):
        self.core = make_core()
        self.transport, self.session = sign_up(self.core, "Alice")

    def run_command(self, line):
        self.transport.clear()
        # Commands are rate-limited (limits.commands_per_second): a second
        # passes between them, as when a player types.
        self.core.clock.advance(1)
        self.session.line_received(line)
        return self.transport.lines()

    def test_add_list_remove(self):
        self.assertIn("You have no SSH keys", self.run_command("keys"))
        fp = parse_public_key(ED25519_LINE).fingerprint
        self.assertEqual(self.run_command("keys add " + ED25519_LINE), f"Added ssh-ed25519 key {fp}.\nYou can now log in over SSH with it.")
        self.assertEqual(self.run_command("keys list"), f"Your SSH keys (1):\n  ssh-ed25519          {fp}  me@laptop")
        self.assertIn("already on your account", self.run_command("keys add " + ED25519_LINE))
        self.assertIn("You have no key SHA256:nope", self.run_command("keys remove SHA256:nope"))
        self.assertEqual(self.run_command("keys remove " + fp[len("SHA256:"):]), f"Removed the key {fp}.")
        self.assertIn("You have no SSH keys", self.run_command("keys list"))

    def test_player_text_is_shown_literally(self):
        key = Key(ed25519.Ed25519PrivateKey.generate())
        self.run_command("keys add " + openssh_line(key, "me|rred"))
        self.assertIn("me||rred", self.run_command("keys list"))
        self.assertIn("'ssh||r'", self.run_command("keys add ssh|r AAAA"))
        self.assertIn("You have no key SHA256:||r", self.run_command("keys remove SHA256:|r"))

    def test_invalid_key_changes_nothing(self):
        self.assertIn("damaged", self.run_command("keys add ssh-ed25519 AAAA"))
        self.assertIn("Nothing was added", self.transport.lines())
        self.assertIn("You have no SSH keys", self.run_command("keys list"))

    def test_usage(self):
        for line in ("keys add", "keys frob", "keys list extra", "keys remove"):
            self.assertIn("Usage: keys list", self.run_command(line), line)

    def test_number_of_keys_is_limited(self):
        limit = self.core.settings.accounts.max_ssh_keys
        for _ in range(limit):
            self.run_command("keys add " + openssh_line(Key(ed25519.Ed25519PrivateKey.generate())))
        self.assertIn(f"You already have {limit} keys", self.run_command("keys add " + ED25519_LINE))

    def test_keys_are_per_account(self):
        self.run_command("keys add " + ED25519_LINE)
        bob, bob_session = sign_up(self.core, "Bob")
        bob_session.line_received("keys list")
        self.assertIn("You have no SSH keys", bob.lines())
        bob_session.line_received("keys add " + ED25519_LINE)
        self.assertIn("Added", bob.lines())


class CheckerTests(TestCase):
    def setUp(self):
        self.core = make_core()
        self.transport, self.session = sign_up(self.core, "Alice")
        self.key = Key(ed25519.Ed25519PrivateKey.generate())
        self.session.line_received("keys add " + openssh_line(self.key))
        self.checker = SSHKeyChecker(self.core.store)

    def credentials(self, key, user=b"alice", signed=True):
        data = b"session data"
        signature = key.sign(data) if signed else None
        return SSHPrivateKey(user, b"ssh-ed25519", key.public().blob(), data if signed else None, signature)

    def test_signed_with_an_attached_key(self):
        self.assertEqual(self.successResultOf(self.checker.requestAvatarId(self.credentials(self.key))), self.session.account.id)

    def test_query_without_signature(self):
        self.failureResultOf(self.checker.requestAvatarId(self.credentials(self.key, signed=False)), ValidPublicKey)

    def test_bad_signature(self):
        other = Key(ed25519.Ed25519PrivateKey.generate())
        credentials = self.credentials(self.key)
        credentials.signature = other.sign(b"session data")
        self.failureResultOf(self.checker.requestAvatarId(credentials), UnauthorizedLogin)

    def test_unknown_key_and_unknown_user(self):
        other = Key(ed25519.Ed25519PrivateKey.generate())
        self.failureResultOf(self.checker.requestAvatarId(self.credentials(other)), UnauthorizedLogin)
        self.failureResultOf(self.checker.requestAvatarId(self.credentials(self.key, user=b"bob")), UnauthorizedLogin)


ED25519 = KINDS[0]


class HostKeyTests(TestCase):
    def setUp(self):
        self.dir = Path(self.mktemp())
        self.dir.mkdir()

    def test_created_owner_only_and_reused(self):
        path = str(self.dir / "k")
        keys = host_keys({ED25519: self.dir / "k"})
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        again = host_keys({ED25519: self.dir / "k"})
        self.assertEqual(keys[b"ssh-ed25519"].public().blob(), again[b"ssh-ed25519"].public().blob())

    def test_fingerprints_are_logged(self):
        from twisted.logger import globalLogPublisher

        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        keys = host_keys({ED25519: self.dir / "k"})
        expected = fingerprint(keys[b"ssh-ed25519"].public().blob())
        self.assertIn(expected, [e.get("fingerprint") for e in events])
        self.assertTrue(expected.startswith("SHA256:"))

    def test_all_three_kinds(self):
        keys = host_keys({kind: self.dir / kind.file_name for kind in KINDS})
        self.assertEqual(sorted(keys), [b"ecdsa-sha2-nistp256", b"ssh-ed25519", b"ssh-rsa"])
        self.assertEqual(keys[b"ssh-rsa"].size(), 3072)

    def bad(self, content, kind=ED25519, mode=0o600):
        path = self.dir / "bad"
        path.write_bytes(content)
        path.chmod(mode)
        return str(self.assertRaises(StartupError, load_host_key, path, kind))

    def test_bad_files_name_themselves(self):
        path = self.dir / "bad"
        self.assertIn(f"{path}: not a valid SSH private key", self.bad(b"garbage"))
        public = Key(ed25519.Ed25519PrivateKey.generate()).public().toString("openssh")
        self.assertIn(f"{path}: holds a public key", self.bad(public))
        self.assertIn(f"{path}: the SSH host key is readable by other users", self.bad(b"x", mode=0o644))
        create_host_key(self.dir / "ed", ED25519)
        self.assertIn("holds a ssh-ed25519 key, but host_key_rsa must be ssh-rsa", self.bad((self.dir / "ed").read_bytes(), KINDS[2]))
        missing = self.dir / "missing"
        self.assertIn(f"{missing}: cannot read the SSH host key", str(self.assertRaises(StartupError, load_host_key, missing, ED25519)))

    def test_uncreatable_file_names_itself(self):
        (self.dir / "file").write_bytes(b"")
        path = self.dir / "file" / "k"
        e = self.assertRaises(StartupError, host_keys, {ED25519: path})
        self.assertIn(f"{path}: cannot create the SSH host key", str(e))


class HostKeyReloadTests(TestCase):
    """
    An SSH listener follows a reload by reading its host keys again.
    """

    def setUp(self):
        directory = Path(self.mktemp())
        directory.mkdir()
        self.path = directory / "ssh_host_ed25519_key"
        self.paths = {ED25519: self.path}
        self.core = make_core()
        self.factory = GatewaySSHFactory(
            self.core, self.core.portal, build_settings(SSHOptions, {}, "options"), host_keys(self.paths),
            self.core.clock, "", host_key_paths=self.paths,
        )
        self.listener = ListenerService("ssh", "tcp:0", None, object(), self.factory)

    def served(self):
        return self.factory.publicKeys[b"ssh-ed25519"].blob()

    def test_replaced_key_served_after_a_reload(self):
        before = self.served()
        self.path.unlink()
        create_host_key(self.path, ED25519)
        self.assertEqual(self.served(), before)
        self.assertTrue(self.listener.reconfigService(self.core.settings))
        self.assertNotEqual(self.served(), before)
        self.assertEqual(self.served(), load_host_key(self.path, ED25519).public().blob())

    def test_unusable_key_keeps_the_old_one(self):
        before = self.served()
        self.path.chmod(0o644)
        self.assertFalse(self.listener.reconfigService(self.core.settings))
        self.assertEqual(self.served(), before)
