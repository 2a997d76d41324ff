"""
A real legacy MUD server for integration tests: Debian's C{tinymux},
installed into a temporary directory and run on a free loopback port.
Every wait has a deadline; L{TinyMUX.stop} always ends the server.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Where Debian's package puts the per-game installer.
INSTALLER = Path("/usr/games/tinymux-install")


def missing():
    """
    Why TinyMUX cannot run here, or L{None} when it can.
    """
    if not INSTALLER.exists():
        return f"{INSTALLER} not found: install Debian's tinymux package (apt-get install tinymux)"
    return None


def free_port():
    """
    A TCP port on 127.0.0.1 nothing listens on just now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TinyMUX:
    """
    One TinyMUX server in its own game directory.

    @ivar port: the loopback port it listens on.
    @ivar game: its game directory (C{netmux.conf}, logs, data).
    """

    def __init__(self, directory):
        """
        @param directory: an empty directory to install the game into.
        """
        self.directory = Path(directory)
        self.game = self.directory / "tinymux" / "game"
        self.port = None
        self.pid = None

    def start(self, timeout=30):
        """
        Install the game, set its port, start it with C{Startmux} and wait
        until it accepts connections.

        @raise AssertionError: when it is not serving within C{timeout}
            seconds (it is stopped then).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(INSTALLER)], cwd=self.directory, check=True, timeout=timeout,
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        self.port = free_port()
        conf = self.game / "netmux.conf"
        text = conf.read_text()
        conf.write_text(re.sub(r"(?m)^port\s+\d+$", f"port {self.port}", text))
        subprocess.run(
            ["./Startmux"], cwd=self.game, check=True, timeout=timeout,
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        try:
            while not self._serving():
                if time.monotonic() > deadline:
                    raise AssertionError(f"TinyMUX did not serve on port {self.port} within {timeout}s:\n{self.log()}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    def _serving(self):
        if self.pid is None:
            try:
                self.pid = int((self.game / "netmux.pid").read_text().strip())
            except (OSError, ValueError):
                return False
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def log(self):
        """
        What the server logged so far.
        """
        return "".join(path.read_text(errors="replace") for path in sorted(self.game.glob("*.log")))

    def stop(self, timeout=10):
        """
        End the server by the PID C{Startmux} left (SIGTERM, then SIGKILL
        after C{timeout} seconds) and remove its directory.
        """
        if self.pid is None:
            try:
                self.pid = int((self.game / "netmux.pid").read_text().strip())
            except (OSError, ValueError):
                self.pid = None
        if self.pid is not None:
            pid, self.pid = self.pid, None
            _end(pid, timeout)
        shutil.rmtree(self.directory, ignore_errors=True)


def _end(pid, timeout):
    """
    Stop process C{pid}, which is not our child (C{Startmux} leaves it to
    init), and wait until it is gone or a zombie.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"
