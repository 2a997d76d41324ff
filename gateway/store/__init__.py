"""
Persistent state in SQLite: accounts and what hangs off them.

The functions in L{gateway.store.accounts} take a DB-API cursor and run
inside a transaction the caller owns, so the daemon (through
L{twisted.enterprise.adbapi}) and C{gateway-admin} (through plain
L{sqlite3}) share one implementation.
"""
