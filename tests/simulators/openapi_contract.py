"""Validate every simulator response against the OpenAPI 3.1 document that simulator serves.

``validating_client(app, prefix)`` returns an ``httpx.AsyncClient`` over ``ASGITransport`` whose response
hook fails the request when a provider endpoint answers with a status its document does not list, or with
a JSON body that does not match the documented schema. The control surface (``/__sim``) and the document
itself are not part of the provider's API and are not checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.types import ASGIApp

SPEC_URI = "urn:simulator-openapi"


class OpenAPIContract:
    def __init__(self, spec: dict[str, Any]) -> None:
        assert spec.get("openapi", "").startswith("3.1"), "simulators serve OpenAPI 3.1 documents"
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        self.paths = [(template, _template_regex(template)) for template in spec["paths"]]
        self.checked = 0

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        # Literal segments win over parameters (``/v2/customers/lookup`` before ``/v2/customers/{id}``).
        matches = [t for t, rx in self.paths if rx.fullmatch(path)]
        assert matches, f"{method} {path}: no path of the OpenAPI document matches"
        template = max(matches, key=lambda t: sum(1 for s in t.split("/") if s and not s.startswith("{")))
        operation = self.spec["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template}: method not in the OpenAPI document"
        return template, operation

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> None:
        template, operation = self.operation(method, path)
        responses = operation["responses"]
        key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
        assert key is not None, f"{method} {template}: status {status} is not documented"
        content = responses[key].get("content")
        if not content or not body:
            return
        media = "application/json" if "json" in content_type else content_type.split(";")[0]
        assert media in content, f"{method} {template} {status}: media type {media} not documented"
        if "schema" not in content[media] or media != "application/json":
            return
        pointer = "/".join(
            _escape(p) for p in ("paths", template, method.lower(), "responses", key, "content", media, "schema")
        )
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#/{pointer}"}, registry=self.registry)
        errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: list(e.absolute_path))
        assert not errors, f"{method} {template} {status}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
        self.checked += 1


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


async def validating_client(app: ASGIApp, spec: dict[str, Any], *, base_url: str = "http://sim") -> httpx.AsyncClient:
    contract = OpenAPIContract(spec)

    async def check(response: httpx.Response) -> None:
        path = response.request.url.path
        if "/__sim/" in path or path.endswith("/openapi.json"):
            return
        await response.aread()
        contract.check(
            response.request.method,
            path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
        )

    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, event_hooks={"response": [check]}
    )
    client.contract = contract  # type: ignore[attr-defined]
    return client
