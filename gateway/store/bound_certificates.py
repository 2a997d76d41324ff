"""
Client certificate fingerprints bound to accounts.  Each function takes a
DB-API cursor and runs in the caller's transaction.
"""

from dataclasses import dataclass

from gateway.errors import CertificateTaken


@dataclass(frozen=True)
class BoundCertificate:
    """
    One row of the C{certificates} table.
    """

    fingerprint: str
    added_at: str


def bind(cursor, account_id, fingerprint):
    """
    Bind a fingerprint to an account.

    @raise CertificateTaken: when another account has it.
    @return: C{False} when the account already had it, else C{True}.
    """
    owner = account_for(cursor, fingerprint)
    if owner == account_id:
        return False
    if owner is not None:
        raise CertificateTaken(fingerprint)
    cursor.execute("INSERT INTO certificates (fingerprint, account_id) VALUES (?, ?)", (fingerprint, account_id))
    return True


def list_for(cursor, account_id):
    """
    The fingerprints bound to an account, oldest first.
    """
    cursor.execute(
        "SELECT fingerprint, added_at FROM certificates WHERE account_id = ? ORDER BY added_at, fingerprint",
        (account_id,),
    )
    return [BoundCertificate(*row) for row in cursor.fetchall()]


def unbind(cursor, account_id, fingerprint):
    """
    Remove a fingerprint from an account.

    @return: whether the account had it.
    """
    cursor.execute("DELETE FROM certificates WHERE account_id = ? AND fingerprint = ?", (account_id, fingerprint))
    return cursor.rowcount == 1


def account_for(cursor, fingerprint):
    """
    The id of the account a fingerprint is bound to, or L{None}.
    """
    cursor.execute("SELECT account_id FROM certificates WHERE fingerprint = ?", (fingerprint,))
    row = cursor.fetchone()
    return row[0] if row else None
