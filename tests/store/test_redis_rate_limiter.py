"""The rate-limit bucket in Redis: one quota for every process that shares its key, and a local fallback."""

from __future__ import annotations

import asyncio
import secrets
import time

from redis.asyncio import Redis

from customer_graph.connectors.http import TokenBucket
from customer_graph.store.redis import RedisRateLimiter
from tests.services import require


async def test_two_processes_sharing_a_key_share_one_quota() -> None:
    url = require("redis")
    key = f"test:ratelimit:{secrets.token_hex(4)}"
    # Two limiters on separate connections: what two gateway replicas hold.
    redis, other = Redis.from_url(url), Redis.from_url(url)
    try:
        one = RedisRateLimiter(redis, key, 600, 20, fallback=TokenBucket(600, 20))
        two = RedisRateLimiter(other, key, 600, 20, fallback=TokenBucket(600, 20))
        granted: list[float] = []
        started = time.monotonic()

        async def take(limiter: RedisRateLimiter) -> None:
            await limiter.acquire()
            granted.append(time.monotonic() - started)

        await asyncio.gather(*(take(one if i % 2 else two) for i in range(40)))
        # 20 at once (the burst), then 580 a minute (9.67 a second), whichever limiter asks.
        rate = 580 / 60
        assert sorted(granted)[19] < 0.5
        for at in granted:
            assert sum(1 for t in granted if t <= at) <= 20 + rate * at + 1
        assert max(granted) >= 20 / rate * 0.95
        ttl = await redis.pttl(key)
        assert 0 < ttl <= (20 / rate + 60) * 1000 + 1
    finally:
        await redis.delete(key)
        await redis.aclose()
        await other.aclose()


async def test_without_redis_calls_fall_back_to_a_local_bucket_and_say_so() -> None:
    errors: list[str] = []
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    fallback = TokenBucket(600, 2)
    limiter = RedisRateLimiter(dead, "k", 600, 2, fallback=fallback, on_error=lambda: errors.append("redis"))
    try:
        assert await limiter.acquire() == 0
        assert await limiter.acquire() == 0
        assert await limiter.acquire() > 0  # the local bucket's burst of 2 is spent: it waited
        assert errors == ["redis"] * 3
    finally:
        await dead.aclose()
