"""Fixtures of the query engine tests: the labelled cases written for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.query import Document, channel_keys
from bot.query.kernel import Kernel, make_kernel, native_available

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NATIVE_MISSING = (
    "C kernel not built (no C compiler or Python headers at install): "
    "only the pure-Python kernel is tested"
)


def load_cases() -> dict[str, Any]:
    """tests/fixtures/query_cases.json: posts, labelled queries and invalid queries."""
    with (FIXTURES / "query_cases.json").open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="session")
def cases() -> dict[str, Any]:
    return load_cases()


@pytest.fixture(scope="session")
def case_lines(cases: dict[str, Any]) -> list[str]:
    """The fixture posts as JSON Lines, as `chanwatch match` reads them."""
    return [json.dumps(post, ensure_ascii=False) for post in cases["posts"]]


@pytest.fixture(scope="session")
def case_docs(cases: dict[str, Any]) -> list[Document]:
    """The fixture posts as Documents (a numeric `channel` is the channel's id)."""
    out = []
    for post in cases["posts"]:
        channel = post.get("channel")
        keys = (
            channel_keys(channel_id=channel)
            if isinstance(channel, int)
            else channel_keys([channel] if channel else [])
        )
        out.append(Document(post["text"], keys))
    return out


@pytest.fixture(params=["native", "python"])
def kernel(request: pytest.FixtureRequest) -> Kernel:
    """Each candidate-gathering kernel in turn (the C one when it was built)."""
    if request.param == "native" and not native_available():
        pytest.skip(NATIVE_MISSING)
    return make_kernel(native=request.param == "native")
