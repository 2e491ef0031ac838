"""CompiledQuery: matching with a shared Analysis, explanations, channel keys."""

from __future__ import annotations

from bot.query import Document, Hit, channel_keys, compile_query, get_normalizer


def test_matches_with_and_without_a_precomputed_analysis() -> None:
    doc = Document("У справді дієвих санкціях")
    query = compile_query("санкції")
    analysis = get_normalizer().analyse(doc.text)
    assert query.matches(doc) and query.matches(doc, analysis)


def test_explain_names_tokens_and_reasons() -> None:
    text = "Уночі «шахеди» над Києвом, у небі ударні дрони, далекобійні ракети; неба"
    doc = Document(text, channel_keys(["Kyiv_News"]))
    query = compile_query(
        'шахед Kyiv~ "ударні дрони" далекобійн* =неба channel:kyiv_news /ракет[иа]/'
    )
    hits = query.explain(doc)
    by_reason = {h.reason: h for h in hits}
    assert set(by_reason) == {
        "lemma", "name variant", "phrase", "prefix", "exact", "channel", "regex"
    }  # fmt: skip
    assert by_reason["lemma"] == Hit("шахед", "шахеди", 7, 13, "lemma", "lemma шахед")
    assert by_reason["phrase"].token == "ударні дрони"
    assert text[by_reason["name variant"].start : by_reason["name variant"].end] == "Києвом"
    assert by_reason["channel"].start == -1 and by_reason["channel"].token == "kyiv_news"
    assert by_reason["regex"].token == "ракети"
    assert all(text[h.start : h.end] == h.token for h in hits if h.start >= 0)


def test_explain_is_empty_without_a_match_and_skips_negated_terms() -> None:
    assert compile_query("санкції").explain(Document("нічого")) == []
    hits = compile_query("санкції -шахед OR небо").explain(Document("санкції і небо"))
    assert {h.term for h in hits} == {"санкції", "небо"}


def test_channel_keys_cover_usernames_and_both_id_forms() -> None:
    keys = channel_keys(["@Old_Name", "new_name"], channel_id=-1001234567)
    assert keys == {"old_name", "new_name", "1234567", "-1001234567"}
    assert channel_keys(channel_id=1234567) == {"1234567", "-1001234567"}
    assert channel_keys(["-1001234567"]) == {"1234567", "-1001234567"}
    doc = Document("санкції", keys)
    for name in ("old_name", "NEW_NAME", "@new_name", "1234567", "-1001234567"):
        assert compile_query(f"channel:{name} санкції").matches(doc), name
    assert not compile_query("channel:other санкції").matches(doc)
