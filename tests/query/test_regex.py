"""Bounded RE2 regexes: errors with columns, limits, sets agreeing with single patterns."""

from __future__ import annotations

import pytest

from bot.query import Document, QueryError, compile_query
from bot.query.regex import MAX_PATTERN_LENGTH, RegexSet, compile_regex, unsupported_construct


def test_regex_runs_on_the_original_text_case_insensitively() -> None:
    query = compile_query("/шахед[а-я]*/")
    assert query.matches(Document("Нові «ШАХЕДИ» летять"))
    hits = query.explain(Document("Нові «ШАХЕДИ» летять"))
    assert [(h.token, h.start, h.end, h.reason) for h in hits] == [("ШАХЕДИ", 6, 12, "regex")]


@pytest.mark.parametrize(
    ("pattern", "offset"),
    [("(?=a)", 0), ("x(?!a)", 1), ("(?<=a)b", 0), ("ab(?<!a)", 2), (r"(a)\1", 3), ("(?P=n)", 0)],
)
def test_constructs_re2_lacks_are_found(pattern: str, offset: int) -> None:
    found = unsupported_construct(pattern)
    assert found is not None and found[0] == offset


def test_lookaround_inside_a_class_or_escaped_is_fine() -> None:
    assert unsupported_construct(r"[(?=]x\(?=") is None
    compile_regex(r"[(?=]x", 1)


def test_limits() -> None:
    with pytest.raises(QueryError, match="longer than"):
        compile_regex("a" * (MAX_PATTERN_LENGTH + 1), 1)
    with pytest.raises(QueryError, match="too complex"):
        compile_regex(r"[\w\s]{500}", 1)
    with pytest.raises(QueryError, match="invalid regex"):
        compile_regex("a{2000}", 1)


@pytest.mark.timeout(10)
def test_catastrophic_pattern_stays_linear() -> None:
    regex = compile_regex("(a+)+$", 1)
    assert not regex.search("a" * 100_000 + "!")


def test_regex_set_agrees_with_single_patterns() -> None:
    patterns = ["шахед", r"\d+ ракет", "^нові", "кінець$", "PURL"]
    regexes = [compile_regex(p, 1) for p in patterns]
    texts = ["Нові шахеди", "50 ракет і purl", "це кінець", "нічого", "так — кінець\nні"]
    regex_set = RegexSet(regexes)
    for text in texts:
        assert regex_set.matching(text) == {r.pattern for r in regexes if r.search(text)}
    regex_set.discard("шахед")
    assert "шахед" not in regex_set and len(regex_set) == 4
    assert regex_set.matching("Нові шахеди") == {"^нові"}
