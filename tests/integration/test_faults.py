"""
Fault tests against the real daemon on loopback.  Each has a fixed count,
a deadline on every wait, and stops by itself; the figures are recorded in
docs/reliability.md.  Counts are scaled to run in seconds on a shared CI
machine; FIGURES below is what the docs quote.
"""

import os
import re
import signal
import socket
import ssl
import threading
import time

from twisted.logger import Logger
from twisted.trial.unittest import TestCase

from tests.daemon import Daemon, LineClient, log_in, sign_up

EPHEMERAL = "tcp:0:interface=127.0.0.1"

#: The fixed counts of the fault tests: scaled for CI by default, the
#: full sizes with GATEWAY_FAULT_FULL=1 (a few minutes).
FULL = os.environ.get("GATEWAY_FAULT_FULL") == "1"
SILENT_CONNECTIONS = 500 if FULL else 300
STALLED_HANDSHAKES = 500 if FULL else 200
CHAT_ROUNDS = 20
CHATTERS = 50 if FULL else 10
PASSWORD_ATTEMPTS = 10000 if FULL else 300
PASTE_BYTES = (10 if FULL else 4) * 1024 * 1024
PASTE_LINES = 20000 if FULL else 4000
ACCOUNT_BURST = 50 if FULL else 12

#: The figures each test measured go to trial's log (_trial_temp/test.log).
log = Logger()


def rss_kib(pid):
    """
    The resident memory of process C{pid} in KiB (Linux).
    """
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


class FaultTestCase(TestCase):
    #: [limits] settings for this test's daemon.
    limits = {}
    #: More TOML for this test's daemon (sections, listeners), and how many
    #: listeners it adds.
    more_config = ""
    more_listeners = 0

    def setUp(self):
        self.data = os.path.abspath(self.mktemp())
        config = os.path.abspath(self.mktemp() + ".toml")
        with open(config, "w") as f:
            # Only the listener under test: the embedded defaults would
            # also bind fixed ports (ssh on 4022, ...).
            f.write(f'[listeners.telnet]\nfrontend = "telnet"\nendpoint = "{EPHEMERAL}"\n\n{self.more_config}\n[limits]\n')
            for key, value in self.limits.items():
                f.write(f"{key} = {value!r}\n".replace("'", '"'))
        self.daemon = Daemon(self.data, config=config)
        self.addCleanup(self.daemon.stop)
        self.daemon.start(expect=1 + self.more_listeners)
        self.port = self.daemon.ports["telnet"]

    def client(self, source="127.0.0.1", timeout=15):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout, source_address=(source, 0))
        client = LineClient(self.port, sock=sock, timeout=timeout)
        self.addCleanup(client.close)
        return client

    def chat(self, speaker, listener, rounds):
        """
        C{speaker} says C{rounds} numbered lines; each must reach
        C{listener} (within the client's deadline).

        @return: the slowest round trip in seconds (recorded, never asserted).
        """
        slowest = 0
        for n in range(rounds):
            sent = time.monotonic()
            speaker.send_line(f"say round {n}")
            listener.expect(f'says, "round {n}"')
            slowest = max(slowest, time.monotonic() - sent)
        return slowest


class SilentConnectionTests(FaultTestCase):
    limits = {"max_connections_per_address": 1000, "max_new_connections_per_address": 1000}

    def test_silent_connections_do_not_slow_a_chat(self):
        alice, bob = self.client(), self.client()
        sign_up(alice, "Alice")
        sign_up(bob, "Bob")
        silent = []
        for _ in range(SILENT_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.addCleanup(sock.close)
            silent.append(sock)
        slowest = max(self.chat(alice, bob, CHAT_ROUNDS), self.chat(bob, alice, CHAT_ROUNDS))
        log.info(
            "figures: {silent} silent connections, {messages} messages, slowest {slowest:.3f}s",
            silent=SILENT_CONNECTIONS, messages=2 * CHAT_ROUNDS, slowest=slowest,
        )
        # Every silent connection is still held open, none refused.
        bob.send_line("who")
        bob.expect("2 players online")
        self.assertNotIn("refused", self.daemon.output())


class StalledTLSHandshakeTests(FaultTestCase):
    # Every dropped handshake is logged (not only limits.prelogin_log_rate
    # a second), so the test can count them.
    limits = {"max_connections_per_address": 1000, "max_new_connections_per_address": 1000, "prelogin_log_rate": 0}
    # A long handshake timeout keeps every stalled connection until the
    # test ends, so the counts below do not depend on the machine's speed.
    more_config = (
        "[tls]\nhandshake_timeout = 120\n\n"
        f'[listeners.lines-tls]\nfrontend = "lines"\nendpoint = "{EPHEMERAL}"\ntls = true\n'
    )
    more_listeners = 1

    def tls_client(self):
        context = ssl.create_default_context(cafile=os.path.join(self.data, "tls-dev-ca.pem"))
        raw = socket.create_connection(("127.0.0.1", self.daemon.ports["lines-tls"]), timeout=15)
        client = LineClient(None, sock=context.wrap_socket(raw, server_hostname="localhost"), timeout=15)
        self.addCleanup(client.close)
        return client

    def dropped(self):
        return self.daemon.output().count("Dropped TLS handshake from")

    def test_stalled_handshakes_lock_no_one_out(self):
        alice, bob = self.tls_client(), self.client()
        sign_up(alice, "Alice")
        sign_up(bob, "Bob")
        for _ in range(STALLED_HANDSHAKES):
            sock = socket.create_connection(("127.0.0.1", self.daemon.ports["lines-tls"]), timeout=10)
            self.addCleanup(sock.close)
        # Every stalled connection has been accepted once all but the
        # newest max_handshakes (64) have given way.
        expected = STALLED_HANDSHAKES - 64
        deadline = time.monotonic() + 30
        while self.dropped() < expected:
            self.assertLess(time.monotonic(), deadline, f"only {self.dropped()} of {expected} handshakes dropped")
            time.sleep(0.1)
        slowest = max(self.chat(alice, bob, CHAT_ROUNDS), self.chat(bob, alice, CHAT_ROUNDS))
        # A player arriving while every handshake slot is held by a stalled
        # connection gets in: the oldest stalled one gives way.
        started = time.monotonic()
        carol = self.tls_client()
        sign_up(carol, "Carol")
        arrival = time.monotonic() - started
        slowest = max(slowest, self.chat(carol, bob, CHAT_ROUNDS))
        self.assertEqual(self.dropped(), expected + 1)
        bob.send_line("who")
        bob.expect("3 players online")
        log.info(
            "figures: {stalled} stalled TLS handshakes ({dropped} dropped), {messages} messages, "
            "slowest {slowest:.3f}s, newcomer's handshake and sign-up {arrival:.3f}s",
            stalled=STALLED_HANDSHAKES, dropped=expected + 1, messages=3 * CHAT_ROUNDS, slowest=slowest,
            arrival=arrival,
        )
        self.assertNotIn("Traceback", self.daemon.output())


class ConnectionCapTests(FaultTestCase):
    limits = {"max_connections_per_address": 3, "trusted_addresses": ["127.0.0.2"]}

    def test_over_the_cap_gets_a_line_and_trusted_is_exempt(self):
        held = [self.client() for _ in range(3)]
        for client in held:
            client.expect("Name: ")
        over = self.client()
        self.assertIn("Too many connections from your address, try again later.", over.read_until_closed())
        trusted = [self.client(source="127.0.0.2") for _ in range(5)]
        for client in trusted:
            client.expect("Name: ")


class NonReaderTests(FaultTestCase):
    limits = {
        "max_output_bytes": 65536,
        "max_accounts_per_address": 100,
        "max_connections_per_address": 100,
        "max_new_connections_per_address": 100,
    }

    def test_client_that_never_reads_is_cut_and_others_carry_on(self):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(15)
        sock.connect(("127.0.0.1", self.port))
        stalled = LineClient(self.port, sock=sock)
        self.addCleanup(stalled.close)
        sign_up(stalled, "Stalled")
        chatters = [self.client() for _ in range(CHATTERS)]
        for n, client in enumerate(chatters):
            sign_up(client, f"Chatter{n}")
        # From here on the stalled client reads nothing.
        before = rss_kib(self.daemon.process.pid)
        big = " ".join(["x" * 59] * 50)
        deadline = time.monotonic() + 60
        rounds = 0
        while "left over 65536 bytes of output unread" not in self.daemon.output():
            self.assertLess(time.monotonic(), deadline, "the stalled client was not cut")
            speaker, listener = chatters[rounds % CHATTERS], chatters[(rounds + 1) % CHATTERS]
            speaker.send_line(f"say {rounds} {big}")
            listener.expect(f'says, "{rounds}')
            rounds += 1
        growth = rss_kib(self.daemon.process.pid) - before
        log.info(
            "figures: stalled client cut after {rounds} messages of 3 kB to {chatters} chatters, RSS +{growth} KiB",
            rounds=rounds, chatters=CHATTERS, growth=growth,
        )
        self.assertLess(growth, 50 * 1024)
        # Everyone else still gets every line.
        self.chat(chatters[0], chatters[-1], CHAT_ROUNDS)
        # The cut client's session lingers, keeping what it missed in its
        # bounded replay buffer.
        chatters[1].send_line("who")
        chatters[1].expect(f"{CHATTERS + 1} players online")
        self.assertRegex(chatters[1].expect("lingering"), r"Stalled\s+-\s+lingering")


class PasswordGuessingTests(FaultTestCase):
    limits = {"max_new_connections_per_address": 100000, "trusted_addresses": ["127.0.0.2"]}

    def test_guessing_is_throttled_and_trusted_address_logs_in(self):
        owner = self.client()
        sign_up(owner, "Alice", "right-password")
        owner.send_line("quit")
        owner.read_until_closed()
        tried = throttled = 0
        for n in range(PASSWORD_ATTEMPTS):
            guesser = self.client()
            guesser.expect("Name: ")
            guesser.send_line("alice")
            found, _ = guesser.expect_any("Too many failed logins; please wait", "Password: ")
            if found == "Password: ":
                guesser.send_line(f"wr0ng-{n}")
                tried += 1
            else:
                throttled += 1
            guesser.close()
        # Doubling delays let only a handful of guesses through.
        self.assertLessEqual(tried, 10)
        self.assertEqual(tried + throttled, PASSWORD_ATTEMPTS)
        log.info("figures: {n} attempts, {tried} checked, {throttled} throttled", n=PASSWORD_ATTEMPTS, tried=tried, throttled=throttled)
        trusted = self.client(source="127.0.0.2")
        log_in(trusted, "alice", "right-password")
        output = self.daemon.output()
        self.assertFalse("wr0ng-" in output or "right-password" in output, "a password was logged")


class PasteTests(FaultTestCase):
    limits = {"commands_per_second": 200.0, "command_burst": 50}

    def paste(self, data):
        """
        Send C{data} from a new logged-in client in a thread while Alice and
        Bob chat; returns the paster and the daemon's memory growth in KiB.
        """
        alice, bob, paster = self.client(), self.client(), self.client()
        sign_up(alice, "Alice")
        sign_up(bob, "Bob")
        sign_up(paster, "Paster")
        before = rss_kib(self.daemon.process.pid)
        sender = threading.Thread(target=paster.sock.sendall, args=(data,), daemon=True)
        sender.start()
        slowest = max(self.chat(alice, bob, CHAT_ROUNDS), self.chat(bob, alice, CHAT_ROUNDS))
        growth = rss_kib(self.daemon.process.pid) - before
        log.info("figures: paste {size} bytes, slowest chat {slowest:.3f}s, RSS +{growth} KiB", size=len(data), slowest=slowest, growth=growth)
        return paster, sender, growth

    def test_paste_without_newlines(self):
        paster, sender, growth = self.paste(b"a" * PASTE_BYTES)
        sender.join(60)
        self.assertFalse(sender.is_alive())
        paster.send_line("")
        paster.send_line("say after the paste")
        paster.expect("That line was too long")
        paster.expect('You say, "after the paste"')
        self.assertLess(growth, 50 * 1024)

    def test_paste_with_newlines(self):
        """
        Every line of a paste runs, in order, at the command rate: the full
        queue pauses reading and the rest waits in the paster's socket.
        """
        lines = [b"say p%06d " % n + b"p" * 60 + b"\r\n" for n in range(PASTE_LINES)]
        paster, sender, growth = self.paste(b"".join(lines))
        # The paster reads its output while the paste drains.
        deadline = time.monotonic() + PASTE_LINES / self.limits["commands_per_second"] + 60
        received = b""
        said = []
        while len(said) < PASTE_LINES:
            self.assertLess(time.monotonic(), deadline, f"the paste did not drain ({len(said)} lines ran)")
            paster.sock.settimeout(1)
            try:
                received += paster.sock.recv(65536)
            except socket.timeout:
                continue
            complete, _, received = received.rpartition(b"\n")
            said.extend(int(n) for n in re.findall(rb'You say, "p(\d+)', complete))
        self.assertEqual(said, list(range(PASTE_LINES)))
        sender.join(10)
        self.assertFalse(sender.is_alive())
        output = self.daemon.output()
        self.assertNotIn("Traceback", output)
        self.assertLess(growth, 50 * 1024)


class CrashDuringSignupsTests(FaultTestCase):
    limits = {"max_accounts_per_address": 1000, "max_new_connections_per_address": 100000}

    def test_kill_9_loses_no_acknowledged_account(self):
        acknowledged = []
        errors = []
        lock = threading.Lock()
        stop = threading.Event()

        def create(worker):
            n = 0
            while not stop.is_set():
                name = f"W{worker}n{n}"
                n += 1
                try:
                    client = LineClient(self.port, timeout=15)
                    sign_up(client, name, f"pw-{name}")
                except (AssertionError, OSError) as e:
                    # Not acknowledged, so not counted; after the kill
                    # every attempt fails and the worker ends.
                    if not stop.is_set():
                        with lock:
                            errors.append(f"{name}: {e}")
                    continue
                with lock:
                    acknowledged.append(name)
                client.close()

        workers = [threading.Thread(target=create, args=(w,), daemon=True) for w in range(3)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < ACCOUNT_BURST:
            self.assertLess(
                time.monotonic(), deadline, f"only {len(acknowledged)} accounts were created; errors: {errors[:3]}"
            )
            time.sleep(0.05)
        self.daemon.stop(signal.SIGKILL)
        stop.set()
        for worker in workers:
            worker.join(30)
        with lock:
            names = list(acknowledged)
        self.daemon.start()
        self.port = self.daemon.ports["telnet"]
        for name in names:
            client = self.client()
            log_in(client, name, f"pw-{name}")
            client.close()
        log.info("figures: {n} acknowledged accounts before kill -9, all logged in after restart", n=len(names))


class GracefulShutdownTests(FaultTestCase):
    def test_sigterm_tells_every_session(self):
        clients = [self.client() for _ in range(3)]
        sign_up(clients[0], "Alice")
        for client in clients[1:]:
            client.expect("Name: ")
        self.assertIn(self.daemon.stop(), (0, -signal.SIGTERM))
        for client in clients:
            self.assertIn("The server is shutting down. Goodbye.", client.read_until_closed())
        self.assertIn("Stopping: closing 3 sessions", self.daemon.output())
