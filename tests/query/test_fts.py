"""fts_expression: a superset filter over the FTS5 index of Normalizer.index_terms."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import pytest

from bot.query import FTS_NO_MATCH, Document, compile_query, fts_expression, get_normalizer


@pytest.fixture(scope="module")
def archive(cases: dict[str, Any]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE post_fts USING fts5(terms, tokenize='unicode61 remove_diacritics 0')"
    )
    db.execute("CREATE VIRTUAL TABLE post_vocab USING fts5vocab(post_fts, 'row')")
    normalizer = get_normalizer()
    for rowid, post in enumerate(cases["posts"]):
        terms = " ".join(normalizer.index_terms(post["text"]))
        db.execute("INSERT INTO post_fts(rowid, terms) VALUES (?, ?)", (rowid, terms))
    return db


def _vocab(db: sqlite3.Connection) -> Any:
    def vocab(prefix: str) -> Iterable[str]:
        rows = db.execute("SELECT term FROM post_vocab WHERE term >= ?", (prefix,))
        return [row[0] for row in rows if row[0].startswith(prefix)]

    return vocab


def test_every_labelled_query_gets_a_superset(
    cases: dict[str, Any], archive: sqlite3.Connection
) -> None:
    posts = cases["posts"]
    for case in cases["queries"]:
        compiled = compile_query(case["query"])
        expression = fts_expression(compiled, _vocab(archive))
        matching = {i for i, p in enumerate(posts) if compiled.matches(Document(p["text"]))}
        if expression is None:
            continue
        found = {row[0] for row in archive.execute(
            "SELECT rowid FROM post_fts WHERE post_fts MATCH ?", (expression,))}  # fmt: skip
        assert matching <= found, (case["query"], expression)


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("санкції", '"санкція"'),
        ("санкції -шахед", '"санкція"'),
        ("=неба", '"неба"'),
        ("далекобійн*", '"далекобійн"*'),
        ('"ударні дрони"', '("ударний" AND "дрон")'),
        ("ППО OR мир", '("мир" OR "ппо")'),
        ("channel:x санкції", '"санкція"'),
    ],
)
def test_expressions(query: str, expression: str) -> None:
    assert fts_expression(compile_query(query)) == expression


@pytest.mark.parametrize(
    "query", ["/шахед/", "channel:x", "санкції OR /шахед/", "Kyiv~", "a OR NOT NOT b"]
)
def test_cannot_narrow(query: str) -> None:
    assert fts_expression(compile_query(query)) is None


def test_name_expands_over_the_vocabulary(archive: sqlite3.Connection) -> None:
    expression = fts_expression(compile_query("Witkoff~"), _vocab(archive))
    assert expression is not None
    for term in ("уиткофф", "уитткофф", "виткофф", "віткофф", "witkoffʼs"):
        assert f'"{term}"' in expression
    assert fts_expression(compile_query("Zzyzxq~ санкції"), _vocab(archive)) == FTS_NO_MATCH
    rows = archive.execute("SELECT rowid FROM post_fts WHERE post_fts MATCH ?", (FTS_NO_MATCH,))
    assert rows.fetchall() == []


def test_accepts_a_parsed_query() -> None:
    assert fts_expression(compile_query("санкції").query) == '"санкція"'
