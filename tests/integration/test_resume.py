"""
Lingering sessions with real clients: an OpenSSH client killed and the
player back over telnet; the web client in headless Chromium whose socket
the test cuts, resuming by itself.
"""

import subprocess
import textwrap
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.daemon import Daemon, LineClient, sign_up
from tests.integration.relay import LoopbackRelay
from tests.integration.test_browser import WAIT, _missing, start_chromium
from tests.integration.test_ssh_integration import EPHEMERAL, SSH_OPTIONS, need, prepared_host_keys

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    pass


def daemon_with(case, data, listeners):
    """
    Start a daemon with one listener per name in C{listeners} (name to
    frontend), each on a free loopback port; stopped when C{case} ends.
    """
    config = data.parent / "gateway.toml"
    config.write_text("".join(
        f'[listeners.{name}]\nfrontend = "{frontend}"\nendpoint = "{EPHEMERAL}"\n'
        for name, frontend in listeners.items()
    ))
    daemon = Daemon(data, config=config, exclusive=False)
    case.addCleanup(daemon.stop)
    daemon.start(expect=len(listeners))
    return daemon


def telnet(case, daemon):
    client = LineClient(daemon.ports["telnet"])
    case.addCleanup(client.close)
    return client


class SSHKilledTests(TestCase):
    def test_ssh_client_killed_then_telnet_resumes(self):
        need("ssh", "ssh-keygen")
        data = Path(self.mktemp()).resolve() / "var"
        prepared_host_keys(data)
        daemon = daemon_with(self, data, {"telnet": "telnet", "ssh": "ssh"})
        alice = telnet(self, daemon)
        sign_up(alice, "Alice")
        key = str(data.parent / "alice-key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True, timeout=30)
        alice.send_line("keys add " + Path(key + ".pub").read_text().strip())
        alice.expect("You can now log in over SSH with it.")
        alice.send_line("quit")
        alice.read_until_closed()
        bob = telnet(self, daemon)
        sign_up(bob, "Bob")

        ssh = subprocess.Popen(
            ["ssh"] + SSH_OPTIONS + ["-p", str(daemon.ports["ssh"]), "-i", key, "-o", "BatchMode=yes", "-tt",
                                     "alice@127.0.0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: ssh.poll() is None and ssh.kill())
        bob.expect("Alice has arrived.", timeout=30)
        ssh.kill()
        ssh.wait(timeout=10)
        bob.send_line("who")
        listing = bob.expect("lingering")
        self.assertRegex(listing, r"Alice\s+-\s+lingering")
        bob.send_line("say you missed this")
        bob.expect('You say, "you missed this"')

        back = telnet(self, daemon)
        back.expect("Name: ")
        back.send_line("Alice")
        back.expect("Password: ")
        back.send_line("secret1")
        back.send_line("say back again")
        seen = back.expect('You say, "back again"')
        self.assertIn("Welcome back. You were away", seen)
        self.assertIn('Bob says, "you missed this"', seen)
        heard = bob.expect('Alice says, "back again"')
        self.assertNotIn("has left", heard)
        self.assertNotIn("has arrived", heard)


class BrowserResumeTests(TestCase):
    skip = _missing()

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        self.daemon = daemon_with(self, directory / "var", {"telnet": "telnet", "web": "websocket"})
        self.proxy = LoopbackRelay(self.daemon.ports["web"])
        self.addCleanup(self.proxy.close)
        self.browser = start_chromium(self, directory)

    def wait_for(self, condition, what):
        WebDriverWait(self.browser, WAIT).until(lambda _: condition(), what)

    def test_cut_socket_resumes_by_itself(self):
        self.browser.get(f"http://127.0.0.1:{self.proxy.port}/")
        output = self.browser.find_element(By.ID, "output")
        prompt = self.browser.find_element(By.ID, "prompt")
        field = self.browser.find_element(By.ID, "input")
        self.wait_for(lambda: prompt.text.strip() == "Name:", "no name prompt")
        for line, next_prompt in (("Rita", "Create it?"), ("yes", "Choose"), ("secret1", "Repeat"), ("secret1", "")):
            field.send_keys(line + Keys.ENTER)
            self.wait_for(lambda: next_prompt in prompt.text, f"no prompt {next_prompt!r}")
        self.wait_for(lambda: "Exits:" in output.text, "the page did not log in")
        tim = telnet(self, self.daemon)
        sign_up(tim, "Tim")
        self.wait_for(lambda: "Tim has arrived." in output.text, "the page does not see Tim")

        self.proxy.cut()
        tim.send_line("who")
        self.assertRegex(tim.expect("lingering"), r"Rita\s+-\s+lingering")
        tim.send_line("say said while you were away")
        tim.expect('You say, "said while you were away"')
        self.proxy.release()

        self.wait_for(lambda: "Welcome back. You were away" in output.text, "the page did not resume")
        self.wait_for(lambda: 'Tim says, "said while you were away"' in output.text, "no replay")
        replayed = self.browser.find_elements(By.CSS_SELECTOR, "#output .replay")
        self.assertIn('Tim says, "said while you were away"', [line.text for line in replayed])
        # No password was asked for: the field is a plain one, and the page
        # did not show the login banner again.
        self.assertEqual(field.get_attribute("type"), "text")
        self.assertEqual(output.text.count("Welcome to gateway."), 1)
        field.send_keys("say I'm back" + Keys.ENTER)
        heard = tim.expect("Rita says, \"I'm back\"")
        self.assertNotIn("has left", heard)
        self.assertNotIn("has arrived", heard)
