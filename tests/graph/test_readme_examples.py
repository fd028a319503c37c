"""The README's example queries return what the README shows, on a fresh demo dataset."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.graph.conftest import GraphFactory

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"```graphql\n(?P<query>.*?)\n```\s*```json\n(?P<answer>.*?)\n```", re.S)


def readme_examples() -> list[tuple[str, object]]:
    text = README.read_text()
    section = text[text.index("<!-- examples:begin") : text.index("<!-- examples:end -->")]
    return [(m["query"], json.loads(m["answer"])) for m in EXAMPLE.finditer(section)]


async def test_the_readme_examples_answer_as_shown(make_graph: GraphFactory) -> None:
    from customer_graph.server.demo import examples

    graph = await make_graph()
    shown = readme_examples()
    assert [query for query, _ in shown] == [e.query for e in examples(graph.dataset)], (
        "the README's examples are not the ones `customer-graph demo` prints"
    )
    for query, answer in shown:
        assert await graph.query(query) == answer, query
