"""What gateway replicas share through Redis (``[redis]``): one rate-limit bucket per provider quota, and
(``cache_ttl_seconds`` > 0) a short cache of provider record reads.

Built with the gateway and closed with it. Without ``[redis]`` every process limits itself locally and
caches nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from customer_graph.connectors.base import Connector
from customer_graph.connectors.cache import CacheUnavailable, CachingConnector
from customer_graph.connectors.http import RateLimiter, TokenBucket
from customer_graph.domain.models import Provider
from customer_graph.server.metrics import cache_lookup, redis_error
from customer_graph.settings import RedisSettings, Settings
from customer_graph.store.redis import RedisRateLimiter


class SharedState:
    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        password = settings.password.get_secret_value() if settings.password else None
        self.redis = Redis.from_url(
            settings.url, password=password, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
        )

    def key(self, *parts: str) -> str:
        return ":".join((self.settings.key_prefix, *parts))

    def rate_limiters(self, settings: Settings) -> Mapping[Provider, RateLimiter]:
        """A shared bucket for every provider with a per-minute limit (when ``rate_limits`` is on)."""
        if not self.settings.rate_limits:
            return {}
        limiters: dict[Provider, RateLimiter] = {}
        for provider, section in settings.enabled_providers().items():
            policy = section.policy
            if policy.rate_limit_per_minute:
                limiters[provider] = RedisRateLimiter(
                    self.redis,
                    self.key("ratelimit", provider.name),
                    policy.rate_limit_per_minute,
                    policy.rate_limit_burst,
                    fallback=TokenBucket(policy.rate_limit_per_minute, policy.rate_limit_burst),
                    on_error=lambda: redis_error("rate_limit"),
                )
        return limiters

    def cached(self, connectors: Mapping[Provider, Connector]) -> dict[Provider, Connector]:
        """The connectors, each behind the shared record cache when one is configured."""
        ttl = self.settings.cache_ttl_seconds
        if not ttl:
            return dict(connectors)
        cache = RedisRecordCache(self.redis, self.key("cache"))
        return {
            provider: CachingConnector(
                connector,
                cache,
                ttl,
                on_lookup=functools.partial(cache_lookup, provider),
                on_error=functools.partial(redis_error, "cache"),
            )
            for provider, connector in connectors.items()
        }

    async def aclose(self) -> None:
        await self.redis.aclose()


class RedisRecordCache:
    """:class:`~customer_graph.connectors.cache.RecordCache` in Redis: one hash per record (a field per set of
    facets), so that a write drops every variant of a record with one ``DEL``."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[bytes | None]:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for record, variant in keys:
                    pipe.hget(f"{self.prefix}:{record}", variant)
                values: list[bytes | None] = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(type(exc).__name__) from None
        return values

    async def put_many(self, items: Sequence[tuple[str, str, bytes]], ttl_seconds: float) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for record, variant, blob in items:
                    pipe.hset(f"{self.prefix}:{record}", variant, blob)
                    pipe.pexpire(f"{self.prefix}:{record}", max(1, int(ttl_seconds * 1000)))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(type(exc).__name__) from None

    async def drop(self, records: Sequence[str]) -> None:
        try:
            await self.redis.delete(*(f"{self.prefix}:{record}" for record in records))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(type(exc).__name__) from None
