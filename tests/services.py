"""The local PostgreSQL and Redis the replica tests use (both run on CI's machine).

``CUSTOMER_GRAPH_TEST_POSTGRES`` and ``CUSTOMER_GRAPH_TEST_REDIS`` override where they are. When one is not
reachable, its tests are skipped on a developer's machine and fail on CI (``CI`` set), so that CI can never
pass by skipping them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import pytest

POSTGRES = os.environ.get("CUSTOMER_GRAPH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CUSTOMER_GRAPH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str) -> str:
    url, port = {"postgres": (POSTGRES, 5432), "redis": (REDIS, 6379)}[service]
    if not _reachable(url, port):
        message = f"{service} is not reachable at {url}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A new empty schema in the test database, dropped afterwards."""
    dsn = require("postgres")
    name = f"test_{secrets.token_hex(6)}"
    try:
        yield name
    finally:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await connection.close()


def drop_schema(name: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await connection.close()

    asyncio.run(drop())
