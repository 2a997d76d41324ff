"""
The netkit `telnet` client, driven through a pseudo-terminal, against the
real daemon: what the player's screen shows, including that passwords are
not echoed.
"""

import os
import shutil

from twisted.trial.unittest import SkipTest, TestCase

from tests.daemon import ROOT, Daemon, LineClient, sign_up

try:
    import pexpect
except ImportError:
    pexpect = None


class RealTelnetTests(TestCase):
    def setUp(self):
        if pexpect is None:
            raise SkipTest("pexpect is not installed (pip install gateway[test])")
        if shutil.which("telnet") is None:
            raise SkipTest("the telnet client is not installed (apt-get install telnet)")
        self.daemon = Daemon(self.mktemp(), config=ROOT / "etc" / "gateway.toml", listen=["telnet=tcp:0:interface=127.0.0.1", "ssh=off"])
        self.addCleanup(self.daemon.stop)
        self.daemon.start()

    def test_sign_up_hides_password_and_chats(self):
        port = self.daemon.ports["telnet"]
        # A dumb terminal: the telnet program answers every option offer,
        # and neither negotiation bytes nor colour may show on its screen.
        child = pexpect.spawn("telnet", ["127.0.0.1", str(port)], timeout=15, encoding="utf-8",
                              env=dict(os.environ, TERM="dumb"))
        self.addCleanup(child.close, force=True)
        child.expect("Name: ")
        child.sendline("Alice")
        child.expect(r"Create it\? \(yes/no\) ")
        child.sendline("yes")
        child.expect("characters\\): ")
        child.sendline("Sw0rdfish")
        child.expect("Repeat the password: ")
        child.sendline("Sw0rdfish")
        child.expect("Exits: north, east, south, west\r\n")
        self.assertNotIn("Sw0rdfish", child.before)
        for garbage in ("\x1b", "\xff", "\ufffd", "|"):
            self.assertNotIn(garbage, child.before)

        bob = LineClient(port)
        self.addCleanup(bob.close)
        sign_up(bob, "Bob")
        child.expect("Bob has arrived.")
        child.sendline("say hi bob")
        bob.expect('Alice says, "hi bob"')
        bob.send_line("say hi alice")
        child.expect('Bob says, "hi alice"')
        child.sendline("quit")
        child.expect("Goodbye.")
        child.expect(pexpect.EOF)
