"""The labelled queries of the shared corpus (match_dev.json), through the `match` code path."""

from __future__ import annotations

import json
from pathlib import Path

from bot.commands.match import match_posts
from bot.query import compile_query


def test_every_labelled_query_gives_exactly_the_expected_posts(corpus_dir: Path) -> None:
    base = corpus_dir / "zelensky"
    dev = json.loads((base / "match_dev.json").read_text(encoding="utf-8"))
    lines = (base / dev["posts_file"]).read_text(encoding="utf-8").splitlines()
    assert len(dev["queries"]) >= 14
    wrong = {}
    for case in dev["queries"]:
        got = [m.label for m in match_posts(compile_query(case["query"]), lines, "posts.jsonl")]
        if got != case["expect"]:
            wrong[case["query"]] = got
    assert wrong == {}
