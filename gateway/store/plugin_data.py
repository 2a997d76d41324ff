"""
Game plugins' persistent data: JSON values by plugin, scope (an account or
a room), owner and key.  Each function runs inside one transaction.
"""

import json


def get(cursor, plugin, scope, owner, key):
    """
    @return: the stored JSON text, or L{None} when there is none.
    """
    cursor.execute(
        "SELECT value FROM plugin_data WHERE plugin = ? AND scope = ? AND owner = ? AND key = ?",
        (plugin, scope, owner, key),
    )
    row = cursor.fetchone()
    return None if row is None else row[0]


def put(cursor, plugin, scope, owner, key, value):
    """
    Store the JSON text C{value}, replacing what was there.
    """
    cursor.execute(
        "INSERT INTO plugin_data (plugin, scope, owner, key, value) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (plugin, scope, owner, key) DO UPDATE SET value = excluded.value",
        (plugin, scope, owner, key, value),
    )


def delete(cursor, plugin, scope, owner, key):
    """
    @return: whether there was a value.
    """
    cursor.execute(
        "DELETE FROM plugin_data WHERE plugin = ? AND scope = ? AND owner = ? AND key = ?",
        (plugin, scope, owner, key),
    )
    return cursor.rowcount == 1


def keys(cursor, plugin, scope, owner):
    """
    @return: the keys with a value, sorted.
    """
    cursor.execute(
        "SELECT key FROM plugin_data WHERE plugin = ? AND scope = ? AND owner = ? ORDER BY key",
        (plugin, scope, owner),
    )
    return [row[0] for row in cursor.fetchall()]


def update(cursor, plugin, scope, owner, key, function, default):
    """
    Replace the value with C{function(value)} (C{default} when there is
    none), reading and writing in this one transaction.

    @return: the new value.
    """
    text = get(cursor, plugin, scope, owner, key)
    value = function(default if text is None else json.loads(text))
    put(cursor, plugin, scope, owner, key, json.dumps(value))
    return value
