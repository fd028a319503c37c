"""Imports point one way (design.md): domain at the bottom, connectors free of GraphQL, server and settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "customer_graph"

# For each layer: the modules it must never import (prefix match on the dotted name).
FORBIDDEN = {
    "domain": [
        "customer_graph.connectors",
        "customer_graph.identity",
        "customer_graph.schema",
        "customer_graph.server",
        "customer_graph.resolvers",
        "customer_graph.store",
        "customer_graph.settings",
        "customer_graph.loaders",
        "customer_graph.gateway",
        "customer_graph.writes",
        "customer_graph.simulators",
        "strawberry",
        "starlette",
        "httpx",
    ],
    "connectors": [
        "strawberry",
        "starlette",
        "customer_graph.settings",
        "customer_graph.schema",
        "customer_graph.server",
        "customer_graph.resolvers",
        "customer_graph.identity",
        "customer_graph.loaders",
        "customer_graph.gateway",
        "customer_graph.writes",
        "customer_graph.simulators",
        "customer_graph.store",
    ],
    "identity": [
        "strawberry",
        "starlette",
        "customer_graph.schema",
        "customer_graph.server",
        "customer_graph.resolvers",
        "customer_graph.settings",
        "customer_graph.simulators",
    ],
    "store": [
        "strawberry",
        "starlette",
        "customer_graph.connectors",
        "customer_graph.identity",
        "customer_graph.schema",
        "customer_graph.server",
        "customer_graph.resolvers",
    ],
    "simulators": [
        "customer_graph.connectors",
        "customer_graph.identity",
        "customer_graph.schema",
        "customer_graph.server",
        "customer_graph.resolvers",
        "customer_graph.settings",
        "strawberry",
    ],
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    files = sorted((SRC / layer).rglob("*.py"))
    assert files, layer
    offences = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in files
        for name in sorted(imports_of(path))
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    ]
    assert not offences, "\n".join(offences)
