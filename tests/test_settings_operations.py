"""The operations sections, [store], [redis] and [observability]: validated at start-up, errors at their paths,
no secret in a url and none echoed."""

from __future__ import annotations

import importlib.util

import pytest

from customer_graph.settings import SettingsError, parse


def problems(data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        parse({"providers": {}, **data})
    return dict(caught.value.problems)


def test_replicas_on_postgresql_and_redis_with_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "db-s3cret")
    monkeypatch.setenv("REDIS_PASSWORD", "redis-s3cret")
    settings = parse(
        {
            "providers": {},
            "store": {
                "url": "postgresql://cg@db:5432/cg",
                "password": {"env": "DB_PASSWORD"},
                "postgres_schema": "gateway",
                "pool_size": 20,
            },
            "redis": {"url": "rediss://redis:6380/2", "password": {"env": "REDIS_PASSWORD"}, "cache_ttl_seconds": 15},
        }
    )
    assert settings.store.password is not None and settings.store.password.get_secret_value() == "db-s3cret"
    assert settings.redis is not None and settings.redis.rate_limits and settings.redis.cache_ttl_seconds == 15
    assert "s3cret" not in repr(settings)


def test_defaults_one_process_json_logs_metrics_on_no_tracing() -> None:
    settings = parse({"providers": {}})
    assert settings.store.url.startswith("sqlite://") and settings.redis is None
    assert (settings.observability.metrics, settings.observability.log_format) == (True, "json")
    assert not settings.observability.tracing.enabled


def test_a_password_written_in_a_url_is_refused_without_echoing_it() -> None:
    found = problems({"store": {"url": "postgresql://cg:hunter2@db/cg"}, "redis": {"url": "redis://:hunter2@r:6379"}})
    assert set(found) == {"store.url", "redis.url"}
    assert all("password = { env" in message and "hunter2" not in message for message in found.values())


def test_each_operations_error_names_its_path() -> None:
    found = problems(
        {
            "store": {"url": "mysql://db/cg", "postgres_schema": "Drop Table", "pool_size": 1},
            "redis": {"url": "http://redis", "key_prefix": "", "cache_ttl_seconds": -1},
            "observability": {
                "log_format": "xml",
                "log_level": "LOUD",
                "colour": "blue",
                "tracing": {"exporter": "zipkin", "sample_ratio": 2},
            },
        }
    )
    assert set(found) == {
        "store.url",
        "store.postgres_schema",
        "store.pool_size",
        "redis.url",
        "redis.key_prefix",
        "redis.cache_ttl_seconds",
        "observability.log_format",
        "observability.log_level",
        "observability.colour",
        "observability.tracing.exporter",
        "observability.tracing.sample_ratio",
    }


def test_tracing_without_the_extra_installed_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("opentelemetry") else real(name, *a)
    )
    found = problems({"observability": {"tracing": {"enabled": True}}})
    assert list(found) == ["observability.tracing"]
    assert "pip install 'customer-graph[tracing]'" in found["observability.tracing"]
