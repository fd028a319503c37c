"""``/graphql`` as the GraphQL-over-HTTP specification says, behind the gates every request passes first.

A request goes through, in order (each refusal is a JSON body ``{"errors": [{"message", "extensions":
{"code"}}]}`` in the negotiated media type, and nothing after it runs):

1. GraphiQL: a browser ``GET`` without a query gets the IDE, when it is on.
2. ``Accept``: ``application/graphql-response+json`` when the client accepts it (also for ``*/*`` and for no
   ``Accept`` at all), else ``application/json``; neither: **406** ``NOT_ACCEPTABLE``.
3. CSRF: a request a browser could send cross-site without a CORS preflight (a ``GET``, or a ``POST`` with a
   simple content type: ``text/plain``, form-encoded, multipart) must carry a preflight header
   (``apollo-require-preflight``, ``x-apollo-operation-name``) or a credential header (``Authorization``,
   ``X-API-Key``, which browsers preflight too): else **400** ``CSRF_PREFLIGHT_REQUIRED``.
4. ``POST`` bodies are ``application/json`` (**415** ``UNSUPPORTED_MEDIA_TYPE``) of at most
   ``max_body_bytes`` (**413** ``REQUEST_TOO_LARGE``, read no further).
5. Authentication: **401** ``UNAUTHENTICATED`` with ``WWW-Authenticate``.
6. The client's rate: **429** ``RATE_LIMITED`` with ``Retry-After``.
7. Execution (``schema.limits.OperationGuard`` refuses what is too big or not allowed before any resolver).
   A mutation over ``GET`` is **405** (``Allow: POST``).

The response: **200** with ``data`` whenever execution started, errors or not. A request error (the
document could not be parsed or validated, was refused by a limit or a scope, or its variables did not
fit) has no ``data`` entry; with ``application/graphql-response+json`` it is **400** (**403** for
``FORBIDDEN`` alone, **413** for ``QUERY_TOO_LARGE``), with ``application/json`` 200, as the
specification asks of legacy clients.

Every error has ``extensions.code``. One that is not expected (a bug: an exception that no layer turned into
a typed error) is masked, ``INTERNAL_SERVER_ERROR`` with the ``requestId`` under which it is logged in full;
provider errors and validation errors keep their codes and messages, without "Did you mean" suggestions
when field suggestions are off. A client without ``customers:pii`` gets the whole response through
``schema.masking.redact_response``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from customer_graph.schema.access import ALL_SCOPES, PII, Principal
from customer_graph.schema.context import Context
from customer_graph.schema.limits import DEFAULT_LIMITS, Limits
from customer_graph.schema.masking import redact_response
from customer_graph.server.auth import API_KEY_HEADER, AuthenticationFailed, Authenticator
from customer_graph.server.logs import REQUEST_ID
from customer_graph.server.ratelimit import ClientRateLimiter

log = logging.getLogger("customer_graph.server.http")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
# Who asks when nobody is authenticated: only in an app built without an authenticator (tests, embedding).
UNAUTHENTICATED_PRINCIPAL = Principal(client_id="anonymous", scopes=ALL_SCOPES)
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(frozen=True)
class Security:
    """How ``/graphql`` protects itself. ``authenticator=None`` means no authentication at all: every request
    acts with every scope. That is for tests and embedding only; ``customer-graph serve`` always has one."""

    authenticator: Authenticator | None = None
    rate_limiter: ClientRateLimiter | None = None
    limits: Limits = DEFAULT_LIMITS
    max_body_bytes: int = 256 * 1024
    csrf_prevention: bool = True
    preflight_headers: Sequence[str] = PREFLIGHT_HEADERS
    credential_headers: Sequence[str] = field(default=("authorization", API_KEY_HEADER))


class HTTPError(Exception):
    """A refusal before execution: an HTTP status, a code and a message safe to show."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = extensions


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, or None when neither is acceptable."""
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    quality = {GRAPHQL_RESPONSE_JSON: 0.0, JSON: 0.0}
    for part in accept.split(","):
        media, *parameters = (p.strip() for p in part.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif name == "charset" and value not in ("utf-8", "utf8"):
                q = 0.0
        media = media.lower()
        matches = {
            GRAPHQL_RESPONSE_JSON: [GRAPHQL_RESPONSE_JSON],
            JSON: [JSON],
            "application/*": [GRAPHQL_RESPONSE_JSON, JSON],
            "*/*": [GRAPHQL_RESPONSE_JSON, JSON],
        }
        for candidate in matches.get(media, ()):
            quality[candidate] = max(quality[candidate], q)
    if quality[GRAPHQL_RESPONSE_JSON] > 0 and quality[GRAPHQL_RESPONSE_JSON] >= quality[JSON]:
        return GRAPHQL_RESPONSE_JSON
    return JSON if quality[JSON] > 0 else None


def request_id_of(request: HTTPConnection) -> str:
    """The request's id: the one ``TelemetryMiddleware`` gave it (echoed in ``X-Request-Id`` and on every log
    line), else the client's ``X-Request-Id`` when it is a plain token, else a new one."""
    existing = REQUEST_ID.get() or getattr(request.state, "request_id", None)
    if isinstance(existing, str):
        return existing
    incoming = request.headers.get("x-request-id", "")
    request_id = incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(12)
    request.state.request_id = request_id
    return request_id


def _media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


class GraphQLHTTPView(GraphQL[Context, None]):
    """Strawberry's ASGI view, driven by our own request flow (above) rather than its ``run``: the gates come
    first, and the response is shaped by the specification's rules."""

    def __init__(self, schema: Any, *, security: Security, graphql_ide: Any = "graphiql") -> None:
        super().__init__(schema, graphql_ide=graphql_ide, allow_queries_via_get=True)
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    def security_context(self, request: HTTPConnection) -> dict[str, Any]:
        """What ``get_context`` puts on the ``Context`` for the schema: who asks, the limits, the request id."""
        return {
            "principal": getattr(request.state, "principal", None),
            "limits": self.security.limits,
            "request_id": request_id_of(request),
        }

    async def handle(self, request: Request) -> Response:
        request_id_of(request)
        media = negotiate(request.headers.get("accept"))
        try:
            if (
                request.method == "GET"
                and self.graphql_ide
                and self.should_render_graphql_ide(self.request_adapter_class(request))
            ):
                return await self.render_graphql_ide(request)
            if media is None:
                raise HTTPError(406, "NOT_ACCEPTABLE", f"this endpoint answers {GRAPHQL_RESPONSE_JSON} or {JSON}")
            self.check_csrf(request)
            if request.method == "POST":
                request = await self.read_body(request)
            principal = self.authenticate(request)
            await self.admit(principal)
            request.state.principal = principal
            return await self.execute(request, media)
        except HTTPError as error:
            return self.error_response(error, media or JSON)

    # -- the gates ------------------------------------------------------------------------------------------

    def check_csrf(self, request: Request) -> None:
        if not self.security.csrf_prevention:
            return
        content_type = _media_type(request.headers.get("content-type"))
        if request.method == "POST" and content_type and content_type not in SIMPLE_CONTENT_TYPES:
            return  # a browser preflights it
        headers = request.headers
        if any(headers.get(name) for name in (*self.security.preflight_headers, *self.security.credential_headers)):
            return
        raise HTTPError(
            400,
            "CSRF_PREFLIGHT_REQUIRED",
            "this request could have been sent by a page on another site: send it with Content-Type: "
            f"application/json, or with a {PREFLIGHT_HEADERS[0]} header",
        )

    async def read_body(self, request: Request) -> Request:
        """The request again, over its body read in full: unless it is not JSON or is too large."""
        if _media_type(request.headers.get("content-type")) != JSON:
            raise HTTPError(415, "UNSUPPORTED_MEDIA_TYPE", f"send the request as {JSON}")
        limit = self.security.max_body_bytes
        too_large = HTTPError(413, "REQUEST_TOO_LARGE", f"the request body is larger than {limit} bytes", limit=limit)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise HTTPError(400, "BAD_REQUEST", "Content-Length is not a number")
            if int(declared) > limit:
                raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        body = b"".join(chunks)
        upstream = request.receive
        replayed = False

        async def receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await upstream()

        return Request(request.scope, receive)

    def authenticate(self, request: Request) -> Principal:
        authenticator = self.security.authenticator
        if authenticator is None:
            return UNAUTHENTICATED_PRINCIPAL
        try:
            principal = authenticator.authenticate(request.headers)
        except AuthenticationFailed as failure:
            raise HTTPError(
                401,
                "UNAUTHENTICATED",
                str(failure),
                {"WWW-Authenticate": 'Bearer realm="customer-graph", error="invalid_token"'},
            ) from None
        if principal is None:
            raise HTTPError(
                401,
                "UNAUTHENTICATED",
                "authentication required: send an X-API-Key header or an Authorization: Bearer token",
                {"WWW-Authenticate": 'Bearer realm="customer-graph"'},
            )
        return principal

    async def admit(self, principal: Principal) -> None:
        limiter = self.security.rate_limiter
        if limiter is None:
            return
        admission = await limiter.admit(principal.client_id)
        if not admission.allowed:
            raise HTTPError(
                429,
                "RATE_LIMITED",
                "too many requests from this client",
                {"Retry-After": admission.retry_after_header},
                retryAfter=round(admission.retry_after, 3),
            )

    # -- execution and the response -------------------------------------------------------------------------

    async def execute(self, request: Request, media: str) -> Response:
        adapter = self.request_adapter_class(request)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        try:
            data = await self.parse_http_body(adapter)
        except json.JSONDecodeError:
            raise HTTPError(400, "BAD_REQUEST", "the request is not valid JSON") from None
        except HTTPException as exc:  # strawberry's word for a malformed GraphQL-over-HTTP request
            raise HTTPError(400, "BAD_REQUEST", exc.reason) from None
        if not isinstance(data, GraphQLRequestData):
            raise HTTPError(400, "BAD_REQUEST", "batched operations are not accepted")
        allowed = {OperationType.QUERY} if request.method == "GET" else {OperationType.QUERY, OperationType.MUTATION}
        try:
            result = await self.schema.execute(
                data.query,
                variable_values=data.variables,
                context_value=context,
                operation_name=data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if request.method == "GET":
                raise HTTPError(405, "METHOD_NOT_ALLOWED", "mutations are sent with POST", {"Allow": "POST"}) from None
            raise HTTPError(400, "BAD_REQUEST", exc.as_http_error_reason(request.method)) from None
        except CannotGetOperationTypeError as exc:
            result = PreExecutionError(
                data=None,
                errors=[GraphQLError(exc.as_http_error_reason(), extensions={"code": "GRAPHQL_VALIDATION_FAILED"})],
            )
        except MissingQueryError:
            raise HTTPError(400, "BAD_REQUEST", "the request has no GraphQL query") from None
        shaped, request_error = self.shape(result, request_id_of(request))
        payload: dict[str, Any] = dict(await self.process_result(request, shaped))
        if request_error:
            payload.pop("data", None)
        if not self.sees_pii(request):
            payload = redact_response(payload)
        response = Response(
            self.encode_json(payload),
            status_code=self.status(shaped, request_error, media),
            media_type=f"{media}; charset=utf-8",
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response

    def shape(self, result: ExecutionResult, request_id: str) -> tuple[ExecutionResult, bool]:
        """The result with every error typed (and unexpected ones masked); whether it is a request error."""
        errors = result.errors or []
        before_execution = isinstance(result, PreExecutionError)
        request_error = before_execution or (
            result.data is None and bool(errors) and all(e.path is None for e in errors)
        )
        typed = [self.typed(error, before_execution, request_id) for error in errors] or None
        if request_error:
            return PreExecutionError(data=None, errors=typed, extensions=result.extensions), True
        return ExecutionResult(data=result.data, errors=typed, extensions=result.extensions), False

    def typed(self, error: GraphQLError, before_execution: bool, request_id: str) -> GraphQLError:
        extensions = dict(error.extensions or {})
        original = error.original_error
        if "code" not in extensions and (
            error.path is not None or (original is not None and not isinstance(original, GraphQLError))
        ):
            # Nobody turned this exception into an error for clients: a bug. Logged in full, shown by its id.
            log.error(
                "unexpected error in a GraphQL request; request id %s",
                request_id,
                exc_info=original if original is not None else error,
                extra={"request_id": request_id},
            )
            return GraphQLError(
                "internal server error",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            )
        if "code" not in extensions:
            if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
                extensions["code"] = "GRAPHQL_PARSE_FAILED"
            elif before_execution:
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
            else:  # an error of the whole request raised while executing: its variables did not fit
                extensions["code"] = "BAD_USER_INPUT"
        message = error.message if self.security.limits.field_suggestions else _SUGGESTION.sub("", error.message)
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions=extensions,
        )

    @staticmethod
    def status(result: ExecutionResult, request_error: bool, media: str) -> int:
        if not request_error:
            return 200
        codes = {(e.extensions or {}).get("code") for e in result.errors or ()}
        if "INTERNAL_SERVER_ERROR" in codes:
            return 500
        if media == JSON:
            return 200
        if "QUERY_TOO_LARGE" in codes:
            return 413
        if codes == {"FORBIDDEN"}:
            return 403
        return 400

    @staticmethod
    def sees_pii(request: Request) -> bool:
        principal = getattr(request.state, "principal", None)
        return isinstance(principal, Principal) and principal.has(PII)

    def error_response(self, error: HTTPError, media: str) -> Response:
        body = {"errors": [{"message": error.message, "extensions": {"code": error.code, **error.extensions}}]}
        return Response(
            self.encode_json(body),
            status_code=error.status,
            headers=error.headers,
            media_type=f"{media}; charset=utf-8",
        )
