"""Configuration: the annotated example validates, and every error names its path without echoing secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from customer_graph.domain.models import Provider
from customer_graph.settings import SettingsError, load, parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "example.toml"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("CAPILLARY_OAUTH_SECRET", "cap-s3cret")
    monkeypatch.setenv("MARTJACK_SECRET", "mj-s3cret")
    monkeypatch.setenv("TWC_CLIENT_SECRET", "twc-s3cret")
    monkeypatch.setenv("CRM_API_KEY", "crm-api-key-from-the-environment")
    monkeypatch.setenv("JWT_HS256_SECRET", "a-shared-jwt-secret-of-32-bytes-or-more")
    secret_file = tmp_path / "ol"
    secret_file.write_text("ol-s3cret\n")
    text = EXAMPLE.read_text().replace("/run/secrets/openloyalty-password", str(secret_file))
    config = tmp_path / "config.toml"
    config.write_text(text)
    return config


def test_the_example_configuration_validates_with_its_secrets_from_env_and_file(secrets: Path) -> None:
    settings = load(secrets)
    assert set(settings.enabled_providers()) == set(Provider)
    assert settings.providers.openloyalty is not None
    assert settings.providers.openloyalty.password.get_secret_value() == "ol-s3cret"
    assert settings.providers.capillary is not None
    assert settings.providers.capillary.policy.policy().rate_limit_per_minute == 600
    assert "cap-s3cret" not in repr(settings)


def test_a_missing_secret_is_an_error_at_its_path(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWC_CLIENT_SECRET")
    with pytest.raises(SettingsError) as caught:
        load(secrets)
    assert [path for path, _ in caught.value.problems] == ["providers.twc.client_secret"]
    assert "TWC_CLIENT_SECRET is not set" in str(caught.value)


def test_every_error_is_reported_with_its_path_and_no_secret_value() -> None:
    with pytest.raises(SettingsError) as caught:
        parse(
            {
                "server": {"port": 0},
                "providers": {
                    "capillary": {"base_url": "http://x", "auth": "oauth", "oauth_secret": "leaky-value"},
                    "twc": {
                        "base_url": "http://x",
                        "tenant": "t",
                        "client_id": "c",
                        "client_secret": "s",
                        "policy": {"deadline": -1},
                        "colour": "blue",
                    },
                },
            }
        )
    paths = {path for path, _ in caught.value.problems}
    assert {"server.port", "providers.capillary", "providers.twc.policy.deadline", "providers.twc.colour"} <= paths
    assert "leaky-value" not in str(caught.value)


def test_check_config_explains_errors_on_the_command_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[providers.twc]\nbase_url = "http://x"\ntenant = "t"\n')
    result = subprocess.run(
        [sys.executable, "-m", "customer_graph.cli", "check-config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "providers.twc.client_id: Field required" in result.stderr
    assert "providers.twc.client_secret: Field required" in result.stderr


def test_the_example_configures_clients_and_limits_for_production(secrets: Path) -> None:
    from customer_graph.server.auth import key_digest

    settings = load(secrets)
    assert settings.server.environment == "production"
    assert (settings.server.graphiql, settings.server.introspection, settings.server.field_suggestions) == (
        False,
        False,
        False,
    )
    storefront, crm = settings.auth.api_keys
    assert storefront.key_sha256 is not None and storefront.scopes == ["customers:read"]
    assert crm.digest() == key_digest("crm-api-key-from-the-environment")
    assert "crm-api-key" not in repr(settings) and "jwt-secret" not in repr(settings)
    assert settings.auth.jwt is not None and settings.auth.jwt.audience == "customer-graph"
    assert settings.security_problems() == []


def security_settings(**sections: object) -> dict[str, object]:
    return {"providers": {}, **sections}


@pytest.mark.parametrize(
    ("sections", "path"),
    [
        (
            {
                "auth": {
                    "api_keys": [{"client_id": "a", "scopes": ["customers:read"], "key": "written-in-the-file-0123456"}]
                }
            },
            "auth.api_keys.0.key",
        ),
        ({"auth": {"api_keys": [{"client_id": "a", "scopes": ["customers:read"]}]}}, "auth.api_keys.0"),
        (
            {"auth": {"api_keys": [{"client_id": "a", "scopes": ["customers:everything"], "key_sha256": "0" * 64}]}},
            "auth.api_keys.0.scopes.0",
        ),
        (
            {"auth": {"api_keys": [{"client_id": "a", "scopes": ["customers:read"], "key_sha256": "not-hex"}]}},
            "auth.api_keys.0.key_sha256",
        ),
        (
            {"auth": {"api_keys": [{"client_id": "a b", "scopes": ["customers:read"], "key_sha256": "0" * 64}]}},
            "auth.api_keys.0.client_id",
        ),
        (
            {
                "auth": {
                    "api_keys": [
                        {"client_id": "a", "scopes": ["customers:read"], "key_sha256": "0" * 64},
                        {"client_id": "b", "scopes": ["customers:read"], "key_sha256": "0" * 64},
                    ]
                }
            },
            "auth.api_keys",
        ),
        ({"auth": {"jwt": {"hs256_secret": "too-short"}}}, "auth.jwt.hs256_secret"),
        ({"auth": {"jwt": {"jwks_file": "/nonexistent/jwks.json"}}}, "auth.jwt.jwks_file"),
        ({"auth": {"jwt": {"issuer": "https://auth.example"}}}, "auth.jwt"),
        ({"limits": {"max_query_bytes": 100_000, "max_body_bytes": 50_000}}, "limits"),
        ({"limits": {"max_depth": 1}}, "limits.max_depth"),
        ({"server": {"environment": "staging"}}, "server.environment"),
        ({"server": {"environment": "production"}}, "auth"),
        ({"server": {"environment": "production"}, "auth": {"required": False}}, "auth.required"),
        ({"server": {"environment": "production"}, "auth": {"jwt": {"hs256_secret": "x" * 32}}}, "auth.jwt.audience"),
    ],
)
def test_security_settings_errors_name_their_path(sections: dict[str, object], path: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse(security_settings(**sections))
    assert path in [p for p, _ in caught.value.problems], caught.value.problems
    assert "written-in-the-file" not in str(caught.value)


def test_development_may_run_without_authentication_but_serve_wants_it_said() -> None:
    settings = parse(security_settings())
    assert settings.auth.required and settings.security_problems() == [
        (
            "auth",
            "no client can authenticate: add [[auth.api_keys]] or [auth.jwt], or set auth.required = false "
            "for local development",
        )
    ]
    assert parse(security_settings(auth={"required": False})).security_problems() == []


def test_limits_settings_default_to_the_apps_defaults() -> None:
    from customer_graph.schema.access import SCOPES
    from customer_graph.schema.limits import DEFAULT_LIMITS
    from customer_graph.server.http import Security
    from customer_graph.server.security import build_security
    from customer_graph.settings import Scope

    security = build_security(parse(security_settings(auth={"required": False})))
    assert security.limits == DEFAULT_LIMITS
    assert security.max_body_bytes == Security().max_body_bytes
    assert set(Scope.__args__) == set(SCOPES)  # type: ignore[attr-defined]
