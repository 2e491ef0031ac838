"""Name~: transliteration keys and the one-edit bound."""

from __future__ import annotations

import pytest

from bot.query import Document, compile_query
from bot.query.names import EDIT_MIN_KEY_LENGTH, max_edits, name_key, within


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (("witkoff", "уиткофф", "уитткофф", "виткофф", "віткофф"), "vitkof"),
        (("kyiv", "київ"), "kiv"),
        (("yermak", "єрмак", "ермак"), "ermak"),
        (("zelensky", "zelenskyy", "зеленський", "зеленский"), "zelenski"),
        (("kharkiv", "харків"), "garkiv"),
    ],
)
def test_spellings_share_a_key(spellings: tuple[str, ...], key: str) -> None:
    assert {name_key(s) for s in spellings} == {key}


def test_bound_is_one_edit_from_five_letters() -> None:
    assert EDIT_MIN_KEY_LENGTH == 5
    assert max_edits("kiv") == 0 and max_edits("ermak") == 1
    assert within("trump", "tramp", 1)  # Трамп
    assert within("vitkof", "vitkofa", 1)
    assert within("abcde", "abdce", 1)  # neighbours swapped
    assert not within("kiv", "kivi", 0)
    assert not within("ermak", "ermakov", 1)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("Witkoff~", "Зустріч з Уиткоффом", True),
        ("Witkoff~", "з Уитткоффом", True),
        ("Witkoff~", "з Виткоффом", True),
        ("Witkoff~", "Віткофф", True),
        ("Kyiv~", "У Києві", True),
        ("Kyiv~", "Київщина", False),
        ("Kyiv~", "на Київщині", False),
        ("Yermak~", "Ермака", True),
        ("Yermak~", "Єрмак", True),
        ("Trump~", "з Трампом", True),
        ("Yermak~", "Ермолаев", False),
        ("Witkoff~", "Виткевич", False),
        ("Kyiv~", "Kyiv's mayor", True),
    ],
)
def test_name_matches(query: str, text: str, expected: bool) -> None:
    assert compile_query(query).matches(Document(text)) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # a listed place's Russian form, beyond the key's bound, is one of its forms
        ("Kyiv~", "удар по Киеву", True),
        ("Kyiv~", "Kiev", True),
        ("Киев~", "у Києві", True),
        ("Lviv~", "во Львове", True),
        ("Dnipro~", "на Днепре", True),
        ("Zaporizhzhia~", "Запорожье", True),
        ("Mykolaiv~", "Николаев", True),
        ("Kyiv~", "Київщина", False),  # still not a derived word
        ("Kyiv~", "cow", False),
        ("Biden~", "один", False),  # no looser key for names that are not listed
        ("-Kyiv~ Одеса", "Одеса і Киев", False),
    ],
)
def test_listed_places_match_their_russian_forms(query: str, text: str, expected: bool) -> None:
    assert compile_query(query).matches(Document(text)) is expected


def test_a_listed_place_reads_as_an_or_of_its_forms() -> None:
    from bot.query.parser import parse_query

    assert parse_query("Kyiv~").describe() == (
        "ANY(name «Kyiv~» [key: kiv, exact key], name «Киев~» [key: kiev, exact key])"
    )
    assert parse_query("Biden~").describe() == "name «Biden~» [key: biden, up to 1 edit]"
