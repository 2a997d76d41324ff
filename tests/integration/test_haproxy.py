"""
gateway behind a real HAProxy (Debian's C{haproxy}), run in the
foreground from a temporary configuration on loopback, as
docs/upstream.md sets it up: C{send-proxy} and C{send-proxy-v2} with
health checks, in front of listeners with C{trusted_proxies}.

Clients connect from other loopback addresses (127.0.0.2, 127.0.0.4)
than HAProxy's own (127.0.0.1), so the address the gateway sees tells
the client's from the proxy's: the logs, the per-address connection cap
and the game behind a gateway listener all get the client's.  A HAProxy
sending from an address the listener does not trust (127.0.0.3) is
refused, and HAProxy's own health checks are never throttled.  Skipped
with a reason when HAProxy is not installed.
"""

import re
import shutil
import socket
import subprocess
import textwrap
import threading
import time
from pathlib import Path

from twisted.trial.unittest import SkipTest, TestCase

from tests.daemon import Daemon, LineClient, sign_up
from tests.integration.test_ssh_integration import SSH_OPTIONS, prepared_host_keys
from tests.integration.test_tls_integration import s_client, wait_for
from tests.integration.tinymux import free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def missing():
    """
    Why HAProxy cannot run here, or L{None} when it can.
    """
    if not Path(HAPROXY).exists():
        return "haproxy is not installed (apt-get install haproxy)"
    return None


class HAProxy:
    """
    One C{haproxy -db} process with its own configuration: a C{mode tcp}
    frontend on a free loopback port per backend server line.

    @ivar ports: frontend name to the port it listens on.
    """

    def __init__(self, directory, servers, https=None):
        """
        @param directory: where to write the configuration and log.
        @param servers: frontend name to the rest of its backend's
            C{server} line after the address (C{"send-proxy check"}),
            with the gateway port as C{(address, port)} first.
        @param https: the frontends in C{mode http} that terminate TLS,
            each to the path of its PEM certificate and key: they add
            C{X-Forwarded-For} and C{X-Forwarded-Proto: https} to what
            they forward, as docs/tls.md sets it up.
        """
        https = https or {}
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in servers}
        sections = [textwrap.dedent("""\
            global
                maxconn 100
            defaults
                mode tcp
                timeout connect 5s
                timeout client 60s
                timeout server 60s
                timeout check 2s
        """)]
        http = (["mode http", "option forwardfor", "http-request set-header X-Forwarded-Proto https"],
                ["mode http", "timeout tunnel 60s"])
        for name, ((host, port), options) in servers.items():
            bind, (front, back) = (f" ssl crt {https[name]}", http) if name in https else ("", ([], []))
            frontend = [f"bind 127.0.0.1:{self.ports[name]}{bind}", *front, f"default_backend {name}-gateway"]
            backend = [*back, f"server gw {host}:{port} {options}"]
            sections.append("".join(
                [f"frontend {name}\n"] + [f"    {line}\n" for line in frontend]
                + [f"backend {name}-gateway\n"] + [f"    {line}\n" for line in backend]
            ))
        self.config = self.directory / "haproxy.cfg"
        self.config.write_text("".join(sections))
        self.log_path = self.directory / "haproxy.log"
        self.process = None

    def start(self, timeout=15):
        """
        Start HAProxy in the foreground and wait until every frontend
        accepts connections.
        """
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(self.config)], stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        for port in self.ports.values():
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"haproxy exited with {self.process.returncode}:\n{self.log()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"haproxy did not listen on {port} within {timeout}s:\n{self.log()}")
                    time.sleep(0.05)
        return self

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None:
            self._log.close()


def connect_from(source, port, timeout=10):
    """
    A L{LineClient} connected to C{port} on 127.0.0.1 from the loopback
    address C{source}.
    """
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return LineClient(None, sock=sock, timeout=timeout)


class ProxyReadingGame:
    """
    A game on a free loopback port that expects a PROXY version 1 header
    first on every connection (C{client_address = "proxy-v1"}), records
    the headers and greets.

    @ivar headers: the header lines received, without their CRLF.
    """

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.headers = []
        self.connections = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            connection.settimeout(10)
            received = b""
            try:
                while b"\r\n" not in received:
                    data = connection.recv(1024)
                    if not data:
                        break
                    received += data
                self.headers.append(received.partition(b"\r\n")[0].decode("ascii", "replace"))
                connection.sendall(b"Welcome to the proxied game.\r\n")
            except OSError:
                pass

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


class BehindHAProxyTests(TestCase):
    skip = missing()

    def setUp(self):
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        self.game = ProxyReadingGame()
        self.addCleanup(self.game.close)
        config = directory / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [limits]
            prelogin_log_rate = 0.0
            max_connections_per_address = 2

            [upstreams.game]
            endpoint = "tcp:127.0.0.1:{self.game.port}"
            client_address = "proxy-v1"

            [listeners.telnet]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            trusted_proxies = ["127.0.0.1"]

            [listeners.telnet-tls]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            tls = true
            trusted_proxies = ["127.0.0.1"]

            [listeners.ssh]
            frontend = "ssh"
            endpoint = "tcp:0:interface=127.0.0.1"
            trusted_proxies = ["127.0.0.1"]

            [listeners.game]
            frontend = "telnet"
            endpoint = "tcp:0:interface=127.0.0.1"
            upstream = "game"
            trusted_proxies = ["127.0.0.1"]
        """))
        data = directory / "var"
        prepared_host_keys(data)
        self.daemon = Daemon(data, config=config, exclusive=False)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=4)
        ports = self.daemon.ports
        self.haproxy = HAProxy(directory / "haproxy", {
            "telnet": (("127.0.0.1", ports["telnet"]), "send-proxy check inter 1s"),
            "tls": (("127.0.0.1", ports["telnet-tls"]), "send-proxy-v2 check inter 1s"),
            "ssh": (("127.0.0.1", ports["ssh"]), "send-proxy-v2"),
            "game": (("127.0.0.1", ports["game"]), "send-proxy"),
            "untrusted": (("127.0.0.1", ports["telnet"]), "send-proxy source 127.0.0.3"),
            "checked": (("127.0.0.1", ports["telnet"]), "send-proxy-v2 check inter 100 fall 1 rise 1"),
        })
        self.addCleanup(self.haproxy.stop)
        self.haproxy.start()

    def client(self, frontend, source="127.0.0.2"):
        client = connect_from(source, self.haproxy.ports[frontend])
        self.addCleanup(client.close)
        return client

    def test_send_proxy(self):
        """
        A telnet player through C{send-proxy} (version 1) signs up; the
        daemon logs the player's address, not HAProxy's.
        """
        sign_up(self.client("telnet"), "Ann")
        wait_for(self.daemon, "Account Ann created from 127.0.0.2:")

    def test_per_address_cap_counts_the_client(self):
        """
        C{limits.max_connections_per_address} (2 here) counts each
        client's address: a third connection from 127.0.0.2 is refused
        with the usual line while one from 127.0.0.4 is served, although
        all come from HAProxy at 127.0.0.1.
        """
        for _ in range(2):
            self.client("telnet").expect("Name: ")
        self.assertIn("Too many connections from your address", self.client("telnet").read_until_closed())
        self.client("telnet", "127.0.0.4").expect("Name: ")
        wait_for(self.daemon, "Listener telnet refused 127.0.0.2:")

    def test_send_proxy_v2_before_tls(self):
        """
        Through C{send-proxy-v2} the header comes before the TLS handshake
        (openssl s_client from 127.0.0.2); HAProxy's health checks on that
        server keep it up.
        """
        if shutil.which("openssl") is None:
            raise SkipTest("openssl is not installed (apt-get install openssl)")
        client = s_client(
            self, self.haproxy.ports["tls"], self.daemon.data_dir / "tls-dev-ca.pem", "-bind", "127.0.0.2:0"
        )
        sign_up(client, "Tom")
        wait_for(self.daemon, "Account Tom created from 127.0.0.2:")
        self.assertNotIn("tls-gateway/gw is DOWN", self.haproxy.log())

    def test_ssh(self):
        """
        OpenSSH from 127.0.0.2 through C{send-proxy-v2}: a failed password
        login is logged with the client's address.
        """
        if shutil.which("ssh") is None or shutil.which("sshpass") is None:
            raise SkipTest("ssh or sshpass is not installed (apt-get install openssh-client sshpass)")
        subprocess.run(
            ["sshpass", "-p", "wrong-password", "ssh"] + SSH_OPTIONS
            + ["-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "-b", "127.0.0.2",
               "-p", str(self.haproxy.ports["ssh"]), "nobody@127.0.0.1", "who"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
        )
        wait_for(self.daemon, "Failed SSH password login for nobody from 127.0.0.2:")

    def test_game_learns_the_client_address(self):
        """
        Through HAProxy and a gateway listener relaying to a game with
        C{client_address = "proxy-v1"}, the game's PROXY header names the
        player at 127.0.0.2.
        """
        client = self.client("game")
        client.expect("Welcome to the proxied game.")
        # The start-up wait's connections through HAProxy reach the game
        # too (from 127.0.0.1).
        (header,) = [header for header in self.game.headers if "127.0.0.2" in header]
        self.assertRegex(header, r"^PROXY TCP4 127\.0\.0\.2 127\.0\.0\.1 \d+ \d+$")

    def test_untrusted_proxy_refused(self):
        """
        A HAProxy sending from 127.0.0.3, which the listener does not
        trust, has its connection closed: its header chooses no address.
        """
        self.client("untrusted").read_until_closed()
        wait_for(self.daemon, "Listener telnet closed 127.0.0.3:")
        self.assertIn("it sent a PROXY header but is not in the listener's trusted_proxies", self.daemon.output())
        self.assertNotIn("127.0.0.2", self.daemon.output())


    def test_health_checks_are_not_throttled(self):
        """
        HAProxy checking a listener ten times a second (C{send-proxy-v2
        check}: C{LOCAL} headers from HAProxy's own address) passes
        C{limits.max_new_connections_per_address} (30 a minute) within
        seconds; none of its checks is refused.
        """
        checks = re.compile(r"\(logging in\) telnet 127\.0\.0\.1:\d+> disconnected")
        deadline = time.monotonic() + 30
        while len(checks.findall(self.daemon.output())) < 40 and "refused 127.0.0.1" not in self.daemon.output():
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy did not check 40 times:\n{self.daemon.output()}\n{self.haproxy.log()}")
            time.sleep(0.1)
        self.assertNotIn("refused 127.0.0.1", self.daemon.output())
        self.assertNotIn("checked-gateway/gw is DOWN", self.haproxy.log())
