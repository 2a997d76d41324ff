"""
Listeners behind a proxy that speaks the PROXY protocol, with real
clients: a stand-in for HAProxy's C{send-proxy}/C{send-proxy-v2} (a
loopback forwarder that starts each connection with a header naming a
client at 203.0.113.9) in front of the daemon's telnet, TLS and SSH
listeners.  The daemon's logs name the client, not the proxy.
"""

import shutil
import subprocess
import textwrap
from pathlib import Path

from twisted.internet.address import IPv4Address
from twisted.trial.unittest import SkipTest, TestCase

from gateway.upstream.proxy import proxy_header
from tests.daemon import Daemon, LineClient, sign_up
from tests.integration.relay import LoopbackRelay
from tests.integration.test_ssh_integration import SSH_OPTIONS, prepared_host_keys
from tests.integration.test_tls_integration import s_client, wait_for

CLIENT = IPv4Address("TCP", "203.0.113.9", 41000)


class BehindProxyTests(TestCase):
    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        config = directory / "gateway.toml"
        config.write_text(textwrap.dedent("""
            [limits]
            prelogin_log_rate = 0.0

            [listeners.telnet]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            trusted_proxies = ["127.0.0.1"]

            [listeners.telnet-tls]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            tls = true
            trusted_proxies = ["127.0.0.0/8"]

            [listeners.ssh]
            frontend = "ssh"
            endpoint = "tcp:0:interface=127.0.0.1"
            trusted_proxies = ["127.0.0.1"]

            [listeners.elsewhere]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            trusted_proxies = ["10.0.0.0/8"]
        """))
        data = directory / "var"
        prepared_host_keys(data)
        self.daemon = Daemon(data, config=config, exclusive=False)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=4)

    def forwarder(self, listener, version):
        forwarder = LoopbackRelay(
            self.daemon.ports[listener], proxy_header(version, CLIENT, IPv4Address("TCP", "127.0.0.1", 4000))
        )
        self.addCleanup(forwarder.close)
        return forwarder

    def test_telnet(self):
        """
        A telnet player through the proxy signs up; the daemon logs the
        client's address from the header.
        """
        client = LineClient(self.forwarder("telnet", 1).port)
        self.addCleanup(client.close)
        sign_up(client, "Ann")
        wait_for(self.daemon, "Account Ann created from 203.0.113.9:41000")

    def test_tls(self):
        """
        The header comes before the TLS handshake.
        """
        if shutil.which("openssl") is None:
            raise SkipTest("openssl is not installed (apt-get install openssl)")
        client = s_client(self, self.forwarder("telnet-tls", 2).port, self.daemon.data_dir / "tls-dev-ca.pem")
        sign_up(client, "Tom")
        wait_for(self.daemon, "Account Tom created from 203.0.113.9:41000")

    def test_ssh(self):
        """
        OpenSSH through the proxy: a failed password login is logged with
        the client's address.
        """
        if shutil.which("ssh") is None or shutil.which("sshpass") is None:
            raise SkipTest("ssh or sshpass is not installed (apt-get install openssh-client sshpass)")
        port = str(self.forwarder("ssh", 2).port)
        subprocess.run(
            ["sshpass", "-p", "wrong-password", "ssh"] + SSH_OPTIONS
            + ["-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "-p", port, "nobody@127.0.0.1", "who"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
        )
        wait_for(self.daemon, "Failed SSH password login for nobody from 203.0.113.9:41000")

    def test_trusted_without_header_closed(self):
        client = LineClient(self.daemon.ports["telnet"])
        self.addCleanup(client.close)
        client.send_line("Ann")
        self.assertEqual(client.read_until_closed(), "")
        wait_for(self.daemon, "the connection did not start with a PROXY header (it is in trusted_proxies")

    def test_untrusted_header_refused(self):
        """
        A PROXY header from an address the listener does not trust closes
        the connection: the client does not choose its address.
        """
        client = LineClient(self.forwarder("elsewhere", 1).port)
        self.addCleanup(client.close)
        client.read_until_closed()
        wait_for(self.daemon, "it sent a PROXY header but is not in the listener's trusted_proxies")
        self.assertNotIn("203.0.113.9", self.daemon.output())
