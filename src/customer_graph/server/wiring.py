"""Builds the gateway from settings: connectors (one pooled client each), the store, identity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from customer_graph.connectors.base import Connector
from customer_graph.connectors.http import CallObserver, Policy, RateLimiter
from customer_graph.domain.models import Provider
from customer_graph.gateway import Gateway
from customer_graph.identity.rules import DEFAULT_RULES, MatchRules
from customer_graph.identity.service import IdentityService
from customer_graph.identity.survivorship import Survivorship
from customer_graph.server.observability import call_observer
from customer_graph.server.replicas import SharedState
from customer_graph.settings import (
    CapillarySettings,
    MartjackSettings,
    OpenLoyaltySettings,
    Settings,
    TwcSettings,
)
from customer_graph.store.base import Store
from customer_graph.store.sqlite import SqliteStore
from customer_graph.writes.crosswalk import crosswalk_hook
from customer_graph.writes.executor import WriteExecutor


def build_connector(
    provider: Provider,
    section: object,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    observer: CallObserver | None = None,
    policy: Policy | None = None,
    limiter: RateLimiter | None = None,
) -> Connector:
    """One provider's connector from its settings section (the one place that turns settings into a
    connector's own config: connectors never read settings)."""
    if not isinstance(section, CapillarySettings | MartjackSettings | OpenLoyaltySettings | TwcSettings):
        raise TypeError(f"no connector for {provider}")
    connector_class, config = _connector_config(section)
    return connector_class(  # type: ignore[no-any-return]
        config, policy or section.policy.policy(), transport=transport, observer=observer, limiter=limiter
    )


def _connector_config(
    section: CapillarySettings | MartjackSettings | OpenLoyaltySettings | TwcSettings,
) -> tuple[Any, object]:
    if isinstance(section, CapillarySettings):
        from customer_graph.connectors import capillary

        credentials: capillary.OAuthCredentials | capillary.TillCredentials
        if section.auth == "oauth":
            assert section.oauth_key and section.oauth_secret  # the settings check this
            credentials = capillary.OAuthCredentials(section.oauth_key, section.oauth_secret.get_secret_value())
        else:
            assert section.till_code and section.till_password
            credentials = capillary.TillCredentials(section.till_code, section.till_password.get_secret_value())
        return capillary.CapillaryConnector, capillary.CapillaryConfig(
            base_url=section.base_url,
            credentials=credentials,
            source=section.source,
            program_names=section.program_names,
        )
    if isinstance(section, MartjackSettings):
        from customer_graph.connectors import martjack

        return martjack.MartjackConnector, martjack.MartjackConfig(
            base_url=section.base_url,
            merchant_id=section.merchant_id,
            public_key=section.public_key,
            secret=section.secret.get_secret_value(),
        )
    if isinstance(section, OpenLoyaltySettings):
        from customer_graph.connectors import openloyalty

        return openloyalty.OpenLoyaltyConnector, openloyalty.OpenLoyaltyConfig(
            base_url=section.base_url,
            store_code=section.store_code,
            username=section.username,
            password=section.password.get_secret_value(),
        )
    from customer_graph.connectors import twc

    return twc.TwcConnector, twc.TwcConfig(
        base_url=section.base_url,
        tenant=section.tenant,
        client_id=section.client_id,
        client_secret=section.client_secret.get_secret_value(),
    )


def open_store(url: str, *, password: str | None = None, schema: str = "public", pool_size: int = 10) -> Store:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/") if url != "sqlite://:memory:" else ":memory:"
        return SqliteStore(path or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from customer_graph.store.postgres import PostgresStore

        return PostgresStore(url, password=password, schema=schema, pool_size=pool_size)
    raise ValueError("store.url: use sqlite:// or postgresql://")


def build_gateway(
    settings: Settings,
    *,
    transports: Mapping[Provider, httpx.AsyncBaseTransport] | None = None,
    observer: CallObserver | None = None,
) -> Gateway:
    observer = call_observer(settings.observability, settings.enabled_providers(), observer)
    shared = SharedState(settings.redis) if settings.redis is not None else None
    limiters = shared.rate_limiters(settings) if shared is not None else {}
    connectors = {
        provider: build_connector(
            provider,
            section,
            transport=(transports or {}).get(provider),
            observer=observer,
            limiter=limiters.get(provider),
        )
        for provider, section in settings.enabled_providers().items()
    }
    if shared is not None:
        connectors = shared.cached(connectors)
    rules = MatchRules(
        [r for r in DEFAULT_RULES if r.name in settings.identity.rules],
        {p: c.lookup_types for p, c in connectors.items()},
    )
    store = open_store(
        settings.store.url,
        schema=settings.store.postgres_schema,
        pool_size=settings.store.pool_size,
        password=settings.store.password.get_secret_value() if settings.store.password else None,
    )
    survivorship = Survivorship(
        {field: list(order) for field, order in settings.identity.survivorship.items()},
        default_order=settings.identity.default_priority,
    )
    identity = IdentityService(store, rules, survivorship)
    executor = WriteExecutor(connectors, store, on_applied=crosswalk_hook(store))
    programs = {
        provider: frozenset(section.programs)
        for provider, section in settings.enabled_providers().items()
        if section.programs
    }
    return Gateway(
        connectors=connectors,
        identity=identity,
        store=store,
        executor=executor,
        programs=programs,
        closers=[shared.aclose] if shared is not None else [],
    )
