"""
Load and validate the TOML configuration into typed, immutable settings.

Every section is a frozen dataclass whose fields are the keys it accepts;
L{load_config} rejects unknown keys, wrong types and bad values with a
L{ConfigError} that names the file, the key and what was expected, so the
daemon never starts half-configured.  Relative paths are resolved against
the directory of the configuration file (or the working directory when
the embedded defaults are used).
"""

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

from gateway.errors import ConfigError

_DATA = Path(__file__).parent / "data"


def _positive(value):
    if value <= 0:
        return "a number greater than 0"


def _at_least(minimum):
    def check(value):
        if value < minimum:
            return f"a number of at least {minimum}"

    return check


def _nonempty(value):
    if not value.strip():
        return "a non-empty string"


def _networks(value):
    import ipaddress

    for item in value:
        try:
            if not isinstance(item, str):
                raise TypeError(item)
            ipaddress.ip_network(item)
        except (TypeError, ValueError):
            return "a list of IP addresses or networks such as '127.0.0.1' or '10.0.0.0/8'"


def _setting(default, check: Optional[Callable[[Any], Optional[str]]] = None):
    """
    Declare a configuration key with its default and an optional check that
    returns a description of what was expected when a value is refused.
    """
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


#: Public names for frontend plugins declaring their listener C{options} as
#: a dataclass for L{build_settings}: C{key: int = setting(5, at_least(1))};
#: C{networks} checks a list of addresses and networks (C{trusted_proxies}),
#: C{text_encoding} an ASCII-compatible text encoding.
setting, at_least, positive, networks = _setting, _at_least, _positive, _networks


@dataclass(frozen=True)
class ServerSettings:
    """
    The C{[server]} section: identity and where state lives.
    """

    name: str = _setting("gateway", _nonempty)
    host_name: str = _setting("localhost", _nonempty)
    data_dir: str = _setting("var", _nonempty)
    banner: str = _setting(
        "Welcome to {name}.\nA small shared world. Type a name to log in or to create an account."
    )
    hash_threads: int = _setting(2, _at_least(1))
    hash_nice: int = _setting(10, lambda value: None if 0 <= value <= 19 else "a number from 0 to 19")
    debug_log: bool = _setting(False)


@dataclass(frozen=True)
class AccountSettings:
    """
    The C{[accounts]} section: naming rules and registration.
    """

    allow_registration: bool = _setting(True)
    name_min_length: int = _setting(2, _at_least(1))
    name_max_length: int = _setting(20, _at_least(1))
    password_min_length: int = _setting(6, _at_least(1))
    max_ssh_keys: int = _setting(20, _at_least(1))


@dataclass(frozen=True)
class LoginSettings:
    """
    The C{[login]} section: the login dialogue's limits.
    """

    timeout: float = _setting(60.0, _positive)
    max_attempts: int = _setting(3, _at_least(1))
    max_hashing_queue: int = _setting(128, _at_least(1))


@dataclass(frozen=True)
class LimitSettings:
    """
    The C{[limits]} section: bounds every session lives within.
    """

    max_line_bytes: int = _setting(4096, _at_least(64))
    max_pending_lines: int = _setting(50, _at_least(1))
    max_connections: int = _setting(5000, _at_least(1))
    max_connections_per_address: int = _setting(20, _at_least(1))
    max_new_connections_per_address: int = _setting(30, _at_least(1))
    new_connection_interval: float = _setting(60.0, _positive)
    login_failure_delay: float = _setting(1.0, _positive)
    login_failure_max_delay: float = _setting(60.0, _positive)
    login_failure_window: float = _setting(900.0, _positive)
    max_accounts_per_address: int = _setting(5, _at_least(1))
    account_creation_interval: float = _setting(3600.0, _positive)
    trusted_addresses: list = _setting([], _networks)
    commands_per_second: float = _setting(10.0, _positive)
    command_burst: int = _setting(20, _at_least(1))
    max_output_bytes: int = _setting(262144, _at_least(4096))
    close_timeout: float = _setting(30.0, _positive)
    idle_timeout: float = _setting(0.0, _at_least(0))
    idle_warning: float = _setting(60.0, _at_least(0))
    prelogin_log_rate: float = _setting(10.0, _at_least(0))


@dataclass(frozen=True)
class ShutdownSettings:
    """
    The C{[shutdown]} section: how a stop (SIGTERM) ends the sessions.
    """

    message: str = _setting("The server is shutting down. Goodbye.", _nonempty)
    grace: float = _setting(5.0, _positive)


@dataclass(frozen=True)
class WorldSettings:
    """
    The C{[world]} section: where the rooms come from, and when a room is a
    crowd (see L{gateway.core.world.World.announce}).
    """

    file: str = _setting(str(_DATA / "world.toml"), _nonempty)
    crowd: int = _setting(100, _at_least(1))


def _plugin_names(value):
    if not all(isinstance(item, str) and item.strip() for item in value) or len(set(value)) != len(value):
        return "a list of distinct game plugin names such as [\"core\", \"dice\"]"


@dataclass(frozen=True)
class GameSettings:
    """
    The C{[game]} section: the active game plugins, in order (see
    docs/game-plugins.md).
    """

    plugins: list = _setting(["core"], _plugin_names)


def _one_of(*choices):
    def check(value):
        if value not in choices:
            return "one of " + ", ".join(repr(c) for c in choices)

    return check


#: Public name for frontend plugins: C{key: str = setting("a", one_of("a", "b"))}.
one_of = _one_of


@dataclass(frozen=True)
class SessionSettings:
    """
    The C{[sessions]} section: what becomes of a player whose connection
    drops, and of a second connection to an online account (see
    L{gateway.core.linger}).
    """

    linger: float = _setting(300.0, _at_least(0))
    replay_lines: int = _setting(200, _at_least(1))
    replay_bytes: int = _setting(65536, _at_least(1024))
    per_account: str = _setting("replace", _one_of("replace", "attach"))
    flicker: bool = _setting(False)


def _fingerprints(value):
    from gateway.auth.fingerprints import normalize_fingerprint

    for item in value:
        if not isinstance(item, str) or normalize_fingerprint(item) is None:
            return "a list of SHA-256 fingerprints (64 hex digits, colons allowed)"


@dataclass(frozen=True)
class TLSSettings:
    """
    The C{[tls]} section: the certificate every C{tls = true} listener
    serves and the protocol policy.  With no C{certificate} and C{key} a
    development certificate is generated into the data directory.
    """

    certificate: str = _setting("")
    key: str = _setting("")
    min_version: str = _setting("TLSv1.2", _one_of("TLSv1.2", "TLSv1.3"))
    ciphers: str = _setting("ECDHE+AESGCM:ECDHE+CHACHA20", _nonempty)
    handshake_timeout: float = _setting(10.0, _positive)
    max_handshakes: int = _setting(64, _at_least(1))


_MSSP_RESERVED = frozenset(["NAME", "PLAYERS", "UPTIME", "PORT", "CODEBASE", "HOSTNAME"])


def _mssp_fields(value):
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if key.upper() in _MSSP_RESERVED or not key.strip() or not key.isprintable():
            return f"a table of extra MSSP fields (the server fills in {', '.join(sorted(_MSSP_RESERVED))})"
        if not items or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
            return "a table of MSSP field = string, integer or list of them"


@dataclass(frozen=True)
class MsspSettings:
    """
    The C{[mssp]} section: what MUD crawlers are told besides the live
    figures (see docs/protocols.md).
    """

    fields: dict = _setting({}, _mssp_fields)


@dataclass(frozen=True)
class ListenerSettings:
    """
    One C{[listeners.NAME]} table: a frontend plugin served on an endpoint.
    """

    frontend: str = _setting("", _nonempty)
    endpoint: str = _setting("", _nonempty)
    enabled: bool = _setting(True)
    options: dict = _setting({})
    tls: bool = _setting(False)
    client_certificates: str = _setting("off", _one_of("off", "optional", "required"))
    certificate_fingerprints: list = _setting([], _fingerprints)
    trusted_proxies: list = _setting([], _networks)
    upstream: str = _setting("")
    login: str = _setting("", _one_of("upstream", "gateway"))
    name: str = field(default="", metadata={"internal": True})

    @property
    def login_mode(self):
        """
        Where a player of an upstream listener logs in: C{"upstream"} (the
        game's own login, the default) or C{"gateway"} (a gateway account
        first); L{None} on a listener of the built-in world.
        """
        if not self.upstream:
            return None
        return self.login or "upstream"


#: Every ASCII character: an encoding text is exchanged in must leave them
#: as they are (telnet's commands, CR LF, the colour markup's pipes).
_ASCII = "".join(map(chr, range(128)))


def _encoding(value):
    try:
        compatible = _ASCII.encode(value) == _ASCII.encode("ascii") and _ASCII.encode("ascii").decode(value) == _ASCII
    except (LookupError, ValueError):
        # Unknown, not a text encoding ("hex", "rot13"), or one that
        # cannot write every ASCII character.
        compatible = False
    if not compatible:
        return "an ASCII-compatible text encoding Python knows, such as 'utf-8', 'latin-1' or 'cp437'"


text_encoding = _encoding


@dataclass(frozen=True)
class UpstreamSettings:
    """
    One C{[upstreams.NAME]} table: an existing game server that listeners
    relay their players to (see L{gateway.upstream}).
    """

    endpoint: str = _setting("", _nonempty)
    ca_file: str = _setting("")
    client_address: str = _setting("mnes", _one_of("mnes", "proxy-v1", "proxy-v2", "none"))
    encoding: str = _setting("utf-8", _encoding)
    connect_timeout: float = _setting(10.0, _positive)
    max_connections: int = _setting(0, _at_least(0))
    name: str = field(default="", metadata={"internal": True})


_DEFAULT_LISTENERS = {
    "telnet": {"frontend": "telnet", "endpoint": "tcp:4000:interface=127.0.0.1"},
    "ssh": {"frontend": "ssh", "endpoint": "tcp:4022:interface=127.0.0.1"},
    "telnet-tls": {"frontend": "telnet", "endpoint": "tcp:4001:interface=127.0.0.1", "tls": True},
    "lines-tls": {
        "frontend": "lines", "endpoint": "tcp:4443:interface=127.0.0.1", "tls": True,
        "client_certificates": "optional",
    },
    "web": {"frontend": "websocket", "endpoint": "tcp:4080:interface=127.0.0.1", "enabled": False},
    "metrics": {"frontend": "metrics", "endpoint": "tcp:9104:interface=127.0.0.1", "enabled": False},
}


@dataclass(frozen=True)
class Config:
    """
    The whole validated configuration.

    @ivar path: the file it was read from, or L{None} for embedded defaults.
    @ivar base: the directory relative paths are resolved against.
    """

    path: Optional[Path]
    base: Path
    server: ServerSettings
    accounts: AccountSettings
    login: LoginSettings
    limits: LimitSettings
    world: WorldSettings
    game: GameSettings
    tls: TLSSettings
    shutdown: ShutdownSettings
    mssp: MsspSettings
    sessions: SessionSettings
    listeners: Dict[str, ListenerSettings]
    upstreams: Dict[str, UpstreamSettings] = field(default_factory=dict)

    def resolve(self, value):
        """
        Resolve a path from the configuration against L{base}.

        @type value: L{str}
        @rtype: L{Path}
        """
        return (self.base / Path(value).expanduser()).resolve()

    @property
    def data_dir(self):
        """
        The absolute data directory.
        """
        return self.resolve(self.server.data_dir)

    @property
    def world_file(self):
        """
        The absolute path of the world file.
        """
        return self.resolve(self.world.file)


_SECTIONS = {
    "server": ServerSettings,
    "accounts": AccountSettings,
    "login": LoginSettings,
    "limits": LimitSettings,
    "world": WorldSettings,
    "game": GameSettings,
    "tls": TLSSettings,
    "shutdown": ShutdownSettings,
    "mssp": MsspSettings,
    "sessions": SessionSettings,
}

_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "a table",
    list: "an array",
}

_LISTENER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def _typed(value, expected):
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def build_settings(cls, table, where, source=None):
    """
    Build the dataclass C{cls} from a TOML table, checking every key against
    its fields (type, and the check in the field's metadata).  Frontend
    plugins use it for their listener's C{options}.

    @param where: the dotted name of the table, for messages.
    @param source: the file name, for messages; the caller adds it when
        L{None}.
    @raise ConfigError: for an unknown key or a bad value.
    """
    source = f"{source}: " if source else ""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}[{where}] must be a table")
    known = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    values = {}
    for key, value in table.items():
        spec = known.get(key)
        if spec is None:
            raise ConfigError(
                f"{source}unknown key {where}.{key} "
                f"(known keys: {', '.join(sorted(known))})"
            )
        if not _typed(value, spec.type):
            raise ConfigError(
                f"{source}{where}.{key} must be {_TYPE_NAMES[spec.type]}, "
                f"not {type(value).__name__} {value!r}"
            )
        if spec.type is float:
            value = float(value)
        check = spec.metadata.get("check")
        expected = check(value) if check else None
        if expected:
            raise ConfigError(f"{source}{where}.{key} must be {expected}, not {value!r}")
        values[key] = value
    return cls(**values)


def _check_endpoint(description, where, source):
    """
    Parse a Twisted server endpoint description without listening on it.
    """
    from twisted.internet import endpoints

    if description.startswith("systemd:"):
        # Inherited descriptors only exist under systemd; the listener
        # reports a bad index when it starts.
        return
    try:
        endpoints.serverFromString(_ParseOnlyReactor(), description)
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"{source}: {where}.endpoint {description!r} is not a valid "
            f"server endpoint ({e}); expected e.g. 'tcp:4000:interface=127.0.0.1'"
        )


def _check_client_endpoint(description, where, source):
    """
    Parse a Twisted client endpoint description without connecting.
    """
    from twisted.internet import endpoints

    try:
        endpoints.clientFromString(_ParseOnlyReactor(), description)
    except (ValueError, KeyError, TypeError, ImportError) as e:
        raise ConfigError(
            f"{source}: {where}.endpoint {description!r} is not a valid "
            f"client endpoint ({e}); expected e.g. 'tcp:mud.example.org:4000' or 'tls:mud.example.org:4001'"
        )


def _check_name(kind, name, source):
    """
    Refuse a listener or upstream name that is not lower-case letters,
    digits and '-', starting with a letter.
    """
    if not _LISTENER_NAME.match(name):
        raise ConfigError(
            f"{source}: {kind} name {name!r} must be lower-case letters, "
            f"digits and '-', starting with a letter"
        )


def _upstreams(table, source):
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [upstreams] must be a table of upstream tables")
    upstreams = {}
    for name, value in table.items():
        where = f"upstreams.{name}"
        _check_name("upstream", name, source)
        settings = build_settings(UpstreamSettings, value, where, source)
        if not settings.endpoint:
            raise ConfigError(f"{source}: {where}.endpoint is required")
        _check_client_endpoint(settings.endpoint, where, source)
        if settings.ca_file and not settings.endpoint.startswith("tls:"):
            raise ConfigError(f"{source}: {where}.ca_file is only for a 'tls:HOST:PORT' endpoint")
        upstreams[name] = dataclasses.replace(settings, name=name)
    return upstreams


def _check_routes(listeners, upstreams, source):
    """
    Check that every listener's C{upstream} names a configured upstream,
    and that C{login} is only set on upstream listeners.
    """
    for name, listener in listeners.items():
        where = f"listeners.{name}"
        if listener.upstream and listener.upstream not in upstreams:
            raise ConfigError(
                f"{source}: {where}.upstream {listener.upstream!r} is not a configured upstream "
                f"(configured: {', '.join(sorted(upstreams)) or 'none; add an [upstreams.NAME] table'})"
            )
        if listener.login and not listener.upstream:
            raise ConfigError(f"{source}: {where}.login is only for a listener with an upstream")


class _ParseOnlyReactor:
    """
    Stands in for the reactor while an endpoint description is parsed;
    parsing never calls it.
    """


def _listeners(table, overrides, source):
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [listeners] must be a table of listener tables")
    merged = {name: dict(value) if isinstance(value, Mapping) else value for name, value in table.items()}
    for name, endpoint in overrides.items():
        if name not in merged:
            raise ConfigError(
                f"--listen {name}=...: no listener named {name!r} "
                f"(configured: {', '.join(sorted(merged)) or 'none'})"
            )
        if endpoint == "off":
            merged[name]["enabled"] = False
        else:
            merged[name]["endpoint"] = endpoint
            merged[name]["enabled"] = True
    listeners = {}
    for name, value in merged.items():
        where = f"listeners.{name}"
        _check_name("listener", name, source)
        settings = build_settings(ListenerSettings, value, where, source)
        for key in ("frontend", "endpoint"):
            if not getattr(settings, key):
                raise ConfigError(f"{source}: {where}.{key} is required")
        if not settings.tls and (settings.client_certificates != "off" or settings.certificate_fingerprints):
            raise ConfigError(f"{source}: {where}: client certificates need tls = true")
        if settings.certificate_fingerprints and settings.client_certificates == "off":
            raise ConfigError(
                f"{source}: {where}: certificate_fingerprints need client_certificates = \"optional\" or \"required\""
            )
        if settings.enabled:
            _check_endpoint(settings.endpoint, where, source)
        listeners[name] = dataclasses.replace(settings, name=name)
    return listeners


def load_config(path=None, overrides=None, data_dir=None):
    """
    Read and validate a configuration.

    @param path: the TOML file, or L{None} for the embedded defaults.
    @param overrides: C{{listener name: endpoint or "off"}} from C{--listen}.
    @param data_dir: a data directory that replaces C{server.data_dir}.
    @raise ConfigError: when anything is invalid.
    @rtype: L{Config}
    """
    overrides = overrides or {}
    if path is None:
        raw, source, base = {}, "(defaults)", Path.cwd()
    else:
        path = Path(path)
        source = str(path)
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"{source}: cannot read configuration: {e.strerror}")
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{source}: not valid TOML: {e}")
        base = path.resolve().parent
    unknown = set(raw) - set(_SECTIONS) - {"listeners", "upstreams"}
    if unknown:
        raise ConfigError(
            f"{source}: unknown section [{sorted(unknown)[0]}] "
            f"(known sections: {', '.join(sorted(list(_SECTIONS) + ['listeners', 'upstreams']))})"
        )
    sections = {name: build_settings(cls, raw.get(name, {}), name, source) for name, cls in _SECTIONS.items()}
    if data_dir is not None:
        sections["server"] = dataclasses.replace(sections["server"], data_dir=str(Path(data_dir).resolve()))
    accounts = sections["accounts"]
    if accounts.name_max_length < accounts.name_min_length:
        raise ConfigError(f"{source}: accounts.name_max_length must be at least accounts.name_min_length")
    listeners = _listeners(raw.get("listeners", _DEFAULT_LISTENERS), overrides, source)
    upstreams = _upstreams(raw.get("upstreams", {}), source)
    _check_routes(listeners, upstreams, source)
    return Config(path=path, base=base, listeners=listeners, upstreams=upstreams, **sections)


def parse_listen_override(text):
    """
    Parse one C{--listen NAME=ENDPOINT} (or C{NAME=off}) argument.

    @return: C{(name, endpoint)}
    @raise ConfigError: when the argument has no C{=}.
    """
    name, sep, endpoint = text.partition("=")
    if not sep or not name or not endpoint:
        raise ConfigError(f"--listen {text!r}: expected NAME=ENDPOINT or NAME=off")
    return name, endpoint
