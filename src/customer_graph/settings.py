"""The one place that reads configuration: a TOML file, validated at start-up, with secrets taken from the
environment or from files rather than written in it.

A secret is a plain string, ``{ env = "NAME" }`` or ``{ file = "/run/secrets/name" }``. Every error names
its path in the file (``providers.capillary.oauth_secret``) and never echoes a secret's value.

See ``config/example.toml`` for an annotated example of every setting.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from customer_graph.connectors.http import Policy
from customer_graph.domain.models import Provider
from customer_graph.identity.survivorship import FIELDS as SURVIVING_FIELDS


class SettingsError(Exception):
    """The configuration is invalid; ``problems`` lists ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  {path}: {msg}" for path, msg in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    def read(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ValueError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file: {exc.strerror}") from None


def _resolve_secret(value: Any) -> Any:
    if isinstance(value, dict):
        return SecretStr(SecretRef.model_validate(value).read())
    return value


# Providers are named as in the GraphQL schema (``CAPILLARY``, ``OPEN_LOYALTY``, ...).
ProviderName = Annotated[Provider, BeforeValidator(lambda v: Provider[v] if v in Provider.__members__ else v)]

Secret = Annotated[SecretStr, Field(json_schema_extra={"description": "a string, {env=...} or {file=...}"})]


class PolicySettings(_Strict):
    """``connectors.http.Policy`` for one provider; times in seconds."""

    deadline: float = Field(5.0, gt=0, le=120)
    connect_timeout: float = Field(2.0, gt=0, le=60)
    max_retries: int = Field(2, ge=0, le=10)
    backoff_base: float = Field(0.05, ge=0)
    backoff_max: float = Field(1.0, ge=0)
    rate_limit_per_minute: int | None = Field(None, ge=1)
    rate_limit_burst: int | None = Field(None, ge=1)
    max_concurrency: int = Field(32, ge=1, le=1024)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_open_seconds: float = Field(10.0, gt=0)

    def policy(self) -> Policy:
        return Policy(**self.model_dump())


class _ProviderSettings(_Strict):
    enabled: bool = True
    base_url: str
    policy: PolicySettings = PolicySettings()
    # Loyalty program ids this provider runs: enrolments in others are refused without a call (empty: no check).
    programs: list[str] = []

    @field_validator("*", mode="before")
    @classmethod
    def _secrets(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = str(cls.model_fields[info.field_name or ""].annotation)
        return _resolve_secret(value) if "SecretStr" in annotation else value


class CapillarySettings(_ProviderSettings):
    auth: Literal["oauth", "basic"] = "oauth"
    oauth_key: str | None = None
    oauth_secret: Secret | None = None
    till_code: str | None = None
    till_password: Secret | None = None
    source: str = "INSTORE"
    # Capillary answers program ids only: their display names.
    program_names: dict[str, str] = {}

    @model_validator(mode="after")
    def _credentials(self) -> CapillarySettings:
        if self.auth == "oauth" and not (self.oauth_key and self.oauth_secret):
            raise ValueError("auth = 'oauth' needs oauth_key and oauth_secret")
        if self.auth == "basic" and not (self.till_code and self.till_password):
            raise ValueError("auth = 'basic' needs till_code and till_password")
        return self


class MartjackSettings(_ProviderSettings):
    merchant_id: str
    public_key: str
    secret: Secret


class OpenLoyaltySettings(_ProviderSettings):
    store_code: str = "DEFAULT"
    username: str
    password: Secret


class TwcSettings(_ProviderSettings):
    tenant: str
    client_id: str
    client_secret: Secret
    token_url: str | None = Field(None, description="default: the Keycloak realm endpoint under base_url")


class ProvidersSettings(_Strict):
    capillary: CapillarySettings | None = None
    martjack: MartjackSettings | None = None
    openloyalty: OpenLoyaltySettings | None = None
    twc: TwcSettings | None = None


class IdentitySettings(_Strict):
    rules: list[Literal["email", "mobile", "martjack-id", "customer-ref"]] = [
        "email",
        "mobile",
        "martjack-id",
        "customer-ref",
    ]
    # Per unified field (first_name, last_name, birth_date, gender, status): providers in priority order.
    survivorship: dict[str, list[ProviderName]] = {}
    default_priority: list[ProviderName] = [Provider.CAPILLARY, Provider.OPEN_LOYALTY, Provider.TWC, Provider.MARTJACK]

    @field_validator("survivorship")
    @classmethod
    def _known_fields(cls, value: dict[str, list[Provider]]) -> dict[str, list[Provider]]:
        unknown = sorted(set(value) - set(SURVIVING_FIELDS))
        if unknown:
            raise ValueError(f"unknown fields {unknown}; known: {list(SURVIVING_FIELDS)}")
        return value


class StoreSettings(_Strict):
    # "sqlite:///path/file.sqlite3", "sqlite://:memory:" (one process) or "postgresql://user@host:5432/db" (replicas)
    url: str = "sqlite:///customer-graph.sqlite3"
    password: Secret | None = None  # PostgreSQL's: never written in the url
    postgres_schema: str = Field("public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    pool_size: int = Field(10, ge=2, le=200)

    @field_validator("password", mode="before")
    @classmethod
    def _secret(cls, value: Any) -> Any:
        return _resolve_secret(value)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("use sqlite:///path, sqlite://:memory: or postgresql://user@host:port/database")
        if _has_inline_password(value):
            raise ValueError("a password in the url is a secret written in the file: give password = { env = ... }")
        return value


class RedisSettings(_Strict):
    """Redis shared by every replica: provider rate-limit buckets and, optionally, a response cache."""

    url: str  # "redis://host:6379/0" (or "rediss://" for TLS)
    password: Secret | None = None
    key_prefix: str = Field("customer-graph", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    rate_limits: bool = True  # provider quotas counted in Redis, shared by every replica
    cache_ttl_seconds: float = Field(0.0, ge=0, le=3600)  # provider record reads cached this long (0: off)

    @field_validator("password", mode="before")
    @classmethod
    def _secret(cls, value: Any) -> Any:
        return _resolve_secret(value)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db, rediss://host:port/db or unix:///path")
        if _has_inline_password(value):
            raise ValueError("a password in the url is a secret written in the file: give password = { env = ... }")
        return value


class TracingSettings(_Strict):
    enabled: bool = False
    exporter: Literal["otlp", "console"] = "otlp"
    endpoint: str = "http://127.0.0.1:4318/v1/traces"  # OTLP over HTTP
    service_name: str = "customer-graph"
    sample_ratio: float = Field(1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _installed(self) -> TracingSettings:
        if self.enabled and importlib.util.find_spec("opentelemetry.sdk") is None:
            raise ValueError("tracing needs the tracing extra: pip install 'customer-graph[tracing]'")
        return self


class ObservabilitySettings(_Strict):
    metrics: bool = True  # Prometheus text at /metrics
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tracing: TracingSettings = TracingSettings()


def _has_inline_password(url: str) -> bool:
    credentials = url.partition("://")[2].partition("/")[0].rpartition("@")[0]
    return ":" in credentials


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # "production" turns GraphiQL, introspection and field suggestions off unless they are set here, and
    # refuses a configuration without client authentication.
    environment: Literal["development", "production"] = "development"
    graphiql: bool = True
    introspection: bool = True
    field_suggestions: bool = True  # "Did you mean ...?" in errors; default: as introspection
    csrf_prevention: bool = True

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if data.get("environment") == "production":
                data.setdefault("graphiql", False)
                data.setdefault("introspection", False)
            data.setdefault("field_suggestions", data.get("introspection", True))
        return data


Scope = Literal["customers:read", "customers:write", "customers:pii", "customers:admin"]
ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")]


class ApiKeySettings(_Strict):
    """One client's API key: its SHA-256 (``customer-graph api-key`` makes a key and its hash), or the key
    itself from the environment or a file. Never the key written in the file."""

    client_id: ClientId
    scopes: list[Scope] = Field(min_length=1)
    key_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    key: Secret | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _key_from_env_or_file(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("a key written in the file is a secret: give key_sha256, or key = { env = ... }")
        return _resolve_secret(value)

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("an API key needs at least 24 characters")
        return value

    @model_validator(mode="after")
    def _one_key(self) -> ApiKeySettings:
        if (self.key_sha256 is None) == (self.key is None):
            raise ValueError("give exactly one of key_sha256 or key")
        return self

    def digest(self) -> str:
        if self.key_sha256 is not None:
            return self.key_sha256
        assert self.key is not None
        return hashlib.sha256(self.key.get_secret_value().encode()).hexdigest()


class JwtSettings(_Strict):
    """Bearer JWTs: HS256 with a shared secret and/or RS256 with the public keys of a JWKS file."""

    hs256_secret: Secret | None = None
    jwks_file: Path | None = None
    issuer: str | None = None
    audience: str | None = None
    client_id_claim: str = "sub"
    scope_claim: str = "scope"  # a space-separated string or a list of strings
    leeway_seconds: float = Field(30.0, ge=0, le=300)

    @field_validator("hs256_secret", mode="before")
    @classmethod
    def _secret(cls, value: Any) -> Any:
        return _resolve_secret(value)

    @field_validator("hs256_secret")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("an HS256 secret needs at least 32 bytes")
        return value

    @field_validator("jwks_file")
    @classmethod
    def _jwks(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            document = json.loads(value.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read the JWKS file: {exc.strerror}") from None
        except ValueError:
            raise ValueError("the JWKS file is not JSON") from None
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list) or not any(isinstance(k, dict) and k.get("kty") == "RSA" for k in keys):
            raise ValueError('the JWKS file has no RSA key in its "keys"')
        return value

    @model_validator(mode="after")
    def _a_key(self) -> JwtSettings:
        if self.hs256_secret is None and self.jwks_file is None:
            raise ValueError("give hs256_secret, jwks_file or both")
        return self


class AuthSettings(_Strict):
    required: bool = True  # false: no authentication, every request has every scope (development only)
    api_keys: list[ApiKeySettings] = []
    jwt: JwtSettings | None = None

    @field_validator("api_keys")
    @classmethod
    def _distinct(cls, keys: list[ApiKeySettings]) -> list[ApiKeySettings]:
        digests = [k.digest() for k in keys]
        if len(set(digests)) < len(digests):
            raise ValueError("two entries hold the same key")
        return keys


class LimitsSettings(_Strict):
    """Protections of /graphql; the defaults are those of ``schema.limits.Limits`` and ``server.http.Security``."""

    max_query_bytes: int = Field(32 * 1024, ge=256, le=16 * 1024 * 1024)
    max_body_bytes: int = Field(256 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_tokens: int = Field(2_000, ge=50)
    max_depth: int = Field(16, ge=2, le=100)
    max_aliases: int = Field(50, ge=0)
    max_cost: int = Field(10_000, ge=1)
    default_list_size: int = Field(10, ge=1, le=1_000)
    rate_limit_per_minute: int = Field(600, ge=0)  # requests per client; 0: no limit
    rate_limit_burst: int | None = Field(None, ge=1)  # default: a tenth of the rate

    @model_validator(mode="after")
    def _query_fits_body(self) -> LimitsSettings:
        if self.max_query_bytes > self.max_body_bytes:
            raise ValueError("max_query_bytes is larger than max_body_bytes: such a query could never arrive")
        return self


class Settings(_Strict):
    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitsSettings = LimitsSettings()
    store: StoreSettings = StoreSettings()
    redis: RedisSettings | None = None
    observability: ObservabilitySettings = ObservabilitySettings()
    identity: IdentitySettings = IdentitySettings()
    providers: ProvidersSettings

    def enabled_providers(self) -> dict[Provider, _ProviderSettings]:
        sections = {
            Provider.CAPILLARY: self.providers.capillary,
            Provider.MARTJACK: self.providers.martjack,
            Provider.OPEN_LOYALTY: self.providers.openloyalty,
            Provider.TWC: self.providers.twc,
        }
        return {p: s for p, s in sections.items() if s is not None and s.enabled}

    def security_problems(self) -> list[tuple[str, str]]:
        """What keeps this configuration from serving clients safely. ``parse`` refuses them in production;
        ``serve`` and ``check-config`` in any environment."""
        production = self.server.environment == "production"
        problems = []
        if not self.auth.required:
            if production:
                problems.append(("auth.required", "must be true in production"))
        elif not self.auth.api_keys and self.auth.jwt is None:
            problems.append(
                (
                    "auth",
                    "no client can authenticate: add [[auth.api_keys]] or [auth.jwt]"
                    + ("" if production else ", or set auth.required = false for local development"),
                )
            )
        if production and self.auth.jwt is not None and self.auth.jwt.audience is None:
            problems.append(
                (
                    "auth.jwt.audience",
                    "required in production, so that a token issued for another service is not accepted here",
                )
            )
        return problems


def parse(data: dict[str, Any]) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(
            [
                (".".join(str(p) for p in e["loc"]) or "(root)", e["msg"])
                for e in exc.errors(include_input=False, include_url=False)
            ]
        ) from None
    if settings.server.environment == "production" and settings.security_problems():
        raise SettingsError(settings.security_problems())
    return settings


def load(path: str | Path) -> Settings:
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise SettingsError([("(file)", f"cannot read {path}: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([("(file)", f"not valid TOML: {exc}")]) from None
    return parse(data)
