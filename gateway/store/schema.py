"""
The database schema and its migrations, versioned with C{PRAGMA user_version}.
"""

import sqlite3

from gateway.errors import StartupError

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


def open_database(path):
    """
    Open (creating if needed) and migrate the database at C{path}.

    @raise StartupError: naming the file when it cannot be opened or is not
        a gateway database.
    @rtype: L{sqlite3.Connection}
    """
    try:
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        configure(connection)
        migrate(connection)
    except sqlite3.Error as e:
        raise StartupError(f"{path}: cannot open the database: {e}")
    connection.isolation_level = ""
    return connection
