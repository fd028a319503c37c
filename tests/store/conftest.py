"""Every store test runs against each backend: SQLite in a temporary file, PostgreSQL in a fresh schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from customer_graph.store.base import Store
from customer_graph.store.postgres import PostgresStore
from customer_graph.store.sqlite import SqliteStore
from tests.services import fresh_schema, require

# Opens the test's store: a second call opens the same data again (a restart).
StoreFactory = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgres"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    opened: list[Store] = []
    if request.param == "sqlite":

        def make() -> Store:
            opened.append(SqliteStore(tmp_path / "store.sqlite3"))
            return opened[-1]

        yield make
    else:
        dsn = require("postgres")
        async with fresh_schema() as schema:

            def make() -> Store:
                opened.append(PostgresStore(dsn, schema=schema))
                return opened[-1]

            yield make
            for store in opened:
                await store.close()
    for store in opened:
        await store.close()
