"""What a query is matched against: a post's text and the keys naming its channel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_MARK = "-100"


@dataclass(frozen=True, slots=True)
class Document:
    """A post to match.

    ``channel_keys`` holds the lower-cased current and former usernames of the post's
    channel (without ``@``) and its numeric id, both bare (``"1234567"``) and marked
    (``"-1001234567"``); build it with ``channel_keys``. ``channel:X`` matches when
    ``X.lower().lstrip("@")`` is one of them.
    """

    text: str
    channel_keys: frozenset[str] = frozenset()


def channel_keys(
    usernames: Iterable[str | None] = (), channel_id: int | str | None = None
) -> frozenset[str]:
    """The ``Document.channel_keys`` of a channel from its usernames and numeric id.

    A username that is a number (``"-1001234567"`` or ``"1234567"``) counts as the id.
    """
    keys: set[str] = set()
    ids: list[int | str] = [] if channel_id is None else [channel_id]
    for name in usernames:
        if name is None:
            continue
        value = str(name).strip().lower().lstrip("@")
        if value.lstrip("-").isdigit():
            ids.append(value)
        elif value:
            keys.add(value)
    for raw in ids:
        text = str(raw).strip()
        if not text.lstrip("-").isdigit():
            continue
        if text.startswith(_MARK) and len(text) > len(_MARK):
            bare = text[len(_MARK) :]
        else:
            bare = text.lstrip("-")
        keys.add(bare)
        keys.add(_MARK + bare)
    return frozenset(keys)
