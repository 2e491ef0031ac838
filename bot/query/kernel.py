"""Candidate gathering: which subscriptions a post hits in both indexed groups.

The index (``bot.query.index``) gives every subscription a dense id and files it under the
anchors of its first indexed group (``firsts``), of its second (``seconds``; a query with
one group is filed under it as both) and of its excluded children (``exclusions``). Each
whitespace-separated chunk of text caches the ids filed under its anchors, packed by the
kernel; a post's candidates are then the ids in some first list and some second list of
its chunks and in none of their exclusion lists.

Two kernels give the same answers:

* ``NativeKernel``: C (``bot/query/_kernel.c``, built by ``pip install``), lists packed
  as bytes of int32 ids, marks in epoch-stamped arrays: a few nanoseconds an id.
* ``PythonKernel``: lists packed as frozensets, set unions and an intersection in
  CPython: used when the extension was not built (no C compiler) or when
  ``CHANWATCH_PURE_PYTHON=1`` is set. About 2.5x slower on the benchmark's matching.
"""

from __future__ import annotations

import logging
import os
from array import array
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

PURE_PYTHON_ENV: Final = "CHANWATCH_PURE_PYTHON"

_INT32: Final = next((code for code in "il" if array(code).itemsize == 4), "i")
"""The array typecode of the C kernel's int32 ids (``i`` on every usual platform)."""

log = logging.getLogger(__name__)
_warned_fallback = False


class Kernel(Protocol):
    """Packs id lists and finds a post's candidates among them."""

    name: str
    empty: Any
    """The packed empty list (one shared object)."""

    def pack(self, ids: Iterable[int]) -> Any:
        """A list of dense ids in the kernel's packed form."""

    def candidates(
        self, firsts: Sequence[Any], seconds: Sequence[Any], exclusions: Sequence[Any], size: int
    ) -> Iterable[int]:
        """Ids (each once, any order) in some of ``firsts`` and some of ``seconds`` and in
        none of ``exclusions``; every id is below ``size``."""


class PythonKernel:
    """The kernel in CPython set operations."""

    name = "python"
    empty: frozenset[int] = frozenset()

    def pack(self, ids: Iterable[int]) -> frozenset[int]:
        packed = frozenset(ids)
        return packed if packed else self.empty

    def candidates(
        self,
        firsts: Sequence[frozenset[int]],
        seconds: Sequence[frozenset[int]],
        exclusions: Sequence[frozenset[int]],
        size: int,
    ) -> set[int]:
        found: set[int] = set().union(*firsts)
        if not found:
            return found
        found &= set().union(*seconds)
        if found and exclusions:
            found.difference_update(*exclusions)
        return found


class NativeKernel:
    """The kernel in C (see ``bot/query/_kernel.c``)."""

    name = "native"
    empty = b""

    def __init__(self) -> None:
        from bot.query import _kernel

        self._kernel = _kernel.Kernel()

    def pack(self, ids: Iterable[int]) -> bytes:
        packed = array(_INT32, sorted(ids)).tobytes()
        return packed if packed else self.empty

    def candidates(
        self,
        firsts: Sequence[bytes],
        seconds: Sequence[bytes],
        exclusions: Sequence[bytes],
        size: int,
    ) -> list[int]:
        found: list[int] = self._kernel.candidates(
            _as_list(firsts), _as_list(seconds), _as_list(exclusions), size
        )
        return found


def _as_list(items: Sequence[bytes]) -> list[bytes]:
    """The C kernel reads lists (the index passes lists; anything else is copied)."""
    return items if isinstance(items, list) else list(items)


def native_available() -> bool:
    """Whether the C kernel was built and imports."""
    if array(_INT32).itemsize != 4:
        return False
    try:
        from bot.query import _kernel  # noqa: F401
    except ImportError:
        return False
    return True


def make_kernel(native: bool | None = None) -> Kernel:
    """The C kernel when it is available and not turned off (``CHANWATCH_PURE_PYTHON=1``),
    else the Python one; ``native`` forces the choice (True raises ImportError when the
    extension is missing)."""
    global _warned_fallback
    if native is None:
        wanted = os.environ.get(PURE_PYTHON_ENV, "") in ("", "0")
        native = wanted and native_available()
        if wanted and not native and not _warned_fallback:
            _warned_fallback = True
            log.warning(
                "the C matching kernel (bot/query/_kernel.c) was not built, so matching "
                "runs in pure Python, about 2.5x slower: reinstall with a C compiler and "
                "the Python headers to build it"
            )
    return NativeKernel() if native else PythonKernel()


__all__ = [
    "PURE_PYTHON_ENV",
    "Kernel",
    "NativeKernel",
    "PythonKernel",
    "make_kernel",
    "native_available",
]
