"""
The database schema and its migrations, versioned with C{PRAGMA user_version}.
"""

import os
import sqlite3
import stat

from twisted.logger import Logger

from gateway.errors import StartupError

log = Logger()

#: The modes the database files may have: the daemon's user only, or with
#: read access for its group when an operator chose that.
FILE_MODES = (0o600, 0o640)

#: Migration N (1-based) brings the schema from version N-1 to N.  Append
#: only: a released migration is never edited.
MIGRATIONS = (
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'player' CHECK (role IN ('player', 'admin')),
        location TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        last_login_at TEXT
    );
    """,
    """
    CREATE TABLE ssh_keys (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        key_type TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        blob BLOB NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        UNIQUE (account_id, fingerprint)
    );
    CREATE INDEX ssh_keys_fingerprint ON ssh_keys (fingerprint);
    """,
    """
    CREATE TABLE certificates (
        fingerprint TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX certificates_by_account ON certificates (account_id);
    """,
    """
    CREATE TABLE plugin_data (
        plugin TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('account', 'room')),
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (plugin, scope, owner, key)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def configure(connection):
    """
    Apply the connection settings every gateway connection uses: WAL
    journal (readers never block the writer, so C{gateway-admin} can work
    while the daemon runs), full fsync on commit, foreign keys, and a busy
    timeout for the rare moment two writers meet.

    @type connection: L{sqlite3.Connection}
    """
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=5000")


def migrate(connection):
    """
    Bring the database up to L{SCHEMA_VERSION}, one transaction per step.

    @type connection: L{sqlite3.Connection}
    @raise StartupError: when the database is newer than this code.
    @return: the version the database had before.
    """
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StartupError(
            f"the database has schema version {version}, newer than this "
            f"gateway understands ({SCHEMA_VERSION}); upgrade gateway"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version={number}")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    return version


def restrict_files(path):
    """
    Keep the database at C{path} and its C{-wal} and C{-shm} files away from
    other users, whatever the umask: create the database 0600 when it is
    missing (SQLite gives the C{-wal} and C{-shm} files it creates the
    database's mode), set any of them that has another mode than
    L{FILE_MODES} to 0600, and warn when other users may enter the
    directory.

    @type path: L{pathlib.Path}
    @raise OSError: when a file cannot be created or its mode changed.
    """
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, FILE_MODES[0]))
    for name in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
        except FileNotFoundError:
            continue
        if mode not in FILE_MODES:
            os.chmod(name, FILE_MODES[0])
    directory = path.resolve().parent
    mode = stat.S_IMODE(os.stat(directory).st_mode)
    if mode & 0o007:
        log.warn(
            "The data directory {directory} is open to other users (mode {mode:o}); "
            "make it 0750 or 0700: chmod o= {directory}",
            directory=str(directory), mode=mode,
        )


def open_database(path):
    """
    Open (creating if needed, see L{restrict_files}) and migrate the
    database at C{path}.

    @type path: L{pathlib.Path}
    @raise StartupError: naming the file when it cannot be opened or is not
        a gateway database.
    @rtype: L{sqlite3.Connection}
    """
    try:
        restrict_files(path)
    except OSError as e:
        raise StartupError(f"{path}: cannot open the database: {e.strerror}")
    try:
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        configure(connection)
        migrate(connection)
    except sqlite3.Error as e:
        raise StartupError(f"{path}: cannot open the database: {e}")
    connection.isolation_level = ""
    return connection
