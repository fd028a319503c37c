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
        parse({"server": {"port": 0}, "providers": {
            "capillary": {"base_url": "http://x", "auth": "oauth", "oauth_secret": "leaky-value"},
            "twc": {"base_url": "http://x", "tenant": "t", "client_id": "c", "client_secret": "s",
                    "policy": {"deadline": -1}, "colour": "blue"}}})
    paths = {path for path, _ in caught.value.problems}
    assert {"server.port", "providers.capillary", "providers.twc.policy.deadline", "providers.twc.colour"} <= paths
    assert "leaky-value" not in str(caught.value)


def test_check_config_explains_errors_on_the_command_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[providers.twc]\nbase_url = "http://x"\ntenant = "t"\n')
    result = subprocess.run([sys.executable, "-m", "customer_graph.cli", "check-config", str(bad)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "providers.twc.client_id: Field required" in result.stderr
    assert "providers.twc.client_secret: Field required" in result.stderr
