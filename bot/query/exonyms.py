"""Place names whose Ukrainian and Russian forms differ by more than ``Name~``'s bound.

A key (``bot.query.names``) is spelling-blind, but Russian often has ``о``/``е`` where
Ukrainian has ``і`` (``Київ``/``Киев``, ``Львів``/``Львов``), and a short key must be
matched exactly. Reading those vowels alike in every key matched common words (``Biden~``
met ``один``), so the two forms of such names are listed here instead: ``Kyiv~`` is read
as ``(Kyiv~ OR Киев~)``. Each group holds one name's forms; any spelling whose key equals
one of them brings in the others (``Kyiv``, ``Київ`` and ``Kiev``, ``Киев`` alike).
"""

from __future__ import annotations

from functools import cache
from typing import Final

from bot.query.names import max_edits, name_key, within

GROUPS: Final = (
    ("Київ", "Киев"),
    ("Львів", "Львов"),
    ("Дніпро", "Днепр"),
    ("Запоріжжя", "Запорожье"),
    ("Миколаїв", "Николаев"),
    ("Костянтинівка", "Константиновка"),
    ("Оріхів", "Орехов"),
    ("Кам'янське", "Каменское"),
    ("Білорусь", "Беларусь"),
    ("Москва", "Moscow"),
    ("Варшава", "Warsaw"),
    ("Пекін", "Beijing"),
)
"""One name's forms a group; forms within the bound of another form are not listed, nor
are forms that are common words too (``Ровно`` is also Russian for "exactly")."""


@cache
def _groups() -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple(
        tuple((written, name_key(written.casefold())) for written in group) for group in GROUPS
    )


def other_forms(key: str) -> tuple[tuple[str, str], ...]:
    """The forms ``(written, key)`` of the listed name whose form ``key`` is within the
    bound of (``Kyiv``, ``Kiev``, ``Zaporizhzhia`` alike), that ``key`` itself would not
    match; none when no listed name is that close."""
    edits = max_edits(key)
    out: list[tuple[str, str]] = []
    for group in _groups():
        if any(within(key, other, min(edits, max_edits(other))) for _, other in group):
            out.extend(
                (written, other)
                for written, other in group
                if not within(key, other, min(edits, max_edits(other)))
                and (written, other) not in out
            )
    return tuple(out)
