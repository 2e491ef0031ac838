"""Lemma sets: union of plausible parses; derived words keep their own lemma."""

from __future__ import annotations

from bot.query import get_normalizer
from bot.query.lemmas import MODE_RU, MODE_UK


def lemmas(word: str, mode: str = "both") -> frozenset[str]:
    return get_normalizer().lemmas(word, mode)


def test_inflected_forms_share_the_lemma() -> None:
    for form in ("санкції", "санкцій", "санкціях"):
        assert "санкція" in lemmas(form, MODE_UK)


def test_derived_word_keeps_its_own_lemma() -> None:
    assert "санкція" not in lemmas("санкційний", MODE_UK)
    assert "санкція" not in lemmas("підсанкційних", MODE_UK)


def test_guessed_forms_of_an_unknown_word_meet() -> None:
    forms = ("шахедів", "шахеда", "шахеди", "шахедам")
    shared = frozenset.intersection(*(lemmas(f, MODE_UK) for f in forms))
    assert "шахед" in shared


def test_english_lemmatiser_is_not_a_stemmer() -> None:
    assert lemmas("children") == {"child"}
    assert lemmas("drones") == {"drone"}
    assert lemmas("was") == {"be"}


def test_language_only_letters_pick_the_dictionary() -> None:
    # Russian "лише" would be a form of "лихой"; a Ukrainian text means the adverb
    assert lemmas("лише", MODE_UK) == {"лише"}
    assert "лихой" in lemmas("лише", MODE_RU)
    assert lemmas("гарантий", MODE_RU) == {"гарантия"}


def test_query_word_in_dictionary_form_means_that_lemma() -> None:
    normalizer = get_normalizer()
    assert "кий" in normalizer.lemmas("київ")
    assert normalizer.query_lemmas("київ") == {"київ"}
    assert normalizer.query_lemmas("санкції") == {"санкція"}


def test_numbers_are_their_own_lemma() -> None:
    assert lemmas("19") == {"19"}
    assert lemmas("g7") == {"g7"}
