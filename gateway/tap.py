"""
C{twistd gateway}: command-line options and L{makeService}.
"""

import functools

from twisted.python import usage

from gateway import __version__
from gateway.config import load_config, parse_listen_override
from gateway.errors import ConfigError, StartupError
from gateway.frontends.plugin import available_frontends


class Options(usage.Options):
    """
    Options of C{twistd gateway}.

    The docstrings of the C{opt_} methods are the C{--help} text, which
    Twisted wraps with their line breaks' indentation kept: each is one line.
    """

    synopsis = "[--config FILE] [--data-dir DIR] [--listen NAME=ENDPOINT ...] [--debug-log] [--list-frontends] [--list-games]"
    longdesc = (
        "Serve the shared world.  Without --config the embedded defaults are "
        "used: telnet on 127.0.0.1:4000, telnet over TLS on 4001, lines over "
        "TLS on 4443, SSH on 127.0.0.1:4022 and data in ./var; the web client (web, "
        "port 4080) and metrics (9104) listeners are off until --listen names them.  "
        "Listener names: telnet, telnet-tls, lines-tls, ssh, web, metrics (as configured).  Endpoints use "
        "Twisted's syntax, e.g. tcp:4000:interface=0.0.0.0, tcp6:4000:interface=::, "
        "unix:/run/gateway.sock, systemd:domain=INET:index=0."
    )
    optFlags = [
        ["debug-log", None, "Log debug events too (as server.debug_log = true)."],
    ]
    optParameters = [
        ["config", "c", None, "The TOML configuration file."],
        ["data-dir", "d", None, "The data directory (overrides server.data_dir)."],
    ]

    def __init__(self):
        super().__init__()
        self["listen"] = {}

    def opt_listen(self, value):
        """Serve listener NAME on ENDPOINT, switching it on (NAME=ENDPOINT), or switch it off (NAME=off). Repeatable."""
        try:
            name, endpoint = parse_listen_override(value)
        except ConfigError as e:
            raise usage.UsageError(str(e))
        self["listen"][name] = endpoint

    def opt_list_frontends(self):
        """List the installed frontend plugins (and any that fail to import) and exit."""
        print(f"Installed frontends:\n{available_frontends().listing()}")
        raise SystemExit(0)

    def opt_list_games(self):
        """List the installed game plugins (and any plugin modules that fail to import) and exit."""
        from gateway.game.loading import available_games

        print(f"Installed game plugins (for [game] plugins):\n{available_games().listing()}")
        raise SystemExit(0)

    def getUsage(self, width=None):
        """
        The usage text, ending with the installed frontends.
        """
        return (
            f"{super().getUsage(width)}\n"
            f"Installed frontends (a listener's `frontend`):\n{available_frontends().listing()}\n"
        )

    def opt_version(self):
        """
        Print the version and exit.
        """
        print(f"gateway {__version__}")
        raise SystemExit(0)


def makeService(options):
    """
    Build the daemon from parsed L{Options}.  Configuration and start-up
    problems end the process with a message naming what is wrong.
    """
    from twisted.internet import reactor

    from gateway.logtext import show_debug
    from gateway.service import build_service

    try:
        load = functools.partial(load_config, options["config"], options["listen"], options["data-dir"])
        service = build_service(load(), reactor, load)
    except (ConfigError, StartupError) as e:
        raise SystemExit(f"gateway: {e}")
    if options["debug-log"]:
        show_debug(True)
    service.freeze_on_start = True
    return service
