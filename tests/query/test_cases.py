"""Every labelled case of tests/fixtures/query_cases.json, through the `match` code path."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands.match import match_posts
from bot.query import QueryError, compile_query
from tests.query.conftest import load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES["queries"], ids=lambda c: c["query"])
def test_labelled_query(case: dict[str, Any], case_lines: list[str]) -> None:
    got = [m.label for m in match_posts(compile_query(case["query"]), case_lines, "cases")]
    assert got == case["expect"], case["why"]


@pytest.mark.parametrize("case", CASES["errors"], ids=lambda c: c["query"] or "<empty>")
def test_invalid_query_names_reason_and_column(case: dict[str, Any]) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(case["query"])
    assert (info.value.reason, info.value.column) == (case["reason"], case["column"])
    assert str(info.value) == f"{case['reason']} at column {case['column']}"
    assert info.value.exit_code == 2
