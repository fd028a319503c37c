"""What only the PostgreSQL store does: versioned migrations applied once by concurrent replicas, write locks
that hold across processes and are released when the holder's connection dies."""

from __future__ import annotations

import asyncio

import asyncpg

from customer_graph.store.postgres import MIGRATIONS, PostgresStore
from tests.services import fresh_schema, require


async def test_replicas_starting_together_apply_each_migration_once() -> None:
    dsn = require("postgres")
    async with fresh_schema() as schema:
        extra = [*MIGRATIONS, (2, "notes", "CREATE TABLE notes (id integer PRIMARY KEY)")]
        stores = [PostgresStore(dsn, schema=schema, migrations=extra) for _ in range(4)]
        try:
            await asyncio.gather(*(store.open() for store in stores))
            assert await stores[0].migrations() == [(1, "initial"), (2, "notes")]
            connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
            try:
                assert await connection.fetchval("SELECT count(*) FROM schema_migrations") == 2
                assert await connection.fetchval("SELECT to_regclass('notes') IS NOT NULL")
            finally:
                await connection.close()
        finally:
            for store in stores:
                await store.close()


async def test_a_restart_applies_only_new_migrations() -> None:
    dsn = require("postgres")
    async with fresh_schema() as schema:
        first = PostgresStore(dsn, schema=schema)
        await first.open()
        await first.close()
        # A migration that is not idempotent would fail if it ran twice.
        second = PostgresStore(dsn, schema=schema, migrations=[*MIGRATIONS, (2, "x", "CREATE TABLE x (id int)")])
        await second.open()
        third = PostgresStore(dsn, schema=schema, migrations=[*MIGRATIONS, (2, "x", "CREATE TABLE x (id int)")])
        try:
            await third.open()
            assert [v for v, _ in await third.migrations()] == [1, 2]
        finally:
            await second.close()
            await third.close()


async def test_a_write_lock_holds_across_replicas_and_dies_with_its_holder() -> None:
    dsn = require("postgres")
    async with fresh_schema() as schema:
        one, two = PostgresStore(dsn, schema=schema), PostgresStore(dsn, schema=schema)
        try:
            write = await one.begin("createCustomer", None, [])
            async with one.lock_write(write.id) as held:
                assert held
                async with two.lock_write(write.id) as elsewhere:
                    assert not elsewhere
                async with two.lock_write("wr_another") as other:
                    assert other  # a lock per write, not one for the journal
                # The holder's process dies: PostgreSQL drops its session and with it the lock.
                assert one._lock_connection is not None
                one._lock_connection.terminate()
                await asyncio.sleep(0.1)
                async with two.lock_write(write.id) as taken_over:
                    assert taken_over
        finally:
            await one.close()
            await two.close()
