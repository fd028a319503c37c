"""Builds the gateway from settings: connectors (one pooled client each), the store, identity."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from customer_graph.connectors.base import Connector
from customer_graph.connectors.http import CallObserver, Policy
from customer_graph.domain.models import Provider
from customer_graph.gateway import Gateway
from customer_graph.identity.rules import DEFAULT_RULES, MatchRules
from customer_graph.identity.service import IdentityService
from customer_graph.identity.survivorship import Survivorship
from customer_graph.settings import (
    CapillarySettings,
    MartjackSettings,
    OpenLoyaltySettings,
    Settings,
    TwcSettings,
)
from customer_graph.store.base import CrosswalkStore
from customer_graph.store.sqlite import SqliteStore


def build_connector(provider: Provider, section: object, *, transport: httpx.AsyncBaseTransport | None = None,
                    observer: CallObserver | None = None, policy: Policy | None = None) -> Connector:
    """One provider's connector from its settings section."""
    if isinstance(section, CapillarySettings):
        from customer_graph.connectors.capillary import CapillaryConfig, CapillaryConnector

        return CapillaryConnector(CapillaryConfig(
            base_url=section.base_url, auth=section.auth, oauth_key=section.oauth_key,
            oauth_secret=section.oauth_secret.get_secret_value() if section.oauth_secret else None,
            till_code=section.till_code,
            till_password=section.till_password.get_secret_value() if section.till_password else None,
            source=section.source,
        ), policy or section.policy.policy(), transport=transport, observer=observer)
    if isinstance(section, MartjackSettings):
        from customer_graph.connectors.martjack import MartjackConfig, MartjackConnector

        return MartjackConnector(MartjackConfig(
            base_url=section.base_url, merchant_id=section.merchant_id, public_key=section.public_key,
            secret=section.secret.get_secret_value(),
        ), policy or section.policy.policy(), transport=transport, observer=observer)
    if isinstance(section, OpenLoyaltySettings):
        from customer_graph.connectors.openloyalty import OpenLoyaltyConfig, OpenLoyaltyConnector

        return OpenLoyaltyConnector(OpenLoyaltyConfig(
            base_url=section.base_url, store_code=section.store_code, username=section.username,
            password=section.password.get_secret_value(),
        ), policy or section.policy.policy(), transport=transport, observer=observer)
    if isinstance(section, TwcSettings):
        from customer_graph.connectors.twc import TwcConfig, TwcConnector

        return TwcConnector(TwcConfig(
            base_url=section.base_url, tenant=section.tenant, client_id=section.client_id,
            client_secret=section.client_secret.get_secret_value(),
        ), policy or section.policy.policy(), transport=transport, observer=observer)
    raise TypeError(f"no connector for {provider}")


def open_store(url: str) -> CrosswalkStore:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/") if url != "sqlite://:memory:" else ":memory:"
        return SqliteStore(path or ":memory:")
    raise ValueError("store.url: only sqlite:// is supported in this version")


def build_gateway(settings: Settings, *, transports: Mapping[Provider, httpx.AsyncBaseTransport] | None = None,
                  observer: CallObserver | None = None) -> Gateway:
    connectors = {provider: build_connector(provider, section, transport=(transports or {}).get(provider),
                                            observer=observer)
                  for provider, section in settings.enabled_providers().items()}
    rules = MatchRules([r for r in DEFAULT_RULES if r.name in settings.identity.rules],
                       {p: c.lookup_types for p, c in connectors.items()})
    store = open_store(settings.store.url)
    survivorship = Survivorship(
        {field: list(order) for field, order in settings.identity.survivorship.items()},
        default_order=settings.identity.default_priority,
    )
    return Gateway(connectors=connectors, identity=IdentityService(store, rules, survivorship), store=store)
