"""What gateway replicas share through Redis (``[redis]``): one rate-limit bucket per provider quota.

Built with the gateway and closed with it. Without ``[redis]`` every process limits itself locally.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from customer_graph.connectors.http import RateLimiter, TokenBucket
from customer_graph.domain.models import Provider
from customer_graph.server.metrics import redis_error
from customer_graph.settings import RedisSettings, Settings
from customer_graph.store.redis import RedisRateLimiter


class SharedState:
    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        password = settings.password.get_secret_value() if settings.password else None
        self.redis = Redis.from_url(settings.url, password=password, socket_timeout=2.0, socket_connect_timeout=2.0,
                                    health_check_interval=30)

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
                    self.redis, self.key("ratelimit", provider.name), policy.rate_limit_per_minute,
                    policy.rate_limit_burst,
                    fallback=TokenBucket(policy.rate_limit_per_minute, policy.rate_limit_burst),
                    on_error=lambda: redis_error("rate_limit"))
        return limiters

    async def aclose(self) -> None:
        await self.redis.aclose()
