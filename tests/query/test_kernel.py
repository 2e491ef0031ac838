"""The candidate-gathering kernels: the C one and the CPython one give the same answers."""

from __future__ import annotations

import logging
import os
import random
import shutil
import sysconfig
from pathlib import Path

import pytest

from bot.query import kernel as kernel_module
from bot.query.kernel import Kernel, NativeKernel, PythonKernel, make_kernel, native_available
from tests.query.conftest import NATIVE_MISSING


def _expected(
    firsts: list[list[int]], seconds: list[list[int]], exclusions: list[list[int]]
) -> set[int]:
    first = {i for ids in firsts for i in ids}
    second = {i for ids in seconds for i in ids}
    excluded = {i for ids in exclusions for i in ids}
    return (first & second) - excluded


def _can_compile() -> bool:
    """Whether pip install could build the extension here: a C compiler and Python.h."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler.split()[0]) is not None and headers.is_file()


def test_the_c_kernel_is_built_where_it_can_be(monkeypatch: pytest.MonkeyPatch) -> None:
    # pip install builds bot/query/_kernel.c; without it matching is about 2.5x slower
    if not _can_compile():
        pytest.skip(NATIVE_MISSING)
    monkeypatch.delenv("CHANWATCH_PURE_PYTHON", raising=False)
    assert native_available()
    assert make_kernel().name == "native"


def test_a_missing_c_kernel_falls_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CHANWATCH_PURE_PYTHON", raising=False)
    monkeypatch.setattr(kernel_module, "native_available", lambda: False)
    monkeypatch.setattr(kernel_module, "_warned_fallback", False)
    with caplog.at_level(logging.WARNING, logger="bot.query.kernel"):
        assert make_kernel().name == "python"
        assert make_kernel().name == "python"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "not built" in warnings[0]
    caplog.clear()
    monkeypatch.setattr(kernel_module, "_warned_fallback", False)
    monkeypatch.setenv("CHANWATCH_PURE_PYTHON", "1")  # asked for: no warning
    with caplog.at_level(logging.WARNING, logger="bot.query.kernel"):
        assert make_kernel().name == "python"
    assert not caplog.records


def test_pure_python_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANWATCH_PURE_PYTHON", "1")
    assert isinstance(make_kernel(), PythonKernel)
    monkeypatch.setenv("CHANWATCH_PURE_PYTHON", "0")
    assert make_kernel().name == ("native" if native_available() else "python")


def test_kernels_agree_with_set_algebra(kernel: Kernel) -> None:
    rng = random.Random(5)
    for round_no in range(300):
        size = rng.choice([1, 5, 40, 1000, 70_000])  # growing and shrinking sizes
        lists = [
            [
                [rng.randrange(size) for _ in range(rng.randrange(6))]
                for _ in range(rng.randrange(5))
            ]
            for _ in range(3)
        ]
        firsts, seconds, exclusions = lists
        packed = [[kernel.pack(ids) for ids in group] for group in lists]
        found = list(kernel.candidates(packed[0], packed[1], packed[2], size))
        assert len(found) == len(set(found)), round_no  # each id once
        assert set(found) == _expected(firsts, seconds, exclusions), round_no


def test_empty_lists_are_one_shared_object(kernel: Kernel) -> None:
    assert kernel.pack([]) is kernel.empty
    assert list(kernel.candidates([], [], [], 0)) == []
    assert list(kernel.candidates([kernel.empty], [kernel.pack([3])], [], 10)) == []


@pytest.mark.skipif(not native_available(), reason=NATIVE_MISSING)
def test_the_c_kernel_ignores_ids_beyond_size_and_rejects_other_types() -> None:
    kernel = NativeKernel()
    three, nine = kernel.pack([3]), kernel.pack([3, 9])
    assert kernel.candidates([nine], [nine], [], 5) == [3]  # 9 is not below 5
    with pytest.raises(TypeError):
        kernel.candidates([[3]], [three], [], 5)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        kernel.candidates([b"\x01\x00\x00"], [three], [], 5)  # not whole int32s


@pytest.mark.skipif(not native_available(), reason=NATIVE_MISSING)
def test_the_c_kernel_survives_the_stamp_wrapping_around() -> None:
    kernel = NativeKernel()
    one, two = kernel.pack([1]), kernel.pack([2])
    assert kernel.candidates([one, two], [two], [], 4) == [2]
    kernel._kernel._set_epoch(2**32 - 1)  # the next call wraps to 0 and clears the marks
    assert kernel.candidates([one], [two], [], 4) == []
    assert kernel.candidates([two], [one, two], [], 4) == [2]
    assert kernel.candidates([one], [one], [one], 4) == []


@pytest.mark.skipif(not native_available(), reason=NATIVE_MISSING)
def test_setting_the_stamp_clears_old_marks_and_checks_its_range() -> None:
    kernel = NativeKernel()
    one, two = kernel.pack([1]), kernel.pack([2])
    assert kernel.candidates([one], [two], [], 4) == []  # stamp 1: 1 seen
    kernel._kernel._set_epoch(0)  # the next call's stamp is 1 again
    assert kernel.candidates([two], [one, two], [], 4) == [2]  # 1 is no longer seen
    kernel._kernel._set_epoch(0)  # stamp 1 again: 2 was marked as output
    assert kernel.candidates([two], [two], [], 4) == [2]  # and is output again
    with pytest.raises(OverflowError):
        kernel._kernel._set_epoch(2**32)
