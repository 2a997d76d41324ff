"""
C{gateway-admin}: account administration on the daemon's data directory,
and C{reload-game}, which asks the running daemon to reload its game
plugins (see L{gateway.game.reloading}).

It opens the same SQLite database as the daemon (WAL mode lets both work at
once) and hashes passwords with the same library.
"""

import argparse
import getpass
import http.client
import os
import re
import signal
import socket
import sys
import time
import uuid

from gateway.auth.hashing import PasswordHasher
from gateway.auth.names import check_name
from gateway.config import load_config
from gateway.errors import ConfigError, InvalidName, NameTaken, StartupError
from gateway.game.reloading import PID_FILE, REQUEST_FILE, RESULT_FILE
from gateway.metrics import describe
from gateway.service import DATABASE_NAME, prepare_data_dir
from gateway.store import accounts
from gateway.store.schema import open_database


class AdminError(Exception):
    """
    A problem to report as C{gateway-admin: message} with exit status 1.
    """


def _synchronous_hasher():
    def run(f, *args):
        return f(*args)

    return PasswordHasher(run)


def _read_password(args, minimum):
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise AdminError("the passwords do not match")
    if len(password) < minimum:
        raise AdminError(f"the password is shorter than accounts.password_min_length ({minimum})")
    return password


def create_account(config, cursor, args):
    settings = config.accounts
    try:
        check_name(args.name, settings.name_min_length, settings.name_max_length)
    except InvalidName as e:
        raise AdminError(f"invalid name {args.name!r}: {e}")
    if accounts.find_by_name(cursor, args.name) is not None:
        raise AdminError(f"an account called {args.name!r} already exists")
    password_hash = _synchronous_hasher().hash(_read_password(args, settings.password_min_length))
    try:
        accounts.create(cursor, args.name, password_hash, "admin" if args.admin else "player")
    except NameTaken:
        raise AdminError(f"an account called {args.name!r} already exists")
    return f"created {'admin' if args.admin else 'player'} account {args.name}"


def set_password(config, cursor, args):
    record = accounts.find_by_name(cursor, args.name)
    if record is None:
        raise AdminError(f"no account called {args.name!r}")
    password_hash = _synchronous_hasher().hash(_read_password(args, config.accounts.password_min_length))
    accounts.set_password_hash(cursor, record.id, password_hash)
    return f"password of {record.name} changed"


def list_accounts(config, cursor, args):
    rows = accounts.list_all(cursor)
    if not rows:
        return "no accounts"
    width = max(len(r.name) for r in rows)
    lines = [f"{'NAME'.ljust(width)}  ROLE    CREATED               LAST LOGIN"]
    for r in rows:
        lines.append(f"{r.name.ljust(width)}  {r.role:<6}  {r.created_at:<20}  {r.last_login_at or 'never'}")
    return "\n".join(lines)


def delete_account(config, cursor, args):
    if not accounts.delete(cursor, args.name):
        raise AdminError(f"no account called {args.name!r}")
    return f"deleted account {args.name}"


#: Seconds C{status} waits for the daemon's metrics listener.
STATUS_TIMEOUT = 5

#: Where a wildcard interface is reached from this machine.
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def _metrics_address(listener):
    """
    Where to reach a metrics listener from this machine.

    @param listener: the L{gateway.config.ListenerSettings}.
    @return: C{("tcp", host, port)} or C{("unix", path, None)}.
    @raise AdminError: for an endpoint type C{status} cannot reach.
    """
    kind, *parts = re.split(r"(?<!\\):", listener.endpoint)
    positional, keywords = [], {}
    for part in parts:
        key, equals, value = part.partition("=")
        if equals:
            keywords[key] = value.replace("\\:", ":")
        else:
            positional.append(part.replace("\\:", ":"))
    if kind in ("tcp", "tcp6") and (positional or "port" in keywords):
        interface = keywords.get("interface", "::" if kind == "tcp6" else "")
        return "tcp", _LOOPBACK.get(interface, interface), int(positional[0] if positional else keywords["port"])
    if kind == "unix" and (positional or "address" in keywords):
        return "unix", positional[0] if positional else keywords["address"], None
    raise AdminError(
        f"listeners.{listener.name}: status reads tcp, tcp6 or unix endpoints, not {listener.endpoint!r}"
    )


class _UnixHTTPConnection(http.client.HTTPConnection):
    """
    HTTP over a unix socket.
    """

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def status(config, args):
    """
    The running daemon's key figures, from its metrics listener.
    """
    from prometheus_client.parser import text_string_to_metric_families

    listener = next((l for l in config.listeners.values() if l.enabled and l.frontend == "metrics"), None)
    if listener is None:
        raise AdminError(
            f"{config.path or '(defaults)'}: no metrics listener is enabled; add [listeners.metrics] "
            "with frontend = \"metrics\" (see docs/operations.md)"
        )
    kind, host, port = _metrics_address(listener)
    where = f"listeners.{listener.name} ({listener.endpoint})"
    if kind == "unix":
        connection = _UnixHTTPConnection(host, STATUS_TIMEOUT)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=STATUS_TIMEOUT)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        raise AdminError(f"the daemon's metrics listener {where} does not answer: {e}")
    finally:
        connection.close()
    if response.status != 200:
        raise AdminError(f"the daemon's metrics listener {where} answered {response.status} {response.reason}")
    try:
        samples = [s for family in text_string_to_metric_families(body) for s in family.samples]
    except ValueError as e:
        raise AdminError(f"{where} did not answer with metrics: {e}")
    return "\n".join(describe(samples, time.time()))


def reload_game(config, args):
    """
    Ask the running daemon to reload its game plugins: write a request
    file into the data directory, send SIGHUP to the process id the daemon
    keeps there, and wait for its answer.
    """
    data_dir = config.data_dir
    try:
        pid = int((data_dir / PID_FILE).read_text())
    except FileNotFoundError:
        raise AdminError(f"no daemon is running on {data_dir} (no {PID_FILE} there)")
    except ValueError:
        raise AdminError(f"{data_dir / PID_FILE} does not hold a process id")
    token = uuid.uuid4().hex
    result = data_dir / RESULT_FILE
    (data_dir / REQUEST_FILE).write_text(f"{token}\n")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        (data_dir / REQUEST_FILE).unlink()
        raise AdminError(f"no daemon is running on {data_dir} (process {pid} is gone)")
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            answer_token, status, message = result.read_text().split("\n", 2)
        except (FileNotFoundError, ValueError):
            answer_token = None
        if answer_token == token:
            if status != "ok":
                raise AdminError(message.strip())
            return message.strip()
        time.sleep(0.1)
    raise AdminError(f"the daemon (process {pid}) did not answer within {args.timeout:g} seconds; see its log")


def parser():
    p = argparse.ArgumentParser(prog="gateway-admin", description="Manage gateway accounts; reload the running daemon's game plugins; show its status.")
    p.add_argument("--config", "-c", help="the daemon's TOML configuration (default: embedded defaults)")
    p.add_argument("--data-dir", "-d", help="the data directory (overrides server.data_dir)")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create-account", help="create an account")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="give the account the admin role")
    create.set_defaults(run=create_account)

    password = commands.add_parser("set-password", help="set an account's password")
    password.add_argument("name")
    password.set_defaults(run=set_password)

    for sub in (create, password):
        sub.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")

    listing = commands.add_parser("list-accounts", help="list every account")
    listing.set_defaults(run=list_accounts)

    delete = commands.add_parser("delete-account", help="delete an account")
    delete.add_argument("name")
    delete.set_defaults(run=delete_account)

    reload = commands.add_parser(
        "reload-game", help="make the running daemon import its game plugins afresh (players stay connected)"
    )
    reload.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the daemon's answer")
    reload.set_defaults(run=reload_game, database=False)

    running = commands.add_parser(
        "status", help="players online, uptime and refusals of the running daemon (from its metrics listener)"
    )
    running.set_defaults(run=status, database=False)
    return p


def _on_database(config, args):
    """
    Run an account command in one transaction on the daemon's database.
    """
    prepare_data_dir(config.data_dir)
    connection = open_database(config.data_dir / DATABASE_NAME)
    try:
        with connection:
            return args.run(config, connection.cursor(), args)
    finally:
        connection.close()


def main(argv=None):
    """
    Run C{gateway-admin}; returns the exit status.
    """
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config, data_dir=args.data_dir)
        if getattr(args, "database", True):
            message = _on_database(config, args)
        else:
            message = args.run(config, args)
    except (AdminError, ConfigError, StartupError) as e:
        print(f"gateway-admin: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
