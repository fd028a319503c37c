"""The store in a SQLite file: crosswalk, write journal and idempotency keys; zero set-up, one process.

Statements are tiny indexed lookups (tens of microseconds), so they run on the event loop thread rather
than paying a thread hop each; writes are serialised by one lock and committed per call.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import orjson

from customer_graph.domain.models import IdentifierKey, Provider
from customer_graph.store.base import (
    AuditEvent,
    Claim,
    ClaimState,
    JournalStep,
    JournalWrite,
    RecordKey,
    StepStatus,
    WriteStatus,
    new_write_id,
)

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
CREATE TABLE IF NOT EXISTS journal_writes (
    id TEXT PRIMARY KEY,
    mutation TEXT NOT NULL,
    person_id TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_open ON journal_writes(status);
CREATE TABLE IF NOT EXISTS journal_steps (
    write_id TEXT NOT NULL REFERENCES journal_writes(id),
    seq INTEGER NOT NULL,
    provider TEXT NOT NULL,
    operation TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    result TEXT,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (write_id, seq)
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    response TEXT,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    at REAL NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    subjects TEXT NOT NULL,
    write_id TEXT,
    outcome TEXT NOT NULL
);
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


class SqliteStore:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._write = asyncio.Lock()
        self._locked: set[str] = set()

    async def links(self, records: Sequence[RecordKey]) -> dict[RecordKey, str]:
        found: dict[RecordKey, str] = {}
        for record in set(records):
            row = self._db.execute(
                "SELECT person_id FROM links WHERE provider=? AND record_id=?",
                (record.provider.value, record.record_id),
            ).fetchone()
            if row:
                found[record] = self._resolve(row[0]) or row[0]
        return found

    async def records_of(self, person_id: str) -> list[RecordKey]:
        live = self._resolve(person_id)
        if live is None:
            return []
        rows = self._db.execute(
            "SELECT provider, record_id FROM links WHERE person_id=? ORDER BY linked_at, provider, record_id", (live,)
        ).fetchall()
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
            rows = self._db.execute(
                "SELECT provider, record_id FROM identifiers WHERE type=? AND value=? ORDER BY provider, record_id",
                (key.type.value, key.value),
            ).fetchall()
            if rows:
                found[key] = [RecordKey(Provider(p), r) for p, r in rows]
        return found

    async def link(
        self,
        person_id: str | None,
        records: Sequence[RecordKey],
        identifiers: Sequence[tuple[IdentifierKey, RecordKey]],
    ) -> str:
        if person_id is None and not records:
            raise ValueError("a new person needs at least one record")
        async with self._write:
            with self._transaction() as db:
                if person_id is None:
                    person_id = person_id_for(min(records))
                    db.execute("INSERT OR IGNORE INTO persons(id) VALUES (?)", (person_id,))
                db.executemany(
                    "INSERT OR IGNORE INTO links(provider, record_id, person_id) VALUES (?, ?, ?)",
                    [(r.provider.value, r.record_id, person_id) for r in records],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO identifiers(type, value, provider, record_id) VALUES (?, ?, ?, ?)",
                    [(k.type.value, k.value, r.provider.value, r.record_id) for k, r in identifiers],
                )
        return person_id

    async def merge_persons(self, survivor_id: str, victim_id: str) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute("UPDATE links SET person_id=? WHERE person_id=?", (survivor_id, victim_id))
                db.execute("UPDATE persons SET merged_into=? WHERE id=?", (survivor_id, victim_id))

    async def replace_record(self, old: RecordKey, new: RecordKey) -> None:
        async with self._write:
            with self._transaction() as db:
                row = db.execute(
                    "SELECT person_id FROM links WHERE provider=? AND record_id=?", (old.provider.value, old.record_id)
                ).fetchone()
                if row is None:
                    return
                db.execute(
                    "INSERT OR IGNORE INTO links(provider, record_id, person_id) VALUES (?, ?, ?)",
                    (new.provider.value, new.record_id, row[0]),
                )
                db.execute("DELETE FROM links WHERE provider=? AND record_id=?", (old.provider.value, old.record_id))
                db.execute(
                    "UPDATE OR IGNORE identifiers SET record_id=? WHERE provider=? AND record_id=?",
                    (new.record_id, old.provider.value, old.record_id),
                )
                db.execute(
                    "DELETE FROM identifiers WHERE provider=? AND record_id=?", (old.provider.value, old.record_id)
                )

    async def unindex(self, key: IdentifierKey, record: RecordKey) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM identifiers WHERE type=? AND value=? AND provider=? AND record_id=?",
                    (key.type.value, key.value, record.provider.value, record.record_id),
                )

    async def unlink(self, record: RecordKey) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM links WHERE provider=? AND record_id=?", (record.provider.value, record.record_id)
                )
                db.execute(
                    "DELETE FROM identifiers WHERE provider=? AND record_id=?",
                    (record.provider.value, record.record_id),
                )

    # -- journal ------------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def begin(
        self, mutation: str, person_id: str | None, steps: Sequence[JournalStep], *, write_id: str | None = None
    ) -> JournalWrite:
        write = JournalWrite(
            id=write_id or new_write_id(),
            mutation=mutation,
            person_id=person_id,
            status=WriteStatus.OPEN,
            created_at=time.time(),
            steps=list(steps),
        )
        async with self._write:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO journal_writes(id, mutation, person_id, status, created_at) VALUES (?,?,?,?,?)",
                    (write.id, mutation, person_id, write.status.value, write.created_at),
                )
                db.executemany(
                    "INSERT INTO journal_steps(write_id, seq, provider, operation, args, status, attempts, "
                    "error_code, result, next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(write.id, *self._step_row(step)) for step in steps],
                )
        return write

    @staticmethod
    def _step_row(step: JournalStep) -> tuple[Any, ...]:
        return (
            step.seq,
            step.provider.value,
            step.operation,
            orjson.dumps(step.args).decode(),
            step.status.value,
            step.attempts,
            step.error_code,
            orjson.dumps(step.result).decode() if step.result is not None else None,
            step.next_attempt_at,
        )

    @asynccontextmanager
    async def lock_write(self, write_id: str) -> AsyncIterator[bool]:
        # One process per SQLite file: a lock within this process is a lock (PostgreSQL serves replicas).
        if write_id in self._locked:
            yield False
            return
        self._locked.add(write_id)
        try:
            yield True
        finally:
            self._locked.discard(write_id)

    async def update_step(self, write_id: str, step: JournalStep) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute(
                    "UPDATE journal_steps SET status=?, attempts=?, error_code=?, result=?, next_attempt_at=?, args=? "
                    "WHERE write_id=? AND seq=?",
                    (
                        step.status.value,
                        step.attempts,
                        step.error_code,
                        orjson.dumps(step.result).decode() if step.result is not None else None,
                        step.next_attempt_at,
                        orjson.dumps(step.args).decode(),
                        write_id,
                        step.seq,
                    ),
                )

    async def set_person(self, write_id: str, person_id: str) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute("UPDATE journal_writes SET person_id=? WHERE id=?", (person_id, write_id))

    async def finish(self, write_id: str) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute("UPDATE journal_writes SET status=? WHERE id=?", (WriteStatus.DONE.value, write_id))

    async def get(self, write_id: str) -> JournalWrite | None:
        row = self._db.execute(
            "SELECT id, mutation, person_id, status, created_at FROM journal_writes WHERE id=?", (write_id,)
        ).fetchone()
        return self._write_from(row) if row else None

    async def open_writes(self) -> list[JournalWrite]:
        rows = self._db.execute(
            "SELECT id, mutation, person_id, status, created_at FROM journal_writes WHERE status=? ORDER BY created_at",
            (WriteStatus.OPEN.value,),
        ).fetchall()
        return [self._write_from(row) for row in rows]

    def _write_from(self, row: tuple[Any, ...]) -> JournalWrite:
        steps = self._db.execute(
            "SELECT seq, provider, operation, args, status, attempts, error_code, result, "
            "next_attempt_at FROM journal_steps WHERE write_id=? ORDER BY seq",
            (row[0],),
        )
        return JournalWrite(
            id=row[0],
            mutation=row[1],
            person_id=row[2],
            status=WriteStatus(row[3]),
            created_at=row[4],
            steps=[
                JournalStep(
                    seq=s[0],
                    provider=Provider(s[1]),
                    operation=s[2],
                    args=orjson.loads(s[3]),
                    status=StepStatus(s[4]),
                    attempts=s[5],
                    error_code=s[6],
                    result=orjson.loads(s[7]) if s[7] else None,
                    next_attempt_at=s[8],
                )
                for s in steps.fetchall()
            ],
        )

    # -- idempotency keys ------------------------------------------------------------------------------

    async def claim(self, key: str, request_hash: str, ttl_seconds: float) -> Claim:
        now = time.time()
        async with self._write:
            with self._transaction() as db:
                db.execute("DELETE FROM idempotency_keys WHERE key=? AND expires_at <= ?", (key, now))
                row = db.execute("SELECT request_hash, response FROM idempotency_keys WHERE key=?", (key,)).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO idempotency_keys(key, request_hash, response, expires_at) VALUES (?, ?, NULL, ?)",
                        (key, request_hash, now + ttl_seconds),
                    )
                    return Claim(ClaimState.NEW)
        if row[0] != request_hash:
            return Claim(ClaimState.MISMATCH)
        if row[1] is None:
            return Claim(ClaimState.IN_PROGRESS)
        return Claim(ClaimState.DONE, orjson.loads(row[1]))

    async def complete(self, key: str, response: dict[str, Any]) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute("UPDATE idempotency_keys SET response=? WHERE key=?", (orjson.dumps(response).decode(), key))

    async def release(self, key: str) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute("DELETE FROM idempotency_keys WHERE key=? AND response IS NULL", (key,))

    # -- audit log --------------------------------------------------------------------------------------

    async def audit(self, event: AuditEvent) -> None:
        async with self._write:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO audit_log(at, action, actor, subjects, write_id, outcome) VALUES (?,?,?,?,?,?)",
                    (
                        event.at or time.time(),
                        event.action,
                        event.actor,
                        ",".join(event.subjects),
                        event.write_id,
                        event.outcome,
                    ),
                )

    async def audit_events(self, limit: int = 100) -> list[AuditEvent]:
        rows = self._db.execute(
            "SELECT at, action, actor, subjects, write_id, outcome FROM audit_log ORDER BY at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [
            AuditEvent(action=r[1], actor=r[2], subjects=tuple(r[3].split(",")), write_id=r[4], outcome=r[5], at=r[0])
            for r in rows
        ]

    async def close(self) -> None:
        self._db.close()
