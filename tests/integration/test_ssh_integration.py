"""
The SSH listener of the real daemon with the real OpenSSH client: password
login through sshpass, key login with a generated key file, an interactive
session driven by pexpect next to a telnet player, exec exit statuses, and
ssh-audit.  Skipped with a reason when a tool is missing.
"""

import subprocess
from pathlib import Path
from shutil import which

from twisted.trial.unittest import SkipTest, TestCase

from tests.daemon import ROOT, Daemon, LineClient, run_daemon_to_exit, sign_up
from tests.helpers import prepared_host_keys

EPHEMERAL = "tcp:0:interface=127.0.0.1"
SSH_OPTIONS = [
    "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
]

def need(*tools):
    for tool in tools:
        if not which(tool):
            raise SkipTest(f"{tool} is not installed (apt-get install openssh-client sshpass ssh-audit)")


class SSHDaemonTests(TestCase):
    def setUp(self):
        need("ssh", "ssh-keygen")
        data = Path(self.mktemp()).resolve()
        prepared_host_keys(data)
        self.daemon = Daemon(
            data, config=ROOT / "etc" / "gateway.toml", listen=[f"telnet={EPHEMERAL}", f"ssh={EPHEMERAL}"],
            extra_args=["--debug-log"],  # window sizes show in debug events
        )
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)
        self.port = str(self.daemon.ports["ssh"])

    def telnet(self, name):
        client = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(client.close)
        sign_up(client, name)
        return client

    def ssh(self, user, *command, password=None, key=None, timeout=30):
        args = ["ssh"] + SSH_OPTIONS + ["-p", self.port]
        if key:
            args += ["-i", key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
        else:
            args += ["-o", "PubkeyAuthentication=no"]
        args += [f"{user}@127.0.0.1"] + list(command)
        if password is not None:
            args = ["sshpass", "-p", password] + args
        return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    def user_key(self, client):
        key = str(Path(self.mktemp()).resolve())
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@laptop", "-f", key], check=True, timeout=30)
        client.send_line("keys add " + Path(key + ".pub").read_text().strip())
        client.expect("You can now log in over SSH with it.")
        return key

    def test_password_login_runs_a_command(self):
        need("sshpass")
        self.telnet("Alice")
        done = self.ssh("alice", "who", password="secret1")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Alice", done.stdout)
        self.assertIn("telnet", done.stdout)
        wrong = self.ssh("alice", "who", password="wrong-password")
        unknown = self.ssh("nobody", "who", password="wrong-password")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertEqual((wrong.returncode, wrong.stdout), (unknown.returncode, unknown.stdout))

    def test_key_login_exec_statuses(self):
        alice = self.telnet("Alice")
        bob = self.telnet("Bob")
        key = self.user_key(alice)
        said = self.ssh("alice", "say", "hello from ssh", key=key)
        self.assertEqual(said.returncode, 0, said.stderr)
        bob.expect('Alice says, "hello from ssh"')
        failed = self.ssh("alice", "frobnicate", key=key)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("Unknown command 'frobnicate'", failed.stdout)
        refused = self.ssh("bob", "who", key=key)
        self.assertEqual(refused.returncode, 255)
        self.assertIn("Permission denied", refused.stderr)

    def test_interactive_session(self):
        try:
            import pexpect
        except ImportError:
            raise SkipTest("pexpect is not installed")
        alice = self.telnet("Alice")
        key = self.user_key(alice)
        alice.send_line("quit")
        alice.read_until_closed()
        bob = self.telnet("Bob")
        args = SSH_OPTIONS + ["-p", self.port, "-i", key, "-o", "BatchMode=yes", "-t", "alice@127.0.0.1"]
        child = pexpect.spawn("ssh", args, dimensions=(24, 100), timeout=15)
        self.addCleanup(child.close, force=True)
        # The description is folded once, to the window's 100 columns.
        child.expect("A wide square of worn flagstones, open to the sky. A dry fountain stands in the middle, its basin\r\n")
        child.expect("Exits:")
        bob.expect("Alice has arrived.")
        child.send("say hello\r")
        bob.expect('Alice says, "hello"')
        # Bob talks while Alice has half a line typed: her line comes back
        # under his words.
        child.send("lo")
        child.expect("lo")
        bob.send_line("say interrupting")
        child.expect('Bob says, "interrupting"\r\n')
        child.expect("lo")
        child.send("ok\r")
        child.expect("Here: Bob")
        # A narrower window: the room's text is folded to it, continuation
        # lines indented.
        child.setwinsize(30, 40)
        child.send("look\r")
        child.expect(
            "A wide square of worn flagstones, open\r\n  to the sky. A dry fountain stands in\r\n"
            "  the middle, its basin full of coins\r\n"
        )
        self.assertIn("width=40, height=30", self.daemon.output())
        child.send("password\r")
        child.expect("Current password: ")
        child.send("secret1\r")
        child.expect(r"New password \(at least 6 characters\): ")
        child.send("\x03")
        child.expect(r"\^C")
        child.send("\x04")
        child.expect(pexpect.EOF)
        child.close()
        self.assertEqual(child.exitstatus, 0)
        bob.expect("Alice has left.")
        self.assertNotIn(b"secret1", child.before or b"")

    def test_ssh_audit_finds_no_failures(self):
        need("ssh-audit")
        audit = subprocess.run(
            ["ssh-audit", "-n", "-p", self.port, "127.0.0.1"], capture_output=True, text=True, timeout=60
        )
        self.assertIn("(gen) banner: SSH-2.0-gateway", audit.stdout)
        self.assertIn("curve25519-sha256", audit.stdout)
        self.assertNotIn("[fail]", audit.stdout)


class SSHStartupTests(TestCase):
    def test_bad_host_key_stops_start_up(self):
        data = Path(self.mktemp()).resolve()
        prepared_host_keys(data)
        bad = data / "ssh_host_ed25519_key"
        bad.write_text("not a key\n")
        status, output = run_daemon_to_exit(
            ["--config", str(ROOT / "etc" / "gateway.toml"), "--data-dir", str(data), "--listen", f"telnet={EPHEMERAL}", "--listen", f"ssh={EPHEMERAL}"]
        )
        self.assertEqual(status, 1, output)
        self.assertIn(f"gateway: listeners.ssh (frontend 'ssh'): {bad}: not a valid SSH private key", output)
        self.assertNotIn("Traceback", output)


class GuessLimitTests(TestCase):
    """
    A raw SSH client (paramiko's L{Transport}, which requests the
    C{ssh-userauth} service again before every authentication call) cannot
    get more than C{max_auth_attempts} password guesses on one connection.
    """

    def setUp(self):
        try:
            import paramiko
        except ImportError:
            raise SkipTest("paramiko is not installed (apt-get install python3-paramiko)")
        self.paramiko = paramiko
        data = Path(self.mktemp()).resolve()
        prepared_host_keys(data)
        config = Path(self.mktemp() + ".toml").resolve()
        # Short throttle delays: the guesses go through the login guard
        # without making the test wait for minutes.
        config.write_text(
            f'[listeners.telnet]\nfrontend = "telnet"\nendpoint = "{EPHEMERAL}"\n\n'
            f'[listeners.ssh]\nfrontend = "ssh"\nendpoint = "{EPHEMERAL}"\n\n'
            "[limits]\nlogin_failure_delay = 0.01\nlogin_failure_max_delay = 0.05\n"
        )
        self.daemon = Daemon(data, config=config)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=2)
        client = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(client.close)
        sign_up(client, "Alice")
        client.send_line("quit")
        client.read_until_closed()

    def test_re_requested_userauth_is_cut_after_max_auth_attempts(self):
        paramiko = self.paramiko
        transport = paramiko.Transport(("127.0.0.1", self.daemon.ports["ssh"]))
        self.addCleanup(transport.close)
        transport.start_client(timeout=15)
        guesses = ["wrong-%d" % n for n in range(12)] + ["secret1"]
        tried = 0
        for guess in guesses:
            if not transport.is_active():
                break
            tried += 1
            try:
                transport.auth_password("alice", guess)
            except paramiko.AuthenticationException:
                continue
            except (paramiko.SSHException, EOFError, OSError):
                break
        # Six attempts in all (the defaults' max_auth_attempts); the sixth
        # failure closed the connection and the right password never came.
        self.assertEqual(tried, 6)
        self.assertFalse(transport.is_authenticated())
        transport.join(15)
        self.assertFalse(transport.is_active())
