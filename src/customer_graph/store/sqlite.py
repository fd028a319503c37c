"""The crosswalk in a SQLite file: zero set-up, one process.

Statements are tiny indexed lookups (tens of microseconds), so they run on the event loop thread rather
than paying a thread hop each; writes are serialised by one lock and committed per call.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from customer_graph.domain.models import IdentifierKey, Provider
from customer_graph.store.base import RecordKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY,
    merged_into TEXT REFERENCES persons(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS links (
    provider TEXT NOT NULL,
    record_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id),
    linked_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (provider, record_id)
);
CREATE INDEX IF NOT EXISTS links_by_person ON links(person_id);
CREATE TABLE IF NOT EXISTS identifiers (
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    provider TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (type, value, provider, record_id)
);
"""


def person_id_for(anchor: RecordKey) -> str:
    """A person id derived from the first record linked to it: stable across runs over the same data."""
    digest = hashlib.sha256(f"{anchor.provider.value}:{anchor.record_id}".encode()).hexdigest()
    return f"cus_{digest[:20]}"


class SqliteCrosswalk:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._write = asyncio.Lock()

    async def links(self, records: Sequence[RecordKey]) -> dict[RecordKey, str]:
        found: dict[RecordKey, str] = {}
        for record in set(records):
            row = self._db.execute("SELECT person_id FROM links WHERE provider=? AND record_id=?",
                                   (record.provider.value, record.record_id)).fetchone()
            if row:
                found[record] = self._resolve(row[0]) or row[0]
        return found

    async def records_of(self, person_id: str) -> list[RecordKey]:
        live = self._resolve(person_id)
        if live is None:
            return []
        rows = self._db.execute("SELECT provider, record_id FROM links WHERE person_id=? ORDER BY linked_at, "
                                "provider, record_id", (live,)).fetchall()
        return [RecordKey(Provider(p), r) for p, r in rows]

    async def resolve(self, person_id: str) -> str | None:
        return self._resolve(person_id)

    def _resolve(self, person_id: str) -> str | None:
        seen = set()
        current: str | None = person_id
        while current is not None and current not in seen:
            seen.add(current)
            row = self._db.execute("SELECT merged_into FROM persons WHERE id=?", (current,)).fetchone()
            if row is None:
                return None
            if row[0] is None:
                return current
            current = row[0]
        return None

    async def find_identifiers(self, keys: Sequence[IdentifierKey]) -> dict[IdentifierKey, list[RecordKey]]:
        found: dict[IdentifierKey, list[RecordKey]] = {}
        for key in set(keys):
            rows = self._db.execute("SELECT provider, record_id FROM identifiers WHERE type=? AND value=? "
                                    "ORDER BY provider, record_id", (key.type.value, key.value)).fetchall()
            if rows:
                found[key] = [RecordKey(Provider(p), r) for p, r in rows]
        return found

    async def link(self, person_id: str | None, records: Sequence[RecordKey],
                   identifiers: Sequence[tuple[IdentifierKey, RecordKey]]) -> str:
        if person_id is None and not records:
            raise ValueError("a new person needs at least one record")
        async with self._write:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if person_id is None:
                    person_id = person_id_for(min(records))
                    db.execute("INSERT OR IGNORE INTO persons(id) VALUES (?)", (person_id,))
                db.executemany("INSERT OR IGNORE INTO links(provider, record_id, person_id) VALUES (?, ?, ?)",
                               [(r.provider.value, r.record_id, person_id) for r in records])
                db.executemany("INSERT OR IGNORE INTO identifiers(type, value, provider, record_id) "
                               "VALUES (?, ?, ?, ?)",
                               [(k.type.value, k.value, r.provider.value, r.record_id) for k, r in identifiers])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return person_id

    async def merge_persons(self, survivor_id: str, victim_id: str) -> None:
        async with self._write:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("UPDATE links SET person_id=? WHERE person_id=?", (survivor_id, victim_id))
                db.execute("UPDATE persons SET merged_into=? WHERE id=?", (survivor_id, victim_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def replace_record(self, old: RecordKey, new: RecordKey) -> None:
        async with self._write:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT person_id FROM links WHERE provider=? AND record_id=?",
                                 (old.provider.value, old.record_id)).fetchone()
                if row is not None:
                    db.execute("INSERT OR IGNORE INTO links(provider, record_id, person_id) VALUES (?, ?, ?)",
                               (new.provider.value, new.record_id, row[0]))
                    db.execute("DELETE FROM links WHERE provider=? AND record_id=?",
                               (old.provider.value, old.record_id))
                    db.execute("UPDATE OR IGNORE identifiers SET record_id=? WHERE provider=? AND record_id=?",
                               (new.record_id, old.provider.value, old.record_id))
                    db.execute("DELETE FROM identifiers WHERE provider=? AND record_id=?",
                               (old.provider.value, old.record_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def close(self) -> None:
        self._db.close()

