"""Martjack's two kinds of authentication: the merchant app's, and the customer's session.

Merchant app (README.md, Martjack: "OAuth 1.0 HMAC-SHA1 signing (consumer key/secret) or a JWT from
``/OAuth/Token/{PublicKey}``"):

- OAuth 1.0, one-legged: every call carries ``oauth_consumer_key``, ``oauth_nonce``,
  ``oauth_signature_method`` (HMAC-SHA1), ``oauth_timestamp``, ``oauth_version`` (1.0) and
  ``oauth_signature``. Martjack takes them in the query string or as headers of those names; a standard
  ``Authorization: OAuth ...`` header works too. The signature is RFC 5849's: HMAC-SHA1 keyed ``secret&``
  over ``METHOD&url&params``, the params being the query, the oauth parameters and a form-encoded body.
- JWT: ``/OAuth/Token/{PublicKey}`` issues a token, sent as ``Authorization: Bearer`` or as Martjack's
  ``AuthToken`` header (with ``PublicKey`` and ``MerchantId``).

Customer session: login or GetAccessToken open a session whose ``AccessToken`` (an ASP.NET session id: 24
characters of ``a-z0-5``) is sent in the ``accesstoken`` header. Both kinds of token live in the simulator's
TokenStore so that ``/__sim/tokens/expire`` and the configured lifetime apply to them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

from starlette.requests import Request

from customer_graph.simulators.control import Token, TokenStore

# The merchant JWT is the access token of the control surface: ``/__sim/stats`` counts it as
# ``tokens_issued.access``, as every simulator counts its API access tokens (the connector contract reads it).
MERCHANT_TOKEN_KIND = "access"
SESSION_TOKEN_KIND = "customer_session"
GUEST_PREFIX = "guest:"

# OAuth 1.0 servers refuse stale timestamps and replayed nonces; five minutes is the usual window.
TIMESTAMP_WINDOW_SECONDS = 300
OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_version",
    "oauth_signature",
)
_SESSION_ALPHABET = "abcdefghijklmnopqrstuvwxyz012345"


@dataclass(frozen=True)
class App:
    """A merchant's API app (Control Panel > Apps): its consumer (public) key and secret."""

    merchant_id: str
    public_key: str
    secret: str


class MerchantAuth:
    """Decides which app, if any, a request authenticates as."""

    def __init__(self, apps: Iterable[App], tokens: TokenStore, clock: Callable[[], float] = time.time) -> None:
        self.apps = {app.public_key: app for app in apps}
        self._tokens = tokens
        self._clock = clock
        # Nonces seen within the timestamp window, oldest first, so that pruning is cheap per call.
        self._nonces: deque[tuple[float, tuple[str, str]]] = deque()
        self._seen_nonces: set[tuple[str, str]] = set()

    # -- JWT --------------------------------------------------------------------------------------

    def issue_jwt(self, app: App) -> Token:
        """A JWT-shaped token (clients may decode ``exp``); its validity is the TokenStore's."""
        now = int(self._clock())
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        claims = {
            "iss": "martjack",
            "sub": app.public_key,
            "merchantId": app.merchant_id,
            "iat": now,
            "exp": now + int(self._tokens.ttl_seconds),
        }
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        return self._tokens.issue(app.public_key, kind=MERCHANT_TOKEN_KIND, prefix=f"{header}.{payload}.")

    # -- per request ------------------------------------------------------------------------------

    def authenticate(self, request: Request, body: bytes) -> App | None:
        jwt = _bearer(request.headers.get("authorization")) or request.headers.get("authtoken")
        if jwt:
            token = self._tokens.lookup(jwt, kind=MERCHANT_TOKEN_KIND)
            if token is None:
                return None
            claimed = request.headers.get("publickey")
            if claimed and claimed != token.subject:
                return None
            return self.apps.get(token.subject)
        return self._verify_oauth1(request, body)

    def _verify_oauth1(self, request: Request, body: bytes) -> App | None:
        oauth = _oauth_params(request)
        app = self.apps.get(oauth.get("oauth_consumer_key", ""))
        if app is None or oauth.get("oauth_signature_method", "").upper() != "HMAC-SHA1":
            return None
        if oauth.get("oauth_version", "1.0") != "1.0" or not oauth.get("oauth_nonce"):
            return None
        try:
            timestamp = int(oauth.get("oauth_timestamp", ""))
        except ValueError:
            return None
        now = self._clock()
        if abs(now - timestamp) > TIMESTAMP_WINDOW_SECONDS:
            return None
        expected = oauth1_signature(request.method, base_url(request), signed_params(request, body, oauth), app.secret)
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            return None
        while self._nonces and self._nonces[0][0] <= now - TIMESTAMP_WINDOW_SECONDS:
            self._seen_nonces.discard(self._nonces.popleft()[1])
        nonce = (app.public_key, oauth["oauth_nonce"])
        if nonce in self._seen_nonces:
            return None
        self._seen_nonces.add(nonce)
        self._nonces.append((now, nonce))
        return app


class CustomerSessions:
    """Customer sessions keyed by their ASP.NET-style session id, each backed by a TokenStore token.

    A login session belongs to one customer (subject = UserId); a GetAccessToken session is a guest's
    (subject ``guest:<UserId>``) and is what merchant back-ends use to call customer operations.
    """

    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens
        self._by_session: dict[str, str] = {}

    def open(self, subject: str) -> str:
        session_id = "".join(secrets.choice(_SESSION_ALPHABET) for _ in range(24))
        self._by_session[session_id] = self._tokens.issue(subject, kind=SESSION_TOKEN_KIND).value
        return session_id

    def lookup(self, session_id: str | None) -> Token | None:
        if not session_id:
            return None
        return self._tokens.lookup(self._by_session.get(session_id), kind=SESSION_TOKEN_KIND)

    def close(self, session_id: str) -> None:
        value = self._by_session.pop(session_id, None)
        if value is not None:
            self._tokens.revoke(value)

    def clear(self) -> None:
        self._by_session.clear()


# -- OAuth 1.0 signature (RFC 5849, section 3.4) ----------------------------------------------------


def oauth1_signature(method: str, url: str, params: list[tuple[str, str]], secret: str, token_secret: str = "") -> str:
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
    base_string = "&".join((method.upper(), _pct(url), _pct(normalized)))
    key = f"{_pct(secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


def base_url(request: Request) -> str:
    """The base string URI: scheme and host lower-cased, default port dropped, no query."""
    url = request.url
    scheme = url.scheme.lower()
    host = (url.hostname or "").lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = f":{url.port}" if url.port and url.port != default_port else ""
    return f"{scheme}://{host}{port}{url.path}"


def signed_params(request: Request, body: bytes, oauth: dict[str, str]) -> list[tuple[str, str]]:
    """Every parameter the signature covers: the query, the oauth parameters, and a form-encoded body."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "oauth_signature"]
    in_query = {k for k, _ in params}
    params += [(k, v) for k, v in oauth.items() if k != "oauth_signature" and k not in in_query]
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return params


def _oauth_params(request: Request) -> dict[str, str]:
    found: dict[str, str] = {}
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "oauth ":
        for item in authorization[6:].split(","):
            name, _, value = item.strip().partition("=")
            if name.startswith("oauth_"):
                found[name] = unquote(value.strip('"'))
    for name in OAUTH_PARAMS:
        loose = request.headers.get(name) or request.query_params.get(name)
        if loose and name not in found:
            found[name] = loose
    return found


def _pct(value: str) -> str:
    return quote(value, safe="~")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None
