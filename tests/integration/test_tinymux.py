"""
gateway in front of a real legacy MUD server: Debian's TinyMUX, on a free
loopback port, with gateway listeners relaying to it.  Players reach it
over SSH (OpenSSH, with the game's own login or a gateway account first),
telnet over TLS (openssl s_client) and the browser client, create
characters with TinyMUX's own login, and what they say arrives on a plain
telnet connection made straight to TinyMUX.  Skipped with a reason when a
tool is missing.

TinyMUX asks NEW-ENVIRON for C{USER} only, never for C{IPADDRESS}, and
reads no PROXY header: it sees gateway's address for every player (see
docs/upstream.md), so there is no player address to check on its side.
"""

import shutil
import subprocess
import textwrap
from pathlib import Path

from twisted.trial.unittest import SkipTest, TestCase

from tests.daemon import Daemon, LineClient, sign_up
from tests.integration import tinymux
from tests.integration.test_browser import WAIT, start_chromium
from tests.integration.test_browser import _missing as browser_missing
from tests.integration.test_ssh_integration import SSH_OPTIONS, prepared_host_keys
from tests.integration.test_tls_integration import s_client


class TinyMUXTests(TestCase):
    """
    One TinyMUX, one gateway in front of it, and a watcher connected
    straight to TinyMUX.
    """

    skip = tinymux.missing()

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        self.mux = tinymux.TinyMUX(directory / "mux")
        self.addCleanup(self.mux.stop)
        self.mux.start()
        config = directory / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [limits]
            trusted_addresses = ["127.0.0.1"]

            [upstreams.mux]
            endpoint = "tcp:127.0.0.1:{self.mux.port}"
            client_address = "mnes"

            [listeners.world]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"

            [listeners.mux-ssh]
            frontend = "ssh"
            endpoint = "tcp:0:interface=127.0.0.1"
            upstream = "mux"

            [listeners.mux-ssh-account]
            frontend = "ssh"
            endpoint = "tcp:0:interface=127.0.0.1"
            upstream = "mux"
            login = "gateway"

            [listeners.mux-tls]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            tls = true
            upstream = "mux"

            [listeners.mux-web]
            frontend = "websocket"
            endpoint = "tcp:0:interface=127.0.0.1"
            upstream = "mux"
        """))
        data = directory / "var"
        prepared_host_keys(data)
        self.daemon = Daemon(data, config=config, exclusive=False)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=5)
        self.watcher = self.straight_to_mux("Watcher")

    def straight_to_mux(self, name):
        """
        A character created on a plain telnet connection made straight to
        TinyMUX, standing in its start room.
        """
        client = LineClient(self.mux.port, timeout=20)
        self.addCleanup(client.close)
        client.expect('"create <name> <password>"')
        client.send_line(f"create {name} watching1")
        client.expect("Limbo")
        return client

    def test_openssl_s_client(self):
        """
        A player on the gateway's TLS listener (openssl s_client) creates a
        character and speaks; the watcher on TinyMUX hears it.  When the
        player quits, TinyMUX closes, and so does the player's connection.
        """
        if shutil.which("openssl") is None:
            raise SkipTest("openssl is not installed (apt-get install openssl)")
        player = s_client(self, self.daemon.ports["mux-tls"], self.daemon.data_dir / "tls-dev-ca.pem")
        player.timeout = 20
        player.expect('"create <name> <password>"')
        player.send_line("create Tessa tlspass1")
        player.expect("Limbo")
        self.watcher.expect("Tessa has connected.")
        player.send_line("say hello over TLS")
        player.expect("You say, ")
        player.expect("hello over TLS")
        self.watcher.expect("Tessa says, ")
        self.watcher.expect("hello over TLS")
        # TinyMUX closes the connection: the player sees its last words,
        # then the gateway closes the TLS connection.
        player.send_line("QUIT")
        self.assertIn("*** TinyMUX Disconnected ***", player.read_until_closed())
        self.watcher.expect("Tessa has disconnected.")

    def ssh(self, listener, user, password=None):
        """
        An interactive OpenSSH session (pexpect) to a gateway listener,
        with C{password} given through sshpass, or in BatchMode (no
        password asked) without one.
        """
        try:
            import pexpect
        except ImportError:
            raise SkipTest("pexpect is not installed")
        for tool in ("ssh",) if password is None else ("ssh", "sshpass"):
            if shutil.which(tool) is None:
                raise SkipTest(f"{tool} is not installed (apt-get install openssh-client sshpass)")
        args = SSH_OPTIONS + ["-tt", "-o", "PubkeyAuthentication=no", "-p", str(self.daemon.ports[listener]), f"{user}@127.0.0.1"]
        if password is None:
            child = pexpect.spawn("ssh", args + ["-o", "BatchMode=yes"], dimensions=(24, 100), timeout=20)
        else:
            child = pexpect.spawn("sshpass", ["-p", password, "ssh"] + args, dimensions=(24, 100), timeout=20)
        self.addCleanup(child.close, force=True)
        return child

    def create_and_speak(self, child, name, where):
        """
        Create the character C{name} through the SSH session C{child}, say
        something, hear it on the watcher, and quit.
        """
        import pexpect

        child.expect_exact('"create <name> <password>"')
        child.sendline(f"create {name} sshpass1")
        child.expect_exact("Limbo")
        self.watcher.expect(f"{name} has connected.")
        child.sendline(f"say hello over {where}")
        self.watcher.expect(f"{name} says, ")
        self.watcher.expect(f"hello over {where}")
        child.sendline("QUIT")
        child.expect(pexpect.EOF)
        self.watcher.expect(f"{name} has disconnected.")

    def test_openssh(self):
        """
        OpenSSH on the gateway's SSH listener with the game's own login:
        any user name, no password (BatchMode: ssh would fail rather than
        ask); TinyMUX's login screen follows.
        """
        self.create_and_speak(self.ssh("mux-ssh", "guest"), "Sasha", "SSH")

    def test_openssh_without_terminal(self):
        """
        C{ssh -T} with a command on standard input, at TinyMUX's login
        screen: the command reaches TinyMUX, the end of the input reaches
        it as the end of the connection (no stray line: TinyMUX would show
        its login screen again), TinyMUX closes and ssh exits by itself.
        """
        if shutil.which("ssh") is None:
            raise SkipTest("ssh is not installed (apt-get install openssh-client)")
        done = subprocess.run(
            ["ssh"] + SSH_OPTIONS + ["-T", "-o", "BatchMode=yes", "-p", str(self.daemon.ports["mux-ssh"]), "guest@127.0.0.1"],
            input=b"WHO\n", capture_output=True, timeout=20,
        )
        self.assertEqual(done.returncode, 0)
        self.assertIn(b"Watcher ", done.stdout)
        self.assertEqual(done.stdout.count(b"Welcome to TinyMUX"), 1)

    def test_openssh_with_gateway_account(self):
        """
        With C{login = "gateway"} the player logs in to a gateway account
        (password through sshpass) before reaching TinyMUX.
        """
        account = LineClient(self.daemon.ports["world"])
        self.addCleanup(account.close)
        sign_up(account, "Simon", "simonpass1")
        account.close()
        self.create_and_speak(self.ssh("mux-ssh-account", "Simon", "simonpass1"), "Simon", "SSH with an account")

    def test_browser(self):
        """
        A player in the browser client (headless Chromium) creates a
        character and speaks.
        """
        reason = browser_missing()
        if reason:
            raise SkipTest(reason)
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        browser = start_chromium(self, Path(self.mktemp()).resolve())
        browser.get(f"http://127.0.0.1:{self.daemon.ports['mux-web']}/")
        output = browser.find_element(By.ID, "output")
        field = browser.find_element(By.ID, "input")

        def shown(text):
            WebDriverWait(browser, WAIT).until(lambda _: text in output.text, f"{text!r} never appeared:\n{output.text}")

        shown('"create <name> <password>"')
        field.send_keys("create Wren webpass1" + Keys.ENTER)
        shown("Limbo")
        self.watcher.expect("Wren has connected.")
        field.send_keys("say hello from the browser" + Keys.ENTER)
        self.watcher.expect("Wren says, ")
        self.watcher.expect("hello from the browser")
