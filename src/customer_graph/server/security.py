"""``server.http.Security`` from the ``[server]``, ``[auth]`` and ``[limits]`` settings."""

from __future__ import annotations

from customer_graph.schema.access import ALL_SCOPES, Principal
from customer_graph.schema.limits import Limits
from customer_graph.server.auth import ApiKeys, Authenticator, Authenticators, JwksFile, JwtBearer
from customer_graph.server.http import Security
from customer_graph.server.ratelimit import ClientRateLimiter, TokenBucket
from customer_graph.settings import Settings


def build_security(settings: Settings, *, rate_limiter: ClientRateLimiter | None = None) -> Security:
    """``rate_limiter`` replaces the in-process token buckets (one shared by replicas, say)."""
    limits = settings.limits
    server = settings.server
    if rate_limiter is None and limits.rate_limit_per_minute > 0:
        rate_limiter = TokenBucket(limits.rate_limit_per_minute, limits.rate_limit_burst)
    return Security(
        authenticator=build_authenticator(settings) if settings.auth.required else None,
        rate_limiter=rate_limiter,
        limits=Limits(
            max_query_bytes=limits.max_query_bytes,
            max_tokens=limits.max_tokens,
            max_depth=limits.max_depth,
            max_aliases=limits.max_aliases,
            max_cost=limits.max_cost,
            default_list_size=limits.default_list_size,
            introspection=server.introspection,
            field_suggestions=server.field_suggestions,
        ),
        max_body_bytes=limits.max_body_bytes,
        csrf_prevention=server.csrf_prevention,
    )


def build_authenticator(settings: Settings) -> Authenticator:
    auth = settings.auth
    authenticators: list[Authenticator] = []
    if auth.api_keys:
        authenticators.append(
            ApiKeys(
                {key.digest(): Principal(key.client_id, frozenset(key.scopes) & ALL_SCOPES) for key in auth.api_keys}
            )
        )
    if auth.jwt is not None:
        jwt = auth.jwt
        authenticators.append(
            JwtBearer(
                hs256_secret=jwt.hs256_secret.get_secret_value().encode() if jwt.hs256_secret is not None else None,
                jwks=JwksFile(jwt.jwks_file) if jwt.jwks_file is not None else None,
                issuer=jwt.issuer,
                audience=jwt.audience,
                client_id_claim=jwt.client_id_claim,
                scope_claim=jwt.scope_claim,
                leeway_seconds=jwt.leeway_seconds,
            )
        )
    return Authenticators(authenticators)
