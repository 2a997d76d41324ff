"""
Account records.  Each function takes a DB-API cursor (an adbapi
C{Transaction} or an L{sqlite3.Cursor}) and runs in the caller's
transaction.
"""

import sqlite3
from dataclasses import dataclass
from typing import Optional

from gateway.errors import NameTaken

_COLUMNS = "id, name, password_hash, role, location, created_at, last_login_at"


@dataclass(frozen=True)
class AccountRecord:
    """
    One row of the C{accounts} table.
    """

    id: int
    name: str
    password_hash: str
    role: str
    location: Optional[str]
    created_at: str
    last_login_at: Optional[str]


def find_by_name(cursor, name):
    """
    The account called C{name}, compared case-insensitively, or None.
    """
    cursor.execute(f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", (name,))
    row = cursor.fetchone()
    return AccountRecord(*row) if row else None


def find_by_id(cursor, account_id):
    """
    The account with id C{account_id}, or None.
    """
    cursor.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,))
    row = cursor.fetchone()
    return AccountRecord(*row) if row else None


def create(cursor, name, password_hash, role="player", location=None):
    """
    Insert an account.

    @raise NameTaken: when the name is in use in any case.
    @return: the new account's id.
    """
    try:
        cursor.execute(
            "INSERT INTO accounts (name, password_hash, role, location) VALUES (?, ?, ?, ?)",
            (name, password_hash, role, location),
        )
    except sqlite3.IntegrityError as e:
        if e.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE":
            raise NameTaken(name)
        raise
    return cursor.lastrowid


def set_password_hash(cursor, account_id, password_hash):
    """
    Replace an account's password hash.

    @return: whether the account existed.
    """
    cursor.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))
    return cursor.rowcount == 1


def set_location(cursor, account_id, location):
    """
    Remember the room an account is in.
    """
    cursor.execute("UPDATE accounts SET location = ? WHERE id = ?", (location, account_id))


def record_login(cursor, account_id):
    """
    Stamp the account's last login time.
    """
    cursor.execute(
        "UPDATE accounts SET last_login_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (account_id,),
    )


def list_all(cursor):
    """
    Every account, ordered by name.
    """
    cursor.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY name")
    return [AccountRecord(*row) for row in cursor.fetchall()]


def delete(cursor, name):
    """
    Delete the account called C{name}, and the game plugins' data about it.

    @return: whether it existed.
    """
    cursor.execute(
        "DELETE FROM plugin_data WHERE scope = 'account' AND owner IN "
        "(SELECT CAST(id AS TEXT) FROM accounts WHERE name = ?)",
        (name,),
    )
    cursor.execute("DELETE FROM accounts WHERE name = ?", (name,))
    return cursor.rowcount == 1
