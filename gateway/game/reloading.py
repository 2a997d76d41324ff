"""
Reloading the game plugins on SIGHUP: when the configuration's
C{[game] plugins} changed, or when C{gateway-admin reload-game} asked for
it through a request file in the data directory.
"""

import os

from twisted.application.service import Service
from zope.interface import implementer

from gateway.sighup import IReconfigurable

#: In the data directory: the daemon's process id while it runs.
PID_FILE = "gateway.pid"
#: In the data directory: C{gateway-admin reload-game} writes a token here
#: before sending SIGHUP.
REQUEST_FILE = "reload-game.request"
#: In the data directory: the daemon answers a request with the token on
#: the first line, then C{ok} or C{failed}, then the message.
RESULT_FILE = "reload-game.result"


class GamePluginsService(Service):
    """
    Keeps the daemon's process id in the data directory for
    C{gateway-admin} while it runs, and takes the game plugins out of
    service when it stops.  It comes before the
    L{gateway.shutdown.ShutdownService} in the service tree, so it stops
    after the sessions have ended (their C{left} hooks have run).
    """

    name = "game-plugins"

    def __init__(self, core, data_dir):
        """
        @param core: the L{gateway.core.game.GameCore}.
        @param data_dir: the data directory (a L{pathlib.Path}).
        """
        self.core = core
        self.data_dir = data_dir

    def startService(self):
        super().startService()
        (self.data_dir / PID_FILE).write_text(f"{os.getpid()}\n")

    def stopService(self):
        super().stopService()
        self.core.games.stop()
        try:
            (self.data_dir / PID_FILE).unlink()
        except FileNotFoundError:
            pass


@implementer(IReconfigurable)
class GameReloadService(Service):
    """
    Reloads the core's game plugins when asked (see the module
    docstring).  On a reload it takes the C{[game] plugins} of the new
    configuration.
    """

    name = "game"

    def __init__(self, core, data_dir):
        """
        @param core: the L{gateway.core.game.GameCore}.
        @param data_dir: the data directory (a L{pathlib.Path}), where
            requests and answers are written.
        """
        self.core = core
        self.data_dir = data_dir

    def reconfigService(self, new_config):
        """
        Reload the game plugins if a request file asks for it or the
        configured set changed; answer a request in the result file.

        @return: whether the plugins in service are the wanted ones.
        """
        games = self.core.games
        wanted = list(new_config.game.plugins)
        request = self.data_dir / REQUEST_FILE
        try:
            token = request.read_text().strip()
        except FileNotFoundError:
            token = None
        if token is None and wanted == games.names:
            return True
        result = games.reload(wanted)
        if token is not None:
            request.unlink()
            answer = self.data_dir / f"{RESULT_FILE}.new"
            answer.write_text(f"{token}\n{'ok' if result.ok else 'failed'}\n{result.message}\n")
            answer.replace(self.data_dir / RESULT_FILE)
        return result.ok
