"""
Persistent data for game plugins: JSON values kept per account or per room,
in the store's C{plugin_data} table.
"""

import json


class PluginData:
    """
    One game plugin's persistent data (C{core.games.data(name)}).
    """

    def __init__(self, store, plugin):
        """
        @param store: the L{gateway.store.database.Store}.
        @param plugin: the plugin's name; its data is kept apart from every
            other plugin's.
        """
        self._store = store
        self.plugin = plugin

    def account(self, account):
        """
        The data about one account.

        @param account: an L{gateway.interfaces.IAccount} (C{session.account}).
        @rtype: L{DataScope}
        """
        return DataScope(self._store, self.plugin, "account", str(account.id))

    def room(self, room_id):
        """
        The data about one room.

        @param room_id: the room's id (C{session.room}).
        @rtype: L{DataScope}
        """
        return DataScope(self._store, self.plugin, "room", room_id)


class DataScope:
    """
    The values a plugin keeps about one account or one room, by key.  Every
    method runs one database transaction and returns a L{Deferred}; values
    are anything L{json.dumps} takes, and come back as L{json.loads} gives
    them (tuples come back as lists).
    """

    def __init__(self, store, plugin, scope, owner):
        self._store = store
        self._where = (plugin, scope, owner)

    def get(self, key, default=None):
        """
        @return: a L{Deferred} firing with the value, or C{default} when
            there is none.
        """
        d = self._store.plugin_data_get(*self._where, key)
        return d.addCallback(lambda text: default if text is None else json.loads(text))

    def set(self, key, value):
        """
        Store C{value} under C{key}, replacing what was there.

        @raise TypeError: at once, when C{value} is not JSON-serialisable.
        @return: a L{Deferred} firing with L{None} once it is written.
        """
        return self._store.plugin_data_put(*self._where, key, json.dumps(value))

    def delete(self, key):
        """
        @return: a L{Deferred} firing with whether there was a value.
        """
        return self._store.plugin_data_delete(*self._where, key)

    def keys(self):
        """
        @return: a L{Deferred} firing with the keys that have a value,
            sorted.
        """
        return self._store.plugin_data_keys(*self._where)

    def update(self, key, function, default=None):
        """
        Replace the value with C{function(value)} in one transaction, so
        two updates never lose one another's change.  C{function} runs on
        the database thread: it must be quick and touch nothing but its
        argument.

        @param default: what C{function} is given when there is no value.
        @return: a L{Deferred} firing with the new value.
        """
        return self._store.plugin_data_update(*self._where, key, function, default)
