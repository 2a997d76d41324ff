"""
Fingerprints of SSH public keys match what OpenSSH's C{ssh-keygen} shows.
"""

import subprocess

from twisted.trial.unittest import TestCase

from gateway.auth.sshkeys import parse_public_key
from tests.integration.test_ssh_integration import need
from tests.test_ssh_keys import ED25519_LINE


class FingerprintTests(TestCase):
    def test_fingerprint_matches_ssh_keygen(self):
        need("ssh-keygen")
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(ED25519_LINE + "\n")
        out = subprocess.run(["ssh-keygen", "-lf", path], capture_output=True, text=True, check=True).stdout
        self.assertEqual(out.split()[1], parse_public_key(ED25519_LINE).fingerprint)
