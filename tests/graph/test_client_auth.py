"""Client authentication through /graphql: API keys and JWT bearer tokens (HS256, RS256 from a JWKS file)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from customer_graph.server.auth import Authenticators, JwksFile, JwtBearer, key_digest
from customer_graph.server.http import Security
from customer_graph.server.security import build_security
from customer_graph.settings import parse
from tests.graph.conftest import Graph, GraphFactory
from tests.graph.security import GRAPHQL_RESPONSE_JSON, api_keys, codes, key, post, provider_traffic, secured_graph

SECRET = "an-hs256-secret-of-at-least-32-bytes!"
QUERY = "{ providers { name } }"
MUTATION = 'mutation { setCustomerStatus(id: "cus_nobody", status: INACTIVE) { userErrors { code } } }'


def token(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256", **headers: Any) -> str:
    return jwt.encode({"exp": int(time.time()) + 300, **claims}, key, algorithm=algorithm, headers=headers or None)


async def bearer(graph: Graph, value: str, query: str = QUERY) -> Any:
    return await graph.client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {value}"})


def forge_hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signed = (
        part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + part(json.dumps(claims).encode())
    )
    return signed + "." + part(hmac.new(secret, signed.encode(), hashlib.sha256).digest())


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_jwks(path: Path, *keys: tuple[str, rsa.RSAPrivateKey]) -> Path:
    entries = [
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}
        for kid, k in keys
    ]
    path.write_text(json.dumps({"keys": entries}))
    return path


async def test_without_credentials_the_answer_is_401_in_graphql_over_http_form(make_graph: GraphFactory) -> None:
    graph = await secured_graph(make_graph)
    await graph.reset_stats()
    for accept in (GRAPHQL_RESPONSE_JSON, "application/json"):
        response = await post(graph, QUERY, client=None, accept=accept)
        assert response.status_code == 401
        assert response.headers["content-type"] == f"{accept}; charset=utf-8"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert codes(response.json()) == ["UNAUTHENTICATED"] and "data" not in response.json()
    wrong = await graph.client.post("/graphql", json={"query": QUERY}, headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["message"] == "the API key is not valid"
    assert await provider_traffic(graph) == 0


async def test_an_api_key_in_its_header_or_as_a_bearer_token(make_graph: GraphFactory) -> None:
    graph = await secured_graph(make_graph)
    assert (await post(graph, QUERY, client="reader")).status_code == 200
    assert (await bearer(graph, key("reader"))).status_code == 200


async def test_hs256_tokens(make_graph: GraphFactory) -> None:
    authenticator = JwtBearer(hs256_secret=SECRET.encode(), issuer="https://auth.example", audience="customer-graph")
    graph = await make_graph(security=Security(authenticator=authenticator))
    good = {"sub": "storefront", "iss": "https://auth.example", "aud": "customer-graph", "scope": "customers:read"}
    assert (await bearer(graph, token(good))).json() == {
        "data": {"providers": [{"name": "CAPILLARY"}, {"name": "MARTJACK"}, {"name": "OPEN_LOYALTY"}, {"name": "TWC"}]}
    }
    # Scopes as a list (Azure's scp) work as well; without customers:write a mutation is forbidden.
    as_list = {**good, "scope": ["customers:read"]}
    assert codes((await bearer(graph, token(as_list), MUTATION)).json()) == ["FORBIDDEN"]
    refused = {
        "expired": token({**good, "exp": int(time.time()) - 3600}),
        "another audience": token({**good, "aud": "billing"}),
        "another issuer": token({**good, "iss": "https://evil.example"}),
        "no expiry": jwt.encode({k: v for k, v in good.items()}, SECRET, algorithm="HS256"),
        "another secret": token(good, key="another-secret-that-is-32-bytes-long!"),
        "no client id": token({k: v for k, v in good.items() if k != "sub"}),
        "unsigned": jwt.encode({**good, "exp": int(time.time()) + 60}, None, algorithm="none"),
        "not a token": "a.b.c",
    }
    for case, value in refused.items():
        response = await bearer(graph, value)
        assert response.status_code == 401, case
        assert codes(response.json()) == ["UNAUTHENTICATED"], case
        assert 'error="invalid_token"' in response.headers["www-authenticate"], case
    assert (await bearer(graph, refused["expired"])).json()["errors"][0]["message"] == "the bearer token has expired"


async def test_rs256_tokens_from_a_jwks_file_and_key_rotation(
    make_graph: GraphFactory, tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", ("k1", rsa_key))
    graph = await make_graph(
        security=Security(
            authenticator=JwtBearer(
                jwks=JwksFile(jwks, recheck_seconds=0), audience="customer-graph", client_id_claim="client_id"
            )
        )
    )
    claims = {"client_id": "orders-service", "aud": "customer-graph", "scope": "customers:read"}
    assert (await bearer(graph, token(claims, rsa_key, "RS256", kid="k1"))).status_code == 200
    # A key the file does not hold; then the file is rotated to hold it.
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_token = token(claims, rotated, "RS256", kid="k2")
    assert (await bearer(graph, new_token)).status_code == 401
    write_jwks(jwks, ("k1", rsa_key), ("k2", rotated))
    os.utime(jwks, (time.time() + 5, time.time() + 5))  # a distinct modification time, however coarse the clock
    assert (await bearer(graph, new_token)).status_code == 200
    # Algorithm confusion: an HS256 token whose HMAC secret is the (public) RSA key is refused.
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert (
        await bearer(graph, forge_hs256({**claims, "exp": int(time.time()) + 60}, public_pem, "k1"))
    ).status_code == 401


async def test_api_keys_and_jwt_from_settings(
    make_graph: GraphFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey
) -> None:
    monkeypatch.setenv("STOREFRONT_KEY", "storefront-key-from-the-environment")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    jwks = write_jwks(tmp_path / "jwks.json", ("k1", rsa_key))
    settings = parse(
        {
            "providers": {},
            "server": {"environment": "production"},
            "auth": {
                "api_keys": [
                    {"client_id": "storefront", "scopes": ["customers:read"], "key": {"env": "STOREFRONT_KEY"}},
                    {
                        "client_id": "crm",
                        "scopes": ["customers:read", "customers:pii"],
                        "key_sha256": key_digest("crm-key-0123456789abcdefghij"),
                    },
                ],
                "jwt": {"hs256_secret": {"env": "JWT_SECRET"}, "jwks_file": str(jwks), "audience": "customer-graph"},
            },
            "limits": {"rate_limit_per_minute": 0},
        }
    )
    graph = await make_graph(security=build_security(settings))
    assert isinstance(build_security(settings).authenticator, Authenticators)
    claims = {"sub": "a", "aud": "customer-graph", "scope": "customers:read"}
    for headers in (
        {"X-API-Key": "storefront-key-from-the-environment"},
        {"X-API-Key": "crm-key-0123456789abcdefghij"},
        {"Authorization": "Bearer " + token(claims, SECRET)},
        {"Authorization": "Bearer " + token(claims, rsa_key, "RS256", kid="k1")},
    ):
        response = await graph.client.post("/graphql", json={"query": QUERY}, headers=headers)
        assert response.status_code == 200, (headers, response.text)
    # In production, GraphiQL and introspection are off unless set.
    assert build_security(settings).limits.introspection is False
    assert settings.server.graphiql is False


def test_the_api_key_authenticator_never_holds_a_key() -> None:
    held = api_keys().principals
    assert all(len(digest) == 64 and not digest.startswith("key-") for digest in held)
