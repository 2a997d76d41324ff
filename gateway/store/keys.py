"""
SSH public keys players attach to their accounts.  Each function takes a
DB-API cursor and runs in the caller's transaction.
"""

import sqlite3
from dataclasses import dataclass

from gateway.errors import DuplicateKey, TooManyKeys


@dataclass(frozen=True)
class KeyRecord:
    """
    One row of the C{ssh_keys} table.

    @ivar fingerprint: C{"SHA256:..."} as OpenSSH shows it.
    @ivar blob: the public key in SSH wire format.
    """

    key_type: str
    fingerprint: str
    blob: bytes
    comment: str
    created_at: str


_COLUMNS = "key_type, fingerprint, blob, comment, created_at"


def add(cursor, account_id, key_type, fingerprint, blob, comment, limit):
    """
    Attach a key to an account.

    @param limit: how many keys one account may have.
    @raise DuplicateKey: when the account already has this key.
    @raise TooManyKeys: when the account already has C{limit} keys.
    """
    cursor.execute("SELECT COUNT(*) FROM ssh_keys WHERE account_id = ?", (account_id,))
    if cursor.fetchone()[0] >= limit:
        raise TooManyKeys(limit)
    try:
        cursor.execute(
            "INSERT INTO ssh_keys (account_id, key_type, fingerprint, blob, comment) VALUES (?, ?, ?, ?, ?)",
            (account_id, key_type, fingerprint, blob, comment),
        )
    except sqlite3.IntegrityError:
        raise DuplicateKey(fingerprint)


def list_for(cursor, account_id):
    """
    An account's keys, oldest first.

    @rtype: L{list} of L{KeyRecord}
    """
    cursor.execute(f"SELECT {_COLUMNS} FROM ssh_keys WHERE account_id = ? ORDER BY id", (account_id,))
    return [KeyRecord(row[0], row[1], bytes(row[2]), row[3], row[4]) for row in cursor.fetchall()]


def remove(cursor, account_id, fingerprint):
    """
    Detach the key with C{fingerprint} from an account.

    @return: whether the account had it.
    """
    cursor.execute("DELETE FROM ssh_keys WHERE account_id = ? AND fingerprint = ?", (account_id, fingerprint))
    return cursor.rowcount == 1


def account_for_key(cursor, name, blob):
    """
    The id of the account called C{name} (any case) when C{blob} is one of
    its keys, else L{None}.
    """
    cursor.execute(
        "SELECT accounts.id FROM ssh_keys JOIN accounts ON accounts.id = ssh_keys.account_id "
        "WHERE accounts.name = ? AND ssh_keys.blob = ?",
        (name, blob),
    )
    row = cursor.fetchone()
    return row[0] if row else None
