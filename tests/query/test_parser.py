"""Parsing: structure, precedence, describe(), operators and markers."""

from __future__ import annotations

import pytest

from bot.query import QueryError, parse_query
from bot.query.errors import QueryError as QueryErrorClass
from bot.query.nodes import And, Channel, Not, Or, Regex, Term


def test_query_error_is_a_usage_error() -> None:
    from bot.errors import UsageError

    assert QueryError is QueryErrorClass and issubclass(QueryError, UsageError)


def test_describe_is_readable_and_deterministic() -> None:
    query = parse_query("санкції -шахед")
    assert query.describe() == (
        "ALL(word «санкції» [lemmas: санкція], NOT word «шахед» [lemmas: шахед])"
    )
    assert parse_query("санкції -шахед").describe() == query.describe()


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("=неба", "exact «неба»"),
        ("далекобійн*", "prefix «далекобійн*»"),
        ("Yermak~", "name «Yermak~» [key: ermak, up to 1 edit]"),
        ("Witkoff~", "name «Witkoff~» [key: vitkof, up to 1 edit]"),
        ("channel:@Some_Channel", "channel «some_channel»"),
        ("/\\d+ ракет/", "regex /\\d+ ракет/ (case-insensitive)"),
        (
            '"ударні дрони"',
            "phrase «ударні дрони» [«ударні» (lemmas: ударний), «дрони» (lemmas: дрон)]",
        ),
        (
            "дрон-перехоплювач",
            "word «дрон-перехоплювач» [adjacent parts: «дрон» (lemmas: дрон), "
            "«перехоплювач» (lemmas: перехоплювач)]",
        ),
    ],
)
def test_describe_each_term(text: str, described: str) -> None:
    assert parse_query(text).describe() == described


def test_precedence_not_and_or() -> None:
    root = parse_query("a b OR NOT c d").root
    assert isinstance(root, Or)
    left, right = root.children
    assert isinstance(left, And) and len(left.children) == 2
    assert isinstance(right, And) and isinstance(right.children[0], Not)


def test_and_or_chains_are_flattened_and_parentheses_group() -> None:
    root = parse_query("a AND b c").root
    assert isinstance(root, And) and len(root.children) == 3
    root = parse_query("(a OR b) c").root
    assert isinstance(root, And) and isinstance(root.children[0], Or)


def test_lower_case_operators_are_words() -> None:
    root = parse_query("war or not peace").root
    assert isinstance(root, And)
    assert [c.text for c in root.children if isinstance(c, Term)] == ["war", "or", "not", "peace"]


def test_dash_negates_only_at_the_start_of_a_term() -> None:
    root = parse_query("дронам-перехоплювачам").root
    assert isinstance(root, Term) and len(root.atoms) == 2
    root = parse_query("a -b").root
    assert isinstance(root, And) and isinstance(root.children[1], Not)


def test_negation_applies_to_every_kind_of_term() -> None:
    root = parse_query('a -"b c" -Name~ -channel:x -/re/ -(d OR e)').root
    assert isinstance(root, And)
    negated = [c.child for c in root.children if isinstance(c, Not)]
    assert [type(n) for n in negated] == [Term, Term, Channel, Regex, Or]


def test_channel_keyword_and_values() -> None:
    assert parse_query("channel:-1001234567").root == Channel(1, "-1001234567", "-1001234567")
    root = parse_query("Channel:t.me/Some_Name").root
    assert isinstance(root, Channel) and root.key == "some_name"


def test_columns_count_characters_of_the_query() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("Київ санкції AND")
    assert info.value.column == 17


def test_overlong_query_is_refused() -> None:
    with pytest.raises(QueryError, match="longer than"):
        parse_query("a " * 1500)
