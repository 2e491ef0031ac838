"""Secrets never reach a log line."""

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import SecretFilter, configure_logging


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
