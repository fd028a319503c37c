"""The store in PostgreSQL (asyncpg): the same contract as the SQLite store, shared by gateway replicas.

- **Migrations** are numbered SQL scripts (:data:`MIGRATIONS`), applied in order when the store opens, each
  recorded in ``schema_migrations``. Replicas starting together take a transaction-level advisory lock first,
  so exactly one of them applies a migration and the others find it applied.
- **Concurrency between replicas** is the database's: a link is ``INSERT ... ON CONFLICT DO NOTHING`` (a person
  id derives from its first record, so two replicas linking the same records agree on it); an idempotency
  claim is one transaction whose unique key makes one replica the owner and the others wait or replay.
- **A write runs in one place at a time**: :meth:`PostgresStore.lock_write` takes a session-level advisory
  lock on one dedicated connection. A replica killed mid-write drops that connection, and PostgreSQL releases
  its locks at once, so another replica resumes the write without waiting for a lease to expire.
- The store connects lazily: the first call opens the pool and migrates (the server's journal worker makes
  that call at start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

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
from customer_graph.store.sqlite import person_id_for

# Advisory lock keys: (namespace, key). The namespace is "cg" in ASCII, so as not to meet other applications'.
LOCK_NAMESPACE = 0x6367
MIGRATION_LOCK = 1

# (version, name, SQL). Append only: a released migration is never edited.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial",
        """
CREATE TABLE persons (
    id text PRIMARY KEY,
    merged_into text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE links (
    provider text NOT NULL,
    record_id text NOT NULL,
    person_id text NOT NULL,
    linked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (provider, record_id)
);
CREATE INDEX links_by_person ON links (person_id);
CREATE TABLE identifiers (
    type text NOT NULL,
    value text NOT NULL,
    provider text NOT NULL,
    record_id text NOT NULL,
    PRIMARY KEY (type, value, provider, record_id)
);
CREATE INDEX identifiers_by_record ON identifiers (provider, record_id);
CREATE TABLE journal_writes (
    id text PRIMARY KEY,
    mutation text NOT NULL,
    person_id text,
    status text NOT NULL,
    created_at double precision NOT NULL
);
CREATE INDEX journal_open ON journal_writes (created_at) WHERE status = 'OPEN';
CREATE TABLE journal_steps (
    write_id text NOT NULL REFERENCES journal_writes (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    provider text NOT NULL,
    operation text NOT NULL,
    args json NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    error_code text,
    result json,
    next_attempt_at double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (write_id, seq)
);
CREATE TABLE idempotency_keys (
    key text PRIMARY KEY,
    request_hash text NOT NULL,
    response json,
    expires_at double precision NOT NULL
);
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    action text NOT NULL,
    actor text NOT NULL,
    subjects text[] NOT NULL,
    write_id text,
    outcome text NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);
""",
    ),
]

_RESOLVE = """
WITH RECURSIVE chain(id, merged_into, depth) AS (
    SELECT id, merged_into, 0 FROM persons WHERE id = $1
    UNION ALL
    SELECT p.id, p.merged_into, c.depth + 1 FROM persons p JOIN chain c ON p.id = c.merged_into WHERE c.depth < 64
)
SELECT id FROM chain WHERE merged_into IS NULL LIMIT 1
"""
Connection = asyncpg.Connection | PoolConnectionProxy
_STEP_COLUMNS = "seq, provider, operation, args, status, attempts, error_code, result, next_attempt_at"
_NOW = "extract(epoch FROM clock_timestamp())"


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "json", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
    )


class PostgresStore:
    def __init__(
        self,
        dsn: str,
        *,
        password: str | None = None,
        schema: str = "public",
        pool_size: int = 10,
        migrations: Sequence[tuple[int, str, str]] = MIGRATIONS,
    ) -> None:
        self._dsn = dsn
        self._password = password
        self.schema = schema
        self._pool_size = pool_size
        self._migrations = list(migrations)
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._lock_connection: asyncpg.Connection | None = None
        self._lock_guard = asyncio.Lock()
        self._locked: set[str] = set()

    # -- connections and migrations ------------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {
            "password": self._password,
            "server_settings": {"search_path": self.schema, "application_name": "customer-graph"},
        }

    async def open(self) -> None:
        """Connect and bring the schema up to date (idempotent; every method calls it)."""
        if self._pool is not None:
            return
        async with self._opening:
            if self._pool is not None:
                return
            pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self._pool_size, init=_init_connection, **self._connect_kwargs()
            )
            try:
                async with pool.acquire() as connection:
                    await self._migrate(connection)
            except BaseException:
                await pool.close()
                raise
            self._pool = pool

    async def _migrate(self, connection: Connection) -> list[int]:
        applied_now: list[int] = []
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_NAMESPACE, MIGRATION_LOCK)
            await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row["version"] for row in await connection.fetch("SELECT version FROM schema_migrations")}
            for version, name, sql in sorted(self._migrations):
                if version in applied:
                    continue
                await connection.execute(sql)
                await connection.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
                applied_now.append(version)
        return applied_now

    async def migrations(self) -> list[tuple[int, str]]:
        """The migrations applied to this schema, in order."""
        pool = await self._db()
        rows = await pool.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(row["version"], row["name"]) for row in rows]

    async def _db(self) -> asyncpg.Pool:
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        return self._pool

    async def close(self) -> None:
        async with self._lock_guard:
            if self._lock_connection is not None:
                await self._lock_connection.close()
                self._lock_connection = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # -- crosswalk ------------------------------------------------------------------------------------------

    async def links(self, records: Sequence[RecordKey]) -> dict[RecordKey, str]:
        unique = sorted(set(records))
        if not unique:
            return {}
        pool = await self._db()
        rows = await pool.fetch(
            "SELECT l.provider, l.record_id, l.person_id FROM links l "
            "JOIN unnest($1::text[], $2::text[]) AS k(provider, record_id) USING (provider, record_id)",
            [r.provider.value for r in unique],
            [r.record_id for r in unique],
        )
        found: dict[RecordKey, str] = {}
        live: dict[str, str | None] = {}
        for row in rows:
            person = row["person_id"]
            if person not in live:
                live[person] = await self._resolve(pool, person)
            found[RecordKey(Provider(row["provider"]), row["record_id"])] = live[person] or person
        return found

    async def records_of(self, person_id: str) -> list[RecordKey]:
        pool = await self._db()
        live = await self._resolve(pool, person_id)
        if live is None:
            return []
        rows = await pool.fetch(
            "SELECT provider, record_id FROM links WHERE person_id = $1 ORDER BY linked_at, provider, record_id", live
        )
        return [RecordKey(Provider(row["provider"]), row["record_id"]) for row in rows]

    async def resolve(self, person_id: str) -> str | None:
        return await self._resolve(await self._db(), person_id)

    @staticmethod
    async def _resolve(pool: asyncpg.Pool | Connection, person_id: str) -> str | None:
        result: str | None = await pool.fetchval(_RESOLVE, person_id)
        return result

    async def find_identifiers(self, keys: Sequence[IdentifierKey]) -> dict[IdentifierKey, list[RecordKey]]:
        unique = list(set(keys))
        if not unique:
            return {}
        pool = await self._db()
        rows = await pool.fetch(
            "SELECT i.type, i.value, i.provider, i.record_id FROM identifiers i "
            "JOIN unnest($1::text[], $2::text[]) AS k(type, value) USING (type, value) "
            "ORDER BY i.provider, i.record_id",
            [k.type.value for k in unique],
            [k.value for k in unique],
        )
        by_value = {(k.type.value, k.value): k for k in unique}
        found: dict[IdentifierKey, list[RecordKey]] = {}
        for row in rows:
            key = by_value[(row["type"], row["value"])]
            found.setdefault(key, []).append(RecordKey(Provider(row["provider"]), row["record_id"]))
        return found

    async def link(
        self,
        person_id: str | None,
        records: Sequence[RecordKey],
        identifiers: Sequence[tuple[IdentifierKey, RecordKey]],
    ) -> str:
        if person_id is None and not records:
            raise ValueError("a new person needs at least one record")
        pool = await self._db()
        async with pool.acquire() as connection, connection.transaction():
            if person_id is None:
                person_id = person_id_for(min(records))
                await connection.execute("INSERT INTO persons (id) VALUES ($1) ON CONFLICT DO NOTHING", person_id)
            if records:
                await connection.execute(
                    "INSERT INTO links (provider, record_id, person_id) "
                    "SELECT provider, record_id, $3 FROM unnest($1::text[], $2::text[]) AS k(provider, record_id) "
                    "ON CONFLICT DO NOTHING",
                    [r.provider.value for r in records],
                    [r.record_id for r in records],
                    person_id,
                )
            if identifiers:
                await connection.execute(
                    "INSERT INTO identifiers (type, value, provider, record_id) "
                    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
                    [k.type.value for k, _ in identifiers],
                    [k.value for k, _ in identifiers],
                    [r.provider.value for _, r in identifiers],
                    [r.record_id for _, r in identifiers],
                )
        return person_id

    async def merge_persons(self, survivor_id: str, victim_id: str) -> None:
        pool = await self._db()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("UPDATE links SET person_id = $1 WHERE person_id = $2", survivor_id, victim_id)
            await connection.execute("UPDATE persons SET merged_into = $1 WHERE id = $2", survivor_id, victim_id)

    async def replace_record(self, old: RecordKey, new: RecordKey) -> None:
        pool = await self._db()
        async with pool.acquire() as connection, connection.transaction():
            person = await connection.fetchval(
                "SELECT person_id FROM links WHERE provider = $1 AND record_id = $2 FOR UPDATE",
                old.provider.value,
                old.record_id,
            )
            if person is None:
                return
            await connection.execute(
                "INSERT INTO links (provider, record_id, person_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                new.provider.value,
                new.record_id,
                person,
            )
            await connection.execute(
                "DELETE FROM links WHERE provider = $1 AND record_id = $2", old.provider.value, old.record_id
            )
            await connection.execute(
                "INSERT INTO identifiers (type, value, provider, record_id) "
                "SELECT type, value, provider, $3 FROM identifiers "
                "WHERE provider = $1 AND record_id = $2 ON CONFLICT DO NOTHING",
                old.provider.value,
                old.record_id,
                new.record_id,
            )
            await connection.execute(
                "DELETE FROM identifiers WHERE provider = $1 AND record_id = $2", old.provider.value, old.record_id
            )

    async def unindex(self, key: IdentifierKey, record: RecordKey) -> None:
        pool = await self._db()
        await pool.execute(
            "DELETE FROM identifiers WHERE type = $1 AND value = $2 AND provider = $3 AND record_id = $4",
            key.type.value,
            key.value,
            record.provider.value,
            record.record_id,
        )

    async def unlink(self, record: RecordKey) -> None:
        pool = await self._db()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "DELETE FROM links WHERE provider = $1 AND record_id = $2", record.provider.value, record.record_id
            )
            await connection.execute(
                "DELETE FROM identifiers WHERE provider = $1 AND record_id = $2",
                record.provider.value,
                record.record_id,
            )

    # -- journal ----------------------------------------------------------------------------------------------

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
        pool = await self._db()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO journal_writes (id, mutation, person_id, status, created_at) VALUES ($1, $2, $3, $4, $5)",
                write.id,
                mutation,
                person_id,
                write.status.value,
                write.created_at,
            )
            await connection.executemany(
                f"INSERT INTO journal_steps (write_id, {_STEP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10)",
                [
                    (
                        write.id,
                        s.seq,
                        s.provider.value,
                        s.operation,
                        s.args,
                        s.status.value,
                        s.attempts,
                        s.error_code,
                        s.result,
                        s.next_attempt_at,
                    )
                    for s in steps
                ],
            )
        return write

    @contextlib.asynccontextmanager
    async def lock_write(self, write_id: str) -> AsyncIterator[bool]:
        if write_id in self._locked:  # advisory locks are re-entrant per session: this process checks itself
            yield False
            return
        self._locked.add(write_id)
        try:
            async with self._lock_guard:
                connection = await self._locks()
                held = bool(
                    await connection.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", LOCK_NAMESPACE, write_id)
                )
            try:
                yield held
            finally:
                if held:
                    async with self._lock_guard:
                        if not connection.is_closed():
                            await connection.execute(
                                "SELECT pg_advisory_unlock($1, hashtext($2))", LOCK_NAMESPACE, write_id
                            )
        finally:
            self._locked.discard(write_id)

    async def _locks(self) -> asyncpg.Connection:
        """The connection that holds this process's write locks (reopened if it was lost, with its locks)."""
        await self._db()
        if self._lock_connection is None or self._lock_connection.is_closed():
            self._lock_connection = await asyncpg.connect(self._dsn, **self._connect_kwargs())
        return self._lock_connection

    async def update_step(self, write_id: str, step: JournalStep) -> None:
        pool = await self._db()
        await pool.execute(
            "UPDATE journal_steps SET status = $1, attempts = $2, error_code = $3, result = $4, "
            "next_attempt_at = $5, args = $8 WHERE write_id = $6 AND seq = $7",
            step.status.value,
            step.attempts,
            step.error_code,
            step.result,
            step.next_attempt_at,
            write_id,
            step.seq,
            step.args,
        )

    async def set_person(self, write_id: str, person_id: str) -> None:
        pool = await self._db()
        await pool.execute("UPDATE journal_writes SET person_id = $1 WHERE id = $2", person_id, write_id)

    async def finish(self, write_id: str) -> None:
        pool = await self._db()
        await pool.execute("UPDATE journal_writes SET status = $1 WHERE id = $2", WriteStatus.DONE.value, write_id)

    async def get(self, write_id: str) -> JournalWrite | None:
        writes = await self._writes("WHERE id = $1", write_id)
        return writes[0] if writes else None

    async def open_writes(self) -> list[JournalWrite]:
        return await self._writes("WHERE status = $1 ORDER BY created_at", WriteStatus.OPEN.value)

    async def _writes(self, where: str, *args: Any) -> list[JournalWrite]:
        pool = await self._db()
        rows = await pool.fetch(
            f"SELECT id, mutation, person_id, status, created_at FROM journal_writes {where}", *args
        )
        if not rows:
            return []
        steps = await pool.fetch(
            f"SELECT write_id, {_STEP_COLUMNS} FROM journal_steps WHERE write_id = ANY($1) ORDER BY write_id, seq",
            [row["id"] for row in rows],
        )
        by_write: dict[str, list[JournalStep]] = {}
        for s in steps:
            by_write.setdefault(s["write_id"], []).append(
                JournalStep(
                    seq=s["seq"],
                    provider=Provider(s["provider"]),
                    operation=s["operation"],
                    args=s["args"],
                    status=StepStatus(s["status"]),
                    attempts=s["attempts"],
                    error_code=s["error_code"],
                    result=s["result"],
                    next_attempt_at=s["next_attempt_at"],
                )
            )
        return [
            JournalWrite(
                id=row["id"],
                mutation=row["mutation"],
                person_id=row["person_id"],
                status=WriteStatus(row["status"]),
                created_at=row["created_at"],
                steps=by_write.get(row["id"], []),
            )
            for row in rows
        ]

    # -- idempotency keys -------------------------------------------------------------------------------------

    async def claim(self, key: str, request_hash: str, ttl_seconds: float) -> Claim:
        pool = await self._db()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(f"DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= {_NOW}", key)
            # Of concurrent claims (any replica), one inserts; the others wait on its key, then read it.
            inserted = await connection.fetchval(
                "INSERT INTO idempotency_keys (key, request_hash, response, expires_at) "
                f"VALUES ($1, $2, NULL, {_NOW} + $3) ON CONFLICT (key) DO NOTHING RETURNING true",
                key,
                request_hash,
                float(ttl_seconds),
            )
            if inserted:
                return Claim(ClaimState.NEW)
            row = await connection.fetchrow("SELECT request_hash, response FROM idempotency_keys WHERE key = $1", key)
        if row is None:  # released between our insert and our read: the caller asks again
            return Claim(ClaimState.IN_PROGRESS)
        if row["request_hash"] != request_hash:
            return Claim(ClaimState.MISMATCH)
        if row["response"] is None:
            return Claim(ClaimState.IN_PROGRESS)
        return Claim(ClaimState.DONE, row["response"])

    async def complete(self, key: str, response: dict[str, Any]) -> None:
        pool = await self._db()
        await pool.execute("UPDATE idempotency_keys SET response = $1 WHERE key = $2", response, key)

    async def release(self, key: str) -> None:
        pool = await self._db()
        await pool.execute("DELETE FROM idempotency_keys WHERE key = $1 AND response IS NULL", key)

    # -- audit log --------------------------------------------------------------------------------------------

    async def audit(self, event: AuditEvent) -> None:
        pool = await self._db()
        await pool.execute(
            "INSERT INTO audit_log (at, action, actor, subjects, write_id, outcome) VALUES ($1, $2, $3, $4, $5, $6)",
            event.at or time.time(),
            event.action,
            event.actor,
            list(event.subjects),
            event.write_id,
            event.outcome,
        )

    async def audit_events(self, limit: int = 100) -> list[AuditEvent]:
        pool = await self._db()
        rows = await pool.fetch(
            "SELECT at, action, actor, subjects, write_id, outcome FROM audit_log ORDER BY at DESC, id DESC LIMIT $1",
            limit,
        )
        return [
            AuditEvent(
                action=r["action"],
                actor=r["actor"],
                subjects=tuple(r["subjects"]),
                write_id=r["write_id"],
                outcome=r["outcome"],
                at=r["at"],
            )
            for r in rows
        ]
