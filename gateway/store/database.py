"""
The store as the daemon uses it: every call runs one transaction on the
database thread and returns a L{Deferred}.
"""

from twisted.application.service import Service
from twisted.enterprise import adbapi

from gateway.store import accounts, bound_certificates, keys, plugin_data, schema


class Store:
    """
    Asynchronous access to the account store.

    @ivar pool: an object with C{runInteraction(f, *args)} returning a
        L{Deferred}: an adbapi L{ConnectionPool} in the daemon, a synchronous
        stand-in in tests.
    """

    def __init__(self, pool):
        self.pool = pool

    def account_by_name(self, name):
        return self.pool.runInteraction(accounts.find_by_name, name)

    def account_by_id(self, account_id):
        return self.pool.runInteraction(accounts.find_by_id, account_id)

    def create_account(self, name, password_hash, role="player", location=None):
        return self.pool.runInteraction(accounts.create, name, password_hash, role, location)

    def set_password_hash(self, account_id, password_hash):
        return self.pool.runInteraction(accounts.set_password_hash, account_id, password_hash)

    def set_location(self, account_id, location):
        return self.pool.runInteraction(accounts.set_location, account_id, location)

    def record_login(self, account_id):
        return self.pool.runInteraction(accounts.record_login, account_id)

    def add_key(self, account_id, key_type, fingerprint, blob, comment, limit):
        return self.pool.runInteraction(keys.add, account_id, key_type, fingerprint, blob, comment, limit)

    def keys_for(self, account_id):
        return self.pool.runInteraction(keys.list_for, account_id)

    def remove_key(self, account_id, fingerprint):
        return self.pool.runInteraction(keys.remove, account_id, fingerprint)

    def account_for_key(self, name, blob):
        return self.pool.runInteraction(keys.account_for_key, name, blob)

    def bind_certificate(self, account_id, fingerprint):
        return self.pool.runInteraction(bound_certificates.bind, account_id, fingerprint)

    def certificates_of(self, account_id):
        return self.pool.runInteraction(bound_certificates.list_for, account_id)

    def unbind_certificate(self, account_id, fingerprint):
        return self.pool.runInteraction(bound_certificates.unbind, account_id, fingerprint)

    def account_id_by_certificate(self, fingerprint):
        return self.pool.runInteraction(bound_certificates.account_for, fingerprint)

    def plugin_data_get(self, plugin, scope, owner, key):
        return self.pool.runInteraction(plugin_data.get, plugin, scope, owner, key)

    def plugin_data_put(self, plugin, scope, owner, key, value):
        return self.pool.runInteraction(plugin_data.put, plugin, scope, owner, key, value)

    def plugin_data_delete(self, plugin, scope, owner, key):
        return self.pool.runInteraction(plugin_data.delete, plugin, scope, owner, key)

    def plugin_data_keys(self, plugin, scope, owner):
        return self.pool.runInteraction(plugin_data.keys, plugin, scope, owner)

    def plugin_data_update(self, plugin, scope, owner, key, function, default):
        return self.pool.runInteraction(plugin_data.update, plugin, scope, owner, key, function, default)


def _open_connection(connection):
    schema.configure(connection)


def connection_pool(path):
    """
    An adbapi pool of exactly one connection: SQLite has one writer, and a
    single database thread keeps every transaction in submission order.
    """
    return adbapi.ConnectionPool(
        "sqlite3",
        str(path),
        check_same_thread=False,
        cp_min=1,
        cp_max=1,
        cp_openfun=_open_connection,
        cp_noisy=False,
    )


class StoreService(Service):
    """
    Starts the database thread with the daemon and closes the database
    cleanly when it stops (after in-flight transactions have finished).
    """

    name = "store"

    def __init__(self, pool):
        self.pool = pool

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.close()
