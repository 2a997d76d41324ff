"""
The SQLite store: migrations, case-insensitive names, account records.
"""

import os
import sqlite3
import stat
from pathlib import Path

from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from gateway.errors import NameTaken, StartupError
from gateway.store import accounts
from gateway.store.schema import SCHEMA_VERSION, migrate, open_database, restrict_files


class MigrationTests(SynchronousTestCase):
    def test_fresh_database_reaches_current_version(self):
        path = Path(self.mktemp())
        connection = open_database(path)
        self.assertEqual(connection.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        self.assertEqual(connection.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        connection.close()

    def test_migrate_is_idempotent_and_keeps_data(self):
        path = Path(self.mktemp())
        connection = open_database(path)
        with connection:
            accounts.create(connection.cursor(), "Alice", "hash")
        connection.close()
        connection = open_database(path)
        self.assertEqual(migrate(connection), SCHEMA_VERSION)
        self.assertEqual(accounts.find_by_name(connection.cursor(), "alice").name, "Alice")
        connection.close()

    def test_newer_database_refused(self):
        path = Path(self.mktemp())
        raw = sqlite3.connect(str(path))
        raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
        raw.close()
        error = self.assertRaises(StartupError, open_database, path)
        self.assertIn("newer than this gateway understands", str(error))

    def test_not_a_database(self):
        path = Path(self.mktemp())
        path.write_bytes(b"this is not sqlite" * 100)
        error = self.assertRaises(StartupError, open_database, path)
        self.assertIn(f"{path}: cannot open the database", str(error))

    def test_failed_migration_rolls_back(self):
        connection = sqlite3.connect(":memory:", isolation_level=None)
        from gateway.store import schema

        self.patch(schema, "MIGRATIONS", schema.MIGRATIONS + ("CREATE TABLE t (x); THIS IS NOT SQL",))
        self.patch(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
        self.assertRaises(sqlite3.Error, schema.migrate, connection)
        self.assertEqual(connection.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        self.assertNotIn("t", tables)


class FileModeTests(SynchronousTestCase):
    """
    The database files are the daemon user's alone whatever the umask, and
    a data directory open to other users is reported.
    """

    def setUp(self):
        self.directory = Path(self.mktemp())
        self.directory.mkdir(mode=0o700)
        self.path = self.directory / "gateway.sqlite3"
        self.addCleanup(os.umask, os.umask(0))
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def modes(self):
        return {path.name: stat.S_IMODE(path.stat().st_mode) for path in self.directory.iterdir()}

    def warnings(self):
        return [formatEvent(event) for event in self.events if event.get("log_level") == LogLevel.warn]

    def test_created_owner_only_with_wal_and_shm(self):
        connection = open_database(self.path)
        with connection:
            accounts.create(connection.cursor(), "Alice", "hash")
        self.assertEqual(
            self.modes(),
            {"gateway.sqlite3": 0o600, "gateway.sqlite3-wal": 0o600, "gateway.sqlite3-shm": 0o600},
        )
        connection.close()
        self.assertEqual(self.warnings(), [])

    def test_existing_files_restricted(self):
        for name, mode in (("gateway.sqlite3", 0o644), ("gateway.sqlite3-wal", 0o666), ("gateway.sqlite3-shm", 0o640)):
            (self.directory / name).touch(mode)
        restrict_files(self.path)
        # 0640 is an operator's choice for the group, and kept.
        self.assertEqual(
            self.modes(),
            {"gateway.sqlite3": 0o600, "gateway.sqlite3-wal": 0o600, "gateway.sqlite3-shm": 0o640},
        )

    def test_directory_open_to_others_warned(self):
        self.directory.chmod(0o755)
        open_database(self.path).close()
        self.assertEqual(
            self.warnings(),
            [f"The data directory {self.directory.resolve()} is open to other users (mode 755); "
             f"make it 0750 or 0700: chmod o= {self.directory.resolve()}"],
        )


class AccountTests(SynchronousTestCase):
    def setUp(self):
        self.connection = sqlite3.connect(":memory:", isolation_level=None)
        migrate(self.connection)
        self.cursor = self.connection.cursor()

    def test_create_and_find_case_insensitively(self):
        account_id = accounts.create(self.cursor, "Alice", "h1", location="hall")
        record = accounts.find_by_name(self.cursor, "ALICE")
        self.assertEqual((record.id, record.name, record.role, record.location), (account_id, "Alice", "player", "hall"))
        self.assertEqual(accounts.find_by_id(self.cursor, account_id), record)
        self.assertIsNone(accounts.find_by_name(self.cursor, "bob"))

    def test_names_unique_regardless_of_case(self):
        accounts.create(self.cursor, "Alice", "h1")
        self.assertRaises(NameTaken, accounts.create, self.cursor, "aLiCe", "h2")

    def test_role_constrained(self):
        self.assertRaises(sqlite3.IntegrityError, accounts.create, self.cursor, "Eve", "h", "superuser")

    def test_password_location_login_and_delete(self):
        account_id = accounts.create(self.cursor, "Alice", "h1")
        self.assertTrue(accounts.set_password_hash(self.cursor, account_id, "h2"))
        self.assertFalse(accounts.set_password_hash(self.cursor, account_id + 1, "h2"))
        accounts.set_location(self.cursor, account_id, "yard")
        accounts.record_login(self.cursor, account_id)
        record = accounts.find_by_id(self.cursor, account_id)
        self.assertEqual((record.password_hash, record.location), ("h2", "yard"))
        self.assertIsNotNone(record.last_login_at)
        self.assertEqual([r.name for r in accounts.list_all(self.cursor)], ["Alice"])
        self.assertTrue(accounts.delete(self.cursor, "ALICE"))
        self.assertFalse(accounts.delete(self.cursor, "alice"))
