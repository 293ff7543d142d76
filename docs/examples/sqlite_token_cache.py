"""A token cache in one SQLite file that every process opening it shares (docs/caches.rst).

It passes officernd_auth.testing.conformance.TokenCacheContract (tests/test_conformance.py).
"""

import contextlib
import sqlite3

from officernd_auth.cache import BaseTokenCache, record_of, token_from_record


class SqliteTokenCache(BaseTokenCache):
    def __init__(self, path):
        self.path = str(path)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, record TEXT)")

    def __reduce__(self):  # in another process: the same file
        return (SqliteTokenCache, (self.path,))

    def _db(self, path=None, timeout=30.0):
        connection = sqlite3.connect(path or self.path, timeout=timeout, isolation_level=None)
        return contextlib.closing(connection)

    def get(self, key):
        with self._db() as db:
            row = db.execute("SELECT record FROM tokens WHERE key = ?", (key,)).fetchone()
        return token_from_record(row[0]) if row else None  # None for a corrupt record

    def set(self, key, token):
        with self._db() as db:
            db.execute("REPLACE INTO tokens VALUES (?, ?)", (key, record_of(token)))

    def delete(self, key):
        with self._db() as db:
            db.execute("DELETE FROM tokens WHERE key = ?", (key,))

    def discard(self, key, token):  # in one statement: a newer token stored meanwhile stays
        with self._db() as db:
            db.execute("DELETE FROM tokens WHERE key = ? AND record = ?", (key, record_of(token)))

    @contextlib.contextmanager
    def lock(self, key, timeout=None):
        # An exclusive transaction on a second file: other processes wait for it, and the
        # operating system releases it if this process dies. One lock for every key.
        with self._db(self.path + ".lock", 30.0 if timeout is None else timeout) as db:
            try:
                db.execute("BEGIN EXCLUSIVE")
            except sqlite3.OperationalError:  # waited long enough: go on without it
                yield
                return
            try:
                yield
            finally:
                db.execute("COMMIT")
