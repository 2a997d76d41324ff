"""
Running the real daemon for integration tests: C{twistd -n gateway} in a
subprocess on ephemeral loopback ports with a temporary data directory,
and a blocking line client to talk to it.  Every wait has a deadline.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SERVING = re.compile(r"Listener (\S+) serving on \S+ \((?:\[([^\]]+)\]|([\d.]+)):(\d+)\)")


class DaemonFailed(Exception):
    """
    The daemon did not start, or exited when it should not have.
    """


class Daemon:
    """
    One C{twistd -n gateway} process.

    @ivar ports: listener name to the TCP port it is serving on.
    """

    def __init__(self, data_dir, config=None, listen=(), extra_args=(), env=None, exclusive=True):
        """
        @param data_dir: the data directory (kept across restarts).
        @param config: a configuration file, or None for the embedded defaults.
        @param listen: C{NAME=ENDPOINT} overrides; use C{tcp:0:interface=127.0.0.1}
            for an ephemeral port.
        @param exclusive: switch off every configured listener that C{listen}
            does not name (when C{listen} names any), so a test never binds
            the fixed default ports.
        """
        self.data_dir = Path(data_dir)
        self.config = config
        self.listen = list(listen)
        self.extra_args = list(extra_args)
        self.env = env or {}
        self.exclusive = exclusive
        self.process = None
        self.ports = {}
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-twistd.log"

    def command(self):
        args = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                "--nodaemon", "--pidfile=", "gateway", "--data-dir", str(self.data_dir)]
        if self.config:
            args += ["--config", str(self.config)]
        named = {item.partition("=")[0] for item in self.listen}
        if self.exclusive and named:
            from gateway.config import load_config

            for name in load_config(self.config).listeners:
                if name not in named:
                    args += ["--listen", f"{name}=off"]
        for item in self.listen:
            args += ["--listen", item]
        return args + self.extra_args

    def start(self, expect=1, timeout=30):
        """
        Start the daemon and wait until C{expect} listeners serve.
        """
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.update(self.env)
        self._log = open(self.log_path, "ab")
        self._offset = self.log_path.stat().st_size
        self.process = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=str(self.data_dir.parent))
        deadline = time.monotonic() + timeout
        self.ports = {}
        while len(self.ports) < expect:
            if self.process.poll() is not None:
                raise DaemonFailed(f"daemon exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                self.stop()
                raise DaemonFailed(f"daemon did not start in {timeout}s:\n{self.output()}")
            for match in _SERVING.finditer(self.output()):
                self.ports[match.group(1)] = int(match.group(4))
            time.sleep(0.05)
        return self

    def output(self):
        """
        What this run of the daemon has logged so far.
        """
        with open(self.log_path, "rb") as f:
            f.seek(self._offset)
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """
        Stop the daemon with C{sig} and wait for it; returns its exit status.
        """
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self._log.close()
        return self.process.returncode


def run_daemon_to_exit(args, timeout=30, cwd=None):
    """
    Run C{twistd -n gateway ARGS} expecting it to exit by itself (start-up
    failures); returns C{(status, output)}.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.run(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "--nodaemon", "--pidfile=", "gateway"] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=timeout, cwd=cwd,
    )
    return process.returncode, process.stdout.decode("utf-8", "replace")


class LineClient:
    """
    A blocking TCP client for integration tests, with deadlines.
    """

    def __init__(self, port, host="127.0.0.1", timeout=10, sock=None):
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.received = b""

    def send_line(self, text):
        self.sock.sendall(text.encode("utf-8") + b"\r\n")

    def _receive(self, deadline, waiting_for):
        """
        Wait for more bytes until C{deadline}; returns them, or C{b""} when
        the server closed the connection.
        """
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {waiting_for}; got {self.received!r}")
            self.sock.settimeout(remaining)
            try:
                return self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return b""

    def expect(self, text, timeout=None):
        """
        Read until C{text} has arrived; returns everything up to and
        including it and keeps the rest.

        @raise AssertionError: on timeout or close, with what did arrive.
        """
        wanted = text.encode("utf-8") if isinstance(text, str) else text
        deadline = time.monotonic() + (timeout or self.timeout)
        while wanted not in self.received:
            data = self._receive(deadline, repr(text))
            if not data:
                raise AssertionError(f"connection closed waiting for {text!r}; got {self.received!r}")
            self.received += data
        end = self.received.index(wanted) + len(wanted)
        seen, self.received = self.received[:end], self.received[end:]
        return seen.decode("utf-8", "replace")

    def expect_any(self, *texts, timeout=None):
        """
        Read until one of C{texts} has arrived (the earliest wins); returns
        C{(text, everything up to and including it)} and keeps the rest.

        @raise AssertionError: on timeout or close, with what did arrive.
        """
        wanted = [t.encode("utf-8") for t in texts]
        deadline = time.monotonic() + (timeout or self.timeout)
        while not any(w in self.received for w in wanted):
            data = self._receive(deadline, f"any of {texts!r}")
            if not data:
                raise AssertionError(f"connection closed waiting for any of {texts!r}; got {self.received!r}")
            self.received += data
        found = min((self.received.index(w), t) for w, t in zip(wanted, texts) if w in self.received)[1]
        return found, self.expect(found)

    def read_until_closed(self, timeout=None):
        """
        Read until the server closes; returns what arrived.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            data = self._receive(deadline, "the connection to close")
            if not data:
                seen, self.received = self.received, b""
                return seen.decode("utf-8", "replace")
            self.received += data

    def close(self):
        self.sock.close()


def sign_up(client, name, password="secret1"):
    """
    Create an account through the login dialogue of a line-based frontend.
    """
    client.expect("Name: ")
    client.send_line(name)
    client.expect("Create it? (yes/no) ")
    client.send_line("yes")
    client.expect("characters): ")
    client.send_line(password)
    client.expect("Repeat the password: ")
    client.send_line(password)
    client.expect("Exits:")


def log_in(client, name, password="secret1"):
    """
    Log in to an existing account through a line-based frontend.
    """
    client.expect("Name: ")
    client.send_line(name)
    client.expect("Password: ")
    client.send_line(password)
    client.expect("Exits:")
