"""Client authentication: which client sent this request, and with which scopes.

An :class:`Authenticator` reads a request's headers and answers a :class:`Principal`, ``None`` when the
headers carry no credential it reads, or raises :class:`AuthenticationFailed` when they carry one that is not
valid. Two kinds, tried in turn by :class:`Authenticators`:

- **API keys** (:class:`ApiKeys`): ``X-API-Key: <key>`` (or ``Authorization: Bearer <key>``). Only the
  SHA-256 of each key is held, so a configuration or a memory dump does not give a key away.
- **JWT bearer tokens** (:class:`JwtBearer`): ``Authorization: Bearer <jwt>``, HS256 with a shared secret or
  RS256 with the public keys of a JWKS file. The algorithm is taken from the token's header only to pick
  the key, and a key is used only with its own algorithm (an RS256 public key is never tried as an HMAC
  secret). ``exp`` is required; ``iss`` and ``aud`` are checked when configured. The client id is a
  configured claim (``sub`` by default) and the scopes are another (``scope``: a space-separated string or a
  list, as in RFC 9068 and Azure's ``scp``).

Failure messages say what kind of failure it was, never which part of a credential was wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import jwt

from customer_graph.schema.access import Principal

API_KEY_HEADER = "x-api-key"


class AuthenticationFailed(Exception):
    """Credentials were presented and are not valid; the message is safe to show the client."""


class Authenticator(Protocol):
    """Reads credentials from request headers (lower-case names): a principal, ``None`` when there are none it
    reads, or :class:`AuthenticationFailed` when there are and they are not valid."""

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None: ...


def key_digest(key: str) -> str:
    """What the configuration holds for an API key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class ApiKeys:
    """API keys by their SHA-256. Keys are high-entropy random strings, so one unsalted hash is enough: the
    lookup compares digests, never keys."""

    def __init__(self, principals_by_digest: Mapping[str, Principal], header: str = API_KEY_HEADER) -> None:
        self.principals = dict(principals_by_digest)
        self.header = header.lower()

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        key = headers.get(self.header)
        if key is None:
            token = bearer_token(headers)
            key = token if token is not None and not looks_like_jwt(token) else None
        if key is None:
            return None
        principal = self.principals.get(key_digest(key.strip()))
        if principal is None:
            raise AuthenticationFailed("the API key is not valid")
        return principal


class JwksFile:
    """The public keys of a JWKS file, by key id. The file is read again when it changes (checked at most every
    ``recheck_seconds``, and only for a key id it does not know), so keys can be rotated without a restart."""

    def __init__(self, path: Path, recheck_seconds: float = 10.0) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._mtime, self._keys = self._load()

    def _load(self) -> tuple[float, dict[str | None, jwt.PyJWK]]:
        mtime = os.stat(self.path).st_mtime
        keys = load_jwks(json.loads(self.path.read_text()))
        return mtime, keys

    def key(self, kid: str | None) -> jwt.PyJWK | None:
        found = self._lookup(kid)
        if found is None and time.monotonic() - self._checked >= self.recheck_seconds:
            with self._lock:
                self._checked = time.monotonic()
                try:
                    if os.stat(self.path).st_mtime != self._mtime:
                        self._mtime, self._keys = self._load()
                except (OSError, ValueError, jwt.PyJWKSetError):
                    pass  # keep the keys we have: a half-written file must not lock every client out
            found = self._lookup(kid)
        return found

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)


def load_jwks(document: Any) -> dict[str | None, jwt.PyJWK]:
    """The RS256 signing keys of a JWKS document by ``kid``; raises ``ValueError`` when there are none."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWKS document is an object with a "keys" list')
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        if entry.get("alg", "RS256") != "RS256":
            continue
        try:
            keys[entry.get("kid")] = jwt.PyJWK(entry, algorithm="RS256")
        except jwt.PyJWKError as exc:
            raise ValueError(f"a key in the JWKS document is not usable: {exc}") from None
    if not keys:
        raise ValueError("the JWKS document has no RSA signing key")
    return keys


class JwtBearer:
    def __init__(
        self,
        *,
        hs256_secret: bytes | None = None,
        jwks: JwksFile | None = None,
        issuer: str | None = None,
        audience: str | Sequence[str] | None = None,
        client_id_claim: str = "sub",
        scope_claim: str = "scope",
        leeway_seconds: float = 30.0,
    ) -> None:
        if hs256_secret is None and jwks is None:
            raise ValueError("a JWT authenticator needs an HS256 secret or a JWKS file")
        self.hs256_secret = hs256_secret
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.client_id_claim = client_id_claim
        self.scope_claim = scope_claim
        self.leeway = leeway_seconds

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        token = bearer_token(headers)
        if token is None or not looks_like_jwt(token):
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationFailed("the bearer token is not a valid JWT") from None
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256" and self.hs256_secret is not None:
            key = self.hs256_secret
        elif algorithm == "RS256" and self.jwks is not None:
            kid = header.get("kid")
            key = self.jwks.key(kid if isinstance(kid, str) else None)
            if key is None:
                raise AuthenticationFailed("the bearer token is signed with a key this server does not know")
        else:
            raise AuthenticationFailed("the bearer token's algorithm is not accepted here")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the bearer token has expired") from None
        except jwt.PyJWTError:
            raise AuthenticationFailed("the bearer token is not valid") from None
        client_id = claims.get(self.client_id_claim)
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationFailed(f"the bearer token has no {self.client_id_claim} claim")
        return Principal(client_id=client_id, scopes=frozenset(_scopes(claims.get(self.scope_claim))))


def _scopes(claim: Any) -> Iterable[str]:
    if isinstance(claim, str):
        return claim.split()
    if isinstance(claim, list):
        return [s for s in claim if isinstance(s, str)]
    return ()


class Authenticators:
    """Several authenticators, tried in order: the first that recognises a credential decides."""

    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        self.authenticators = list(authenticators)

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        for authenticator in self.authenticators:
            principal = authenticator.authenticate(headers)
            if principal is not None:
                return principal
        return None
