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
    # the lemma, and the word itself
    assert lemmas("children") == {"child", "children"}
    assert lemmas("drones") == {"drone", "drones"}
    assert lemmas("was") == {"be", "was"}
    assert lemmas("drone") == {"drone"}


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


def _matching(query: str, texts: list[str]) -> list[str]:
    from bot.query import Document, compile_query

    compiled = compile_query(query)
    return [text for text in texts if compiled.matches(Document(text))]


def test_a_query_word_that_is_also_a_lemma_keeps_its_other_nominative_readings() -> None:
    # "діти" is the verb's infinitive and the plural of "дитина"; "атаки" both the plural of
    # "атака" and a plural-only noun: a user typing them means every form of the noun
    cases = {
        "діти": ["Загинули троє дітей.", "Допомога дітям.", "Одна дитина поранена."],
        "атаки": ["Масована атака вночі.", "Після атак на енергетику."],
        "сили": ["Сил не бракує.", "Сила духу."],
        "кроки": ["Ще один крок.", "Кроків буде більше."],
        "шахеди": ["Збито 40 шахедів.", "Шахед влучив у будинок.", "Над містом шахеда."],
        "хаймарси": ["Нові хаймарсів партії."],
        "байрактари": ["Байрактар знищив ціль."],
    }
    for query, texts in cases.items():
        assert _matching(query, texts) == texts, query
    assert _matching('"ударні шахеди"', ["Вночі ударних шахедів було 80."])


def test_a_query_word_means_the_lemmas_it_is_the_nominative_of() -> None:
    normalizer = get_normalizer()
    assert normalizer.query_lemmas("діти") == {"дитина", "діти"}
    assert normalizer.query_lemmas("київ") == {"київ"}  # not the genitive plural of "кий"
    assert "київ" in normalizer.query_lemmas("києві")  # an oblique form keeps every reading
    assert "шахед" in normalizer.query_lemmas("шахеди")  # a guessed word keeps every guess


def test_english_plurals_and_spelling_variants_meet() -> None:
    assert _matching("Ukrainian", ["Ukrainians celebrated.", "the ukrainians"]) == [
        "Ukrainians celebrated.",
        "the ukrainians",
    ]
    assert _matching("Ukrainians", ["A Ukrainian soldier."]) == ["A Ukrainian soldier."]
    assert _matching("Russians", ["Russian drones"]) == ["Russian drones"]
    assert _matching("defence", ["air defences", "the defense ministry"]) == [
        "air defences",
        "the defense ministry",
    ]
    assert _matching("go", ["the talks have gone well", "we went"]) == [
        "the talks have gone well",
        "we went",
    ]
    assert "go" in lemmas("gone")


def test_a_query_word_keeps_its_own_meaning() -> None:
    # a word that is itself a lemma does not reach lemmas it is only another form of
    assert _matching("день", ["Как дела?", "Добрий день"]) == ["Добрий день"]
    assert _matching("рада", ["Я радий вітати", "Верховна Рада"]) == ["Верховна Рада"]
    assert _matching("жить", ["Жили ми там і тут."]) == []  # not the Ukrainian "жити"
    assert _matching("ніколи", ["Нікола приїхав", "ніколи не здамося"]) == [
        "ніколи не здамося"  # a plural of the name Нікола is not what the word means
    ]
    # an oblique form keeps every reading, its own lemma included
    assert _matching("перемогу", ["Віримо в перемогу", "Перемога буде"]) == [
        "Віримо в перемогу",
        "Перемога буде",
    ]
    assert _matching("влади", ["Місцева влада"]) == ["Місцева влада"]
    # English: the word itself joins its lemma, not the lemma's own lemma
    assert _matching("find", ["the company was founded", "they found it"]) == ["they found it"]
    assert _matching("meetings", ["we met", "two meetings", "a meeting"]) == [
        "two meetings",
        "a meeting",
    ]
