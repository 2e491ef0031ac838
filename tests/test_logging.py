"""Secrets never reach a log line."""

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import SecretFilter, configure_logging, warnings_only


def test_registered_secrets_and_bot_urls_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(secrets=["sEcReT-api-hash-value"])
    log = logging.getLogger("chanwatch.test")
    log.warning("hash is sEcReT-api-hash-value")
    log.warning("GET https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe")
    try:
        raise RuntimeError("failed with sEcReT-api-hash-value")
    except RuntimeError:
        log.exception("boom")
    err = capsys.readouterr().err
    assert "sEcReT-api-hash-value" not in err
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in err
    assert err.count("***") >= 3


def test_bare_token_shape_is_masked() -> None:
    text = SecretFilter().redact("token 987654321:AAF-abcdefghijklmnopqrstuvwxyz012345 leaked")
    assert "AAF-" not in text


def test_library_info_chatter_is_hidden_unless_debug(capsys: pytest.CaptureFixture[str]) -> None:
    loading = logging.getLogger("pymorphy3.opencorpora_dict.wrapper")
    configure_logging()
    loading.info("Loading dictionaries from /somewhere")
    loading.warning("a dictionary is damaged")
    err = capsys.readouterr().err
    assert "Loading dictionaries" not in err and "a dictionary is damaged" in err
    configure_logging(debug=True)
    loading.info("Loading dictionaries from /somewhere")
    assert "Loading dictionaries" in capsys.readouterr().err
    configure_logging()


def test_warnings_only_silences_our_info_lines_unless_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logging.getLogger("storage.db")
    configure_logging()
    warnings_only()
    log.info("applying migration 0001_archive")
    log.warning("something to act on")
    err = capsys.readouterr().err
    assert "applying migration" not in err and "something to act on" in err
    configure_logging(debug=True)
    warnings_only(debug=True)
    log.info("applying migration 0001_archive")
    assert "applying migration" in capsys.readouterr().err
    configure_logging()
