"""Logging that never shows a secret: a filter masks every registered secret and bot URLs."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

_BOT_URL_TOKEN = re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+")
_BARE_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")
MASK = "***"


class SecretFilter(logging.Filter):
    """Replaces secret values (and anything shaped like a bot token) in log output."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        """Mask more values from now on."""
        merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(merged, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text with every secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _BOT_URL_TOKEN.sub(r"\1" + MASK, text)
        return _BARE_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (it may be replaced after set-up)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


_active = SecretFilter()

NOISY_LOGGERS = ("telethon", "aiogram.event", "apscheduler", "aiosqlite", "pymorphy3")
"""Libraries whose INFO lines are chatter (pymorphy3 announces every dictionary it loads):
WARNING and above unless --debug."""


def redact(text: str) -> str:
    """Mask secrets in text printed outside logging (error lines on stderr)."""
    return _active.redact(text)


def configure_logging(*, debug: bool = False, secrets: Iterable[str] = ()) -> SecretFilter:
    """Log to stderr; the returned filter masks secrets on every handler."""
    secret_filter = _active
    secret_filter.add(*secrets)
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(secret_filter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.NOTSET if debug else logging.WARNING)
    return secret_filter


def warnings_only(*, debug: bool = False) -> None:
    """For commands whose output is their answer (`search`, `export`): a success prints no
    log lines (dictionary loading, migrations), only warnings and errors; --debug shows all."""
    if not debug:
        logging.getLogger().setLevel(logging.WARNING)
